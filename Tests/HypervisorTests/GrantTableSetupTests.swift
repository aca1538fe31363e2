import GuestMemory
import Hypervisor
import Testing
import XenABI

/// The single-struct ops (setup_table, query_size, set/get_version, get_status_frames) and the
/// hypercall's own errors.
@Suite struct GrantTableSetupTests {
    func querySize(_ g: GrantFixture, _ dom: DomainID = .domidSelf, by d: Domain? = nil) throws -> GnttabQuerySize {
        let d = d ?? g.granter
        try g.put(d, GnttabQuerySize(dom: dom, nrFrames: 77, maxNrFrames: 77, status: GrantStatus(99)).bytes)
        #expect(g.gnttab(d, .querySize) == 0)
        return GnttabQuerySize(bytes: try g.get(d, GnttabQuerySize.size))
    }

    @Test func querySizeStartsAtOneFrame() throws {
        let g = try GrantFixture()
        let q = try querySize(g, by: g.mapper)
        #expect(q.status == .okay && q.nrFrames == 1 && q.maxNrFrames == 32)
        // The caller's own id works like DOMID_SELF.
        #expect(try querySize(g, g.mapper.id, by: g.mapper).status == .okay)
    }

    @Test func querySizeOtherDomains() throws {
        let g = try GrantFixture()
        let denied = try querySize(g, g.mapper.id, by: g.granter)
        #expect(denied.status == .permissionDenied)
        // Fields other than status are left as the guest wrote them.
        #expect(denied.nrFrames == 77)
        #expect(try querySize(g, DomainID(999)).status == .badDomain)
        // A privileged caller may ask about another domain.
        let p = try GrantFixture(mapperPrivileged: true)
        let q = try querySize(p, p.granter.id, by: p.mapper)
        #expect(q.status == .okay && q.nrFrames == 1)
    }

    @Test func placingAFrameGrowsTheTable() throws {
        let g = try GrantFixture()
        #expect(try g.placeFrame(3, at: GFN(GrantFixture.frame0.raw + 3), in: g.granter) == 0)
        #expect(try querySize(g).nrFrames == 4)
        #expect(g.granter.grantTable.frameCount == 4)
        #expect(g.granter.grantTable.entryCount == 2048)
    }

    @Test func setupTableGrowsAndListsFrames() throws {
        let g = try GrantFixture()
        let list = GrantFixture.list
        try g.put(g.granter, [UInt8](repeating: 0xAA, count: 64), at: list)
        try g.put(g.granter, GnttabSetupTable(dom: .domidSelf, nrFrames: 4, status: GrantStatus(99), frameList: list).bytes)
        #expect(g.gnttab(g.granter, .setupTable) == 0)
        #expect(GnttabSetupTable(bytes: try g.get(g.granter, GnttabSetupTable.size)).status == .okay)
        let frames = try g.get(g.granter, 40, at: list)
        // Frame 0 is placed; frames 1-3 exist but have no gfn yet (INVALID_GFN); nothing past nr_frames.
        #expect(frames.le(UInt64.self, at: 0) == GrantFixture.frame0.raw)
        for i in 1..<4 { #expect(frames.le(UInt64.self, at: i * 8) == UInt64.max) }
        #expect(frames.le(UInt64.self, at: 32) == 0xAAAA_AAAA_AAAA_AAAA)
        #expect(try querySize(g).nrFrames == 4)
        // Asking for fewer never shrinks it.
        try g.put(g.granter, GnttabSetupTable(dom: .domidSelf, nrFrames: 1, frameList: list).bytes)
        #expect(g.gnttab(g.granter, .setupTable) == 0)
        #expect(try querySize(g).nrFrames == 4)
    }

    @Test func setupTableErrors() throws {
        let g = try GrantFixture()
        func setup(_ op: GnttabSetupTable, count: UInt64 = 1, by d: Domain? = nil) throws -> (Int64, GrantStatus) {
            let d = d ?? g.granter
            try g.put(d, op.bytes)
            let rc = g.gnttab(d, .setupTable, count: count)
            return (rc, GnttabSetupTable(bytes: try g.get(d, GnttabSetupTable.size)).status)
        }
        let list = GrantFixture.list
        #expect(try setup(GnttabSetupTable(dom: .domidSelf, nrFrames: 33, frameList: list)) == (0, .generalError))
        #expect(try setup(GnttabSetupTable(dom: DomainID(999), nrFrames: 1, frameList: list)) == (0, .badDomain))
        #expect(try setup(GnttabSetupTable(dom: g.mapper.id, nrFrames: 1, frameList: list)) == (0, .permissionDenied))
        // An unwritable frame list is a status, not an errno.
        #expect(try setup(GnttabSetupTable(dom: .domidSelf, nrFrames: 1, frameList: Fixture.bad)) == (0, .badVirtAddr))
        #expect(try setup(GnttabSetupTable(dom: .domidSelf, nrFrames: 1, frameList: list), count: 2).0 == errno(.EINVAL))
        #expect(g.call(g.granter, .grantTableOp, UInt64(GrantTableOpCmd.setupTable.rawValue), Fixture.bad.raw, 1)
                == errno(.EFAULT))
    }

    @Test func versions() throws {
        let g = try GrantFixture()
        let d = g.granter
        func setVersion(_ v: UInt32) throws -> (Int64, UInt32) {
            try g.put(d, GnttabSetVersion(version: v).bytes)
            let rc = g.gnttab(d, .setVersion)
            return (rc, GnttabSetVersion(bytes: try g.get(d, 4)).version)
        }
        #expect(try setVersion(1) == (0, 1))
        #expect(try setVersion(2) == (errno(.ENOSYS), 1))
        #expect(try setVersion(0) == (errno(.EINVAL), 1))
        #expect(try setVersion(3) == (errno(.EINVAL), 1))
        #expect(g.call(d, .grantTableOp, UInt64(GrantTableOpCmd.setVersion.rawValue), Fixture.bad.raw, 1) == errno(.EFAULT))

        func getVersion(_ dom: DomainID) throws -> (Int64, UInt32) {
            try g.put(d, GnttabGetVersion(dom: dom, version: 77).bytes)
            let rc = g.gnttab(d, .getVersion)
            return (rc, GnttabGetVersion(bytes: try g.get(d, 8)).version)
        }
        #expect(try getVersion(.domidSelf) == (0, 1))
        #expect(try getVersion(DomainID(999)) == (errno(.ESRCH), 77))
        #expect(try getVersion(g.mapper.id) == (errno(.EPERM), 77))
    }

    @Test func statusFramesDoNotExistInV1() throws {
        let g = try GrantFixture()
        func get(_ n: UInt32, _ dom: DomainID = .domidSelf, count: UInt64 = 1) throws -> (Int64, GrantStatus) {
            try g.put(g.granter, GnttabGetStatusFrames(nrFrames: n, dom: dom, status: GrantStatus(99),
                                                       frameList: GrantFixture.list).bytes)
            let rc = g.gnttab(g.granter, .getStatusFrames, count: count)
            return (rc, GnttabGetStatusFrames(bytes: try g.get(g.granter, 16)).status)
        }
        #expect(try get(0) == (0, .okay))
        #expect(try get(1) == (0, .generalError))
        #expect(try get(1, DomainID(999)) == (0, .badDomain))
        #expect(try get(1, g.mapper.id) == (0, .permissionDenied))
        #expect(try get(0, count: 0).0 == errno(.EINVAL))
    }

    @Test func hypercallErrors() throws {
        let g = try GrantFixture()
        let d = g.granter
        // Unknown and unimplemented commands.
        #expect(g.call(d, .grantTableOp, 99, GrantFixture.ops.raw, 1) == errno(.ENOSYS))
        #expect(g.call(d, .grantTableOp, UInt64(GrantTableOpCmd.transfer.rawValue), GrantFixture.ops.raw, 1)
                == errno(.ENOSYS))
        // Continuation bits above the command, and a count that is negative as an int.
        #expect(g.call(d, .grantTableOp, 0x1000 | UInt64(GrantTableOpCmd.copy.rawValue), GrantFixture.ops.raw, 1)
                == errno(.EINVAL))
        #expect(g.call(d, .grantTableOp, UInt64(GrantTableOpCmd.copy.rawValue), GrantFixture.ops.raw, 0x8000_0000)
                == errno(.EINVAL))
        #expect(g.call(d, .grantTableOp, UInt64(GrantTableOpCmd.mapGrantRef.rawValue), GrantFixture.ops.raw, 0xFFFF_FFFF)
                == errno(.EINVAL))
        // Only the low 32 bits of cmd and count count (both are unsigned int in Xen).
        #expect(g.call(d, .grantTableOp, 0xFFFF_FFFF_0000_0000 | UInt64(GrantTableOpCmd.copy.rawValue),
                       GrantFixture.ops.raw, 0xFFFF_FFFF_0000_0000) == 0)
        // Zero ops of a batched kind is a no-op, whatever the pointer.
        #expect(g.call(d, .grantTableOp, UInt64(GrantTableOpCmd.mapGrantRef.rawValue), Fixture.bad.raw, 0) == 0)
        // Unreadable op arrays.
        for cmd in [GrantTableOpCmd.mapGrantRef, .unmapGrantRef, .copy, .querySize, .getVersion] {
            #expect(g.call(d, .grantTableOp, UInt64(cmd.rawValue), Fixture.bad.raw, 1) == errno(.EFAULT), "\(cmd)")
        }
        // User mode may not call it.
        #expect(Int64(bitPattern: g.hypervisor.dispatch(
            HypercallArgs(number: HypercallNumber.grantTableOp.rawValue, UInt64(GrantTableOpCmd.querySize.rawValue),
                          GrantFixture.ops.raw, 1),
            context: HypercallContext(vcpu: d.vcpus[0], memory: g.context(d).memory, privilegeLevel: 3))) == errno(.EPERM))
    }
}
