import GuestMemory
import Hypervisor
import Testing
import XenABI

/// `GNTTABOP_map_grant_ref` / `GNTTABOP_unmap_grant_ref` between two domains.
@Suite struct GrantTableMapTests {
    static let page = GFN(0x200)

    /// The granter grants `Self.page` (filled with a pattern) to the mapper as `ref`.
    func setUp(_ ref: UInt32 = 5, flags: GrantEntryFlags = .permitAccess) throws -> GrantFixture {
        let g = try GrantFixture()
        try g.granter.memory.write(GrantFixture.pattern(1), at: Self.page.address)
        try g.grant(ref, to: g.mapper.id, frame: Self.page, flags: flags)
        return g
    }

    @Test func mapSharesThePageAndUnmapReleasesIt() throws {
        let g = try setUp()
        let op = try g.map(5)
        #expect(op.status == .okay)
        #expect(op.devBusAddr == Self.page.address.raw)
        // The mapper sees the granter's page at host_addr, and writes go both ways.
        let hole = GrantFixture.hole
        #expect(try g.mapper.memory.read(at: hole, count: 4096) == GrantFixture.pattern(1))
        try g.mapper.memory.store(UInt32(0xFEED_F00D), at: hole.advanced(by: 0x10))
        #expect(try g.granter.memory.load(UInt32.self, at: Self.page.address.advanced(by: 0x10)) == 0xFEED_F00D)
        #expect(g.mapper.memory.region(containing: hole)?.kind == GrantTable.mappingKind)
        // Xen marks the entry in use.
        #expect(try g.entry(5).flags == [.permitAccess, .reading, .writing])
        #expect(g.granter.grantTable.pinCount(GrantRef(5)) == 1)
        #expect(g.mapper.grantTable.mappingCount == 1)

        #expect(try g.unmap(op.handle) == .okay)
        #expect(!g.mapper.memory.isBacked(hole))
        #expect(try g.entry(5).flags == .permitAccess)
        #expect(g.granter.grantTable.pinCount(GrantRef(5)) == 0)
        // The handle is gone.
        #expect(try g.unmap(op.handle) == .badHandle)
        #expect(try g.unmap(GrantHandle(12345)) == .badHandle)
    }

    @Test func entryFieldsAreChecked() throws {
        let g = try setUp()
        // Granted to someone else: Xen's _set_status_v1 answers GNTST_general_error.
        try g.grant(6, to: DomainID(7), frame: Self.page)
        #expect(try g.map(6).status == .generalError)
        // Not a permit_access entry (never granted, revoked, transfer, sub-page for a map).
        #expect(try g.map(7).status == .generalError)
        try g.grant(8, to: g.mapper.id, frame: Self.page, flags: .acceptTransfer)
        #expect(try g.map(8).status == .generalError)
        try g.grant(9, to: g.mapper.id, frame: Self.page, flags: [.permitAccess, .subPage])
        #expect(try g.map(9).status == .generalError)
        // A read-only grant cannot be mapped writable.
        try g.grant(10, to: g.mapper.id, frame: Self.page, flags: [.permitAccess, .readonly])
        #expect(try g.map(10).status == .generalError)
        // Cache attributes cannot be honoured for a translated mapper.
        try g.grant(11, to: g.mapper.id, frame: Self.page, flags: [.permitAccess, .pcd])
        #expect(try g.map(11).status == .generalError)
        // The granted frame must be a page the granter has.
        try g.grant(12, to: g.mapper.id, frame: GFN(0x10_0000))
        #expect(try g.map(12).status == .badPage)
        // No failure leaves flags or pins behind.
        for ref: UInt32 in [6, 10, 11, 12] {
            #expect(try !g.entry(ref).flags.contains(.reading), "ref \(ref)")
            #expect(g.granter.grantTable.pinCount(GrantRef(ref)) == 0)
        }
        #expect(g.mapper.grantTable.mappingCount == 0)
        #expect(!g.mapper.memory.isBacked(GrantFixture.hole))
    }

    @Test func readOnlyMappingsAreReadOnlyRegions() throws {
        // Enforced by the engine (more in GrantTableCrossDomainTests).
        let g = try setUp(flags: [.permitAccess, .readonly])
        let op = try g.map(5, flags: [.hostMap, .readonly])
        #expect(op.status == .okay)
        #expect(g.mapper.memory.region(containing: GrantFixture.hole)?.readonly == true)
        #expect(try g.unmap(op.handle) == .okay)
        #expect(try g.entry(5).flags == [.permitAccess, .readonly])
    }

    @Test func opFlagsDomainsAndRefs() throws {
        let g = try setUp()
        #expect(try g.map(5, flags: []).status == .badGntref)
        #expect(try g.map(5, flags: .readonly).status == .badGntref)
        #expect(try g.map(5, flags: [.hostMap, .deviceMap]).status == .generalError)
        #expect(try g.map(5, flags: [.hostMap, .applicationMap]).status == .generalError)
        #expect(try g.map(5, flags: [.hostMap, .containsPTE]).status == .generalError)
        // Guest-available bits are not host_map|readonly either.
        #expect(try g.map(5, flags: [.hostMap, GrantMapFlags(rawValue: 1 << 16)]).status == .generalError)
        #expect(try g.map(5, from: DomainID(999)).status == .badDomain)
        // map_grant_ref looks the granter up by id only: DOMID_SELF is not a domain there.
        #expect(try g.map(5, from: .domidSelf).status == .badDomain)
        // Beyond nr_frames * 512 entries.
        #expect(try g.map(512).status == .badGntref)
        #expect(try g.map(32 * 512).status == .badGntref)
        #expect(try g.map(UInt32.max).status == .badGntref)
        // In a frame inside nr_frames that the guest never placed: a zero entry.
        try g.put(g.granter, GnttabSetupTable(dom: .domidSelf, nrFrames: 2, frameList: GrantFixture.list).bytes)
        #expect(g.gnttab(g.granter, .setupTable) == 0)
        #expect(try g.map(513).status == .generalError)
        #expect(g.mapper.grantTable.mappingCount == 0)
    }

    @Test func refsInLaterFrames() throws {
        let g = try setUp()
        let frame2 = GFN(GrantFixture.frame0.raw + 2)
        #expect(try g.placeFrame(2, at: frame2, in: g.granter) == 0)
        try g.grant(1100, to: g.mapper.id, frame: Self.page)
        let op = try g.map(1100)
        #expect(op.status == .okay)
        #expect(try g.unmap(op.handle) == .okay)
        #expect(try g.entry(1100).flags == .permitAccess)
    }

    @Test func hostAddrMustBeFree() throws {
        let g = try setUp()
        // Over the mapper's RAM: Xen would replace the RAM page; we cannot punch holes in RAM.
        #expect(try g.map(5, at: GPA(0x5000)).status == .generalError)
        // Beyond the guest's physical address width.
        #expect(try g.map(5, at: GPA(1 << 60)).status == .generalError)
        // Over another mapping.
        let first = try g.map(5)
        #expect(first.status == .okay)
        #expect(try g.map(5).status == .generalError)
        #expect(g.granter.grantTable.pinCount(GrantRef(5)) == 1)
        #expect(try g.unmap(first.handle) == .okay)
        #expect(try g.entry(5).flags == .permitAccess)
    }

    @Test func twoMappingsOfOneGrant() throws {
        let g = try setUp()
        let a = try g.map(5)
        let second = GrantFixture.hole.advanced(by: 0x1000)
        let b = try g.map(5, at: second)
        #expect(a.status == .okay && b.status == .okay && a.handle != b.handle)
        #expect(g.granter.grantTable.pinCount(GrantRef(5)) == 2)
        #expect(try g.unmap(a.handle) == .okay)
        // Still mapped once: GTF_reading/writing stay.
        #expect(try g.entry(5).flags == [.permitAccess, .reading, .writing])
        #expect(try g.unmap(b.handle, at: second) == .okay)
        #expect(try g.entry(5).flags == .permitAccess)
    }

    @Test func anotherDomainCannotMapAPinnedGrant() throws {
        let g = try setUp()
        let third = try g.hypervisor.createDomain(DomainConfig(name: "third", memoryBytes: Fixture.ram))
        try third.memory.addRegion(at: GPA(0), size: Fixture.ram, kind: .ram)
        let op = try g.map(5)
        #expect(op.status == .okay)
        // Pinned by the mapper: Xen checks the active entry's domid.
        #expect(try g.map(5, by: third).status == .generalError)
        #expect(try g.unmap(op.handle) == .okay)
        #expect(try g.map(5, by: third).status == .generalError)
    }

    @Test func revocation() throws {
        let g = try setUp()
        let op = try g.map(5)
        // The granter revokes while mapped (it should not; Linux would see GTF_reading and wait):
        // the mapping stays, as in Xen.
        try g.grant(5, to: g.mapper.id, frame: Self.page, flags: [])
        #expect(try g.mapper.memory.read(at: GrantFixture.hole, count: 16) == Array(GrantFixture.pattern(1).prefix(16)))
        #expect(try g.unmap(op.handle) == .okay)
        // A new map of the revoked entry fails.
        #expect(try g.map(5).status == .generalError)
        #expect(g.mapper.grantTable.mappingCount == 0)
    }

    @Test func unmapChecksAddresses() throws {
        let g = try setUp()
        let op = try g.map(5)
        // host_addr must be where the handle mapped.
        #expect(try g.unmap(op.handle, at: GrantFixture.hole.advanced(by: 0x1000)) == .generalError)
        // dev_bus_addr, when given, must be what map returned.
        #expect(try g.unmap(op.handle, devBusAddr: 0x1234_5000) == .generalError)
        // host_addr 0 unmaps nothing and succeeds (Xen's unmap_common).
        #expect(try g.unmap(op.handle, at: GPA(0)) == .okay)
        #expect(g.mapper.memory.isBacked(GrantFixture.hole))
        // An unaligned host_addr names its page.
        #expect(try g.unmap(op.handle, at: GrantFixture.hole.advanced(by: 0x123), devBusAddr: op.devBusAddr) == .okay)
        #expect(!g.mapper.memory.isBacked(GrantFixture.hole))
    }

    @Test func selfMapping() throws {
        // Xen lets a domain map a grant it made to itself (gntalloc + gntdev in one guest).
        let g = try GrantFixture()
        try g.grant(3, to: g.granter.id, frame: Self.page)
        let op = try g.map(3, by: g.granter)
        #expect(op.status == .okay)
        #expect(try g.unmap(op.handle, by: g.granter) == .okay)
        // But not through an entry naming another domain.
        try g.grant(4, to: g.mapper.id, frame: Self.page)
        #expect(try g.map(4, by: g.granter).status == .generalError)
    }

    @Test func batchesWriteEveryOpBack() throws {
        let g = try setUp()
        let ops = [
            GnttabMapGrantRef(hostAddr: GrantFixture.hole.raw, flags: .hostMap, ref: GrantRef(5), dom: g.granter.id),
            GnttabMapGrantRef(hostAddr: GrantFixture.hole.raw + 0x1000, flags: .hostMap, ref: GrantRef(6), dom: g.granter.id),
            GnttabMapGrantRef(hostAddr: GrantFixture.hole.raw + 0x2000, flags: .hostMap, ref: GrantRef(5), dom: g.granter.id),
        ]
        try g.put(g.mapper, ops.flatMap(\.bytes))
        #expect(g.gnttab(g.mapper, .mapGrantRef, count: 3) == 0)
        let back = try g.get(g.mapper, 96)
        let results = (0..<3).map { GnttabMapGrantRef(bytes: Array(back[$0 * 32..<($0 + 1) * 32])) }
        #expect(results.map(\.status) == [.okay, .generalError, .okay])
        let unmaps = [GnttabUnmapGrantRef(hostAddr: GrantFixture.hole.raw, handle: results[0].handle),
                      GnttabUnmapGrantRef(hostAddr: GrantFixture.hole.raw + 0x2000, handle: results[2].handle),
                      GnttabUnmapGrantRef(hostAddr: GrantFixture.hole.raw, handle: results[0].handle)]
        try g.put(g.mapper, unmaps.flatMap(\.bytes))
        #expect(g.gnttab(g.mapper, .unmapGrantRef, count: 3) == 0)
        let ub = try g.get(g.mapper, 72)
        #expect((0..<3).map { GnttabUnmapGrantRef(bytes: Array(ub[$0 * 24..<($0 + 1) * 24])).status }
                == [.okay, .okay, .badHandle])
        #expect(try g.entry(5).flags == .permitAccess)
    }

    @Test func faultPartWayThroughABatch() throws {
        let g = try setUp()
        // Two ops, the second on an unbacked page: the first is done and written back, then -EFAULT.
        let at = GPA(Fixture.ram - 32)
        try g.put(g.mapper, GnttabMapGrantRef(hostAddr: GrantFixture.hole.raw, flags: .hostMap, ref: GrantRef(5),
                                               dom: g.granter.id).bytes, at: GVA(at.raw))
        #expect(g.call(g.mapper, .grantTableOp, UInt64(GrantTableOpCmd.mapGrantRef.rawValue), at.raw, 2) == errno(.EFAULT))
        let op = GnttabMapGrantRef(bytes: try g.get(g.mapper, 32, at: GVA(at.raw)))
        #expect(op.status == .okay)
        #expect(g.mapper.grantTable.mappingCount == 1)
    }

    @Test func releaseAllUnmapsEverything() throws {
        let g = try setUp()
        try g.grant(6, to: g.mapper.id, frame: GFN(0x201))
        #expect(try g.map(5).status == .okay)
        #expect(try g.map(6, at: GrantFixture.hole.advanced(by: 0x1000)).status == .okay)
        #expect(g.mapper.grantTable.releaseAll() == 2)
        #expect(g.mapper.grantTable.mappingCount == 0)
        #expect(!g.mapper.memory.isBacked(GrantFixture.hole))
        #expect(try g.entry(5).flags == .permitAccess && g.entry(6).flags == .permitAccess)
        #expect(g.mapper.grantTable.releaseAll() == 0)
    }

    @Test func granterGoneStillUnmaps() throws {
        let g = try setUp()
        let op = try g.map(5)
        g.hypervisor.removeDomain(g.granter.id)
        // The mapped page stays valid memory for the mapper until it unmaps.
        #expect(try g.mapper.memory.read(at: GrantFixture.hole, count: 4) == Array(GrantFixture.pattern(1).prefix(4)))
        #expect(try g.unmap(op.handle) == .okay)
    }
}
