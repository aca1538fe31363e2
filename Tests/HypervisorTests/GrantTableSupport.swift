import GuestMemory
import Hypervisor
import XenABI

/// Two domains in one hypervisor, each with 4 MiB of RAM: `granter` (d1) has grant frame 0
/// placed just above its RAM with a real `XENMEM_add_to_physmap` call; `mapper` (d2) is the
/// other side. Guest-virtual addresses are identity-mapped.
final class GrantFixture: Sendable {
    let base: Fixture
    var hypervisor: Hypervisor { base.hypervisor }
    var granter: Domain { base.domain }
    let mapper: Domain
    /// Where the granter's frame 0 is.
    static let frame0 = GFN(Fixture.ram / 4096)
    /// Free guest-physical space above RAM (nothing behind it) in either domain.
    static let hole = GPA(Fixture.ram + 0x10_0000)
    /// Scratch pages for op arrays and frame lists.
    static let ops = GVA(0x10_0000)
    static let list = GVA(0x11_0000)

    init(maxGrantFrames: Int = 32, mapperPrivileged: Bool = false) throws {
        base = try Fixture()
        mapper = try base.hypervisor.createDomain(DomainConfig(name: "mapper", memoryBytes: Fixture.ram,
                                                               privileged: mapperPrivileged,
                                                               maxGrantFrames: maxGrantFrames))
        try mapper.memory.addRegion(at: GPA(0), size: Fixture.ram, kind: .ram)
        let rc = try placeFrame(0, at: Self.frame0, in: granter)
        precondition(rc == 0, "add_to_physmap failed: \(rc)")
    }

    func context(_ d: Domain) -> HypercallContext {
        HypercallContext(vcpu: d.vcpus[0],
                         memory: GuestVirtualMemory(physical: d.memory, translator: IdentityTranslator()),
                         privilegeLevel: 0)
    }

    /// Makes a hypercall as `d` and returns rax as a signed value.
    @discardableResult
    func call(_ d: Domain, _ nr: HypercallNumber, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0) -> Int64 {
        Int64(bitPattern: hypervisor.dispatch(HypercallArgs(number: nr.rawValue, a0, a1, a2), context: context(d)))
    }

    /// `grant_table_op(cmd, ops, count)` as `d`.
    @discardableResult
    func gnttab(_ d: Domain, _ cmd: GrantTableOpCmd, count: UInt64 = 1, at uop: GVA = GrantFixture.ops) -> Int64 {
        call(d, .grantTableOp, UInt64(cmd.rawValue), uop.raw, count)
    }

    func put(_ d: Domain, _ bytes: [UInt8], at gva: GVA = GrantFixture.ops) throws {
        try context(d).memory.copyOut(bytes, to: gva)
    }

    func get(_ d: Domain, _ count: Int, at gva: GVA = GrantFixture.ops) throws -> [UInt8] {
        try context(d).memory.copyIn(gva, count: count)
    }

    /// Places grant frame `index` of `d` at `gfn` with the real `XENMEM_add_to_physmap`.
    @discardableResult
    func placeFrame(_ index: UInt64, at gfn: GFN, in d: Domain) throws -> Int64 {
        let scratch = GVA(0x12_0000)
        try put(d, XenAddToPhysmap(domid: .domidSelf, space: MapSpace.grantTable.rawValue, idx: index, gpfn: gfn).bytes,
                at: scratch)
        return call(d, .memoryOp, MemoryOpCmd.addToPhysmap.rawValue, scratch.raw)
    }

    /// Writes shared entry `ref` in `d`'s placed grant frames, as a guest would.
    func grant(_ ref: UInt32, to grantee: DomainID, frame: GFN, flags: GrantEntryFlags = .permitAccess,
               in d: Domain? = nil) throws {
        let d = d ?? granter
        let gpa = try entryGPA(ref, in: d)
        try d.memory.write(GrantEntryV1(flags: flags, domid: grantee, frame: UInt32(frame.raw)).bytes, at: gpa)
    }

    /// The shared entry `ref` as it is in guest memory now.
    func entry(_ ref: UInt32, in d: Domain? = nil) throws -> GrantEntryV1 {
        let d = d ?? granter
        return GrantEntryV1(bytes: try d.memory.read(at: try entryGPA(ref, in: d), count: 8))
    }

    func entryGPA(_ ref: UInt32, in d: Domain) throws -> GPA {
        guard let gfn = d.physmap.location(of: .grantFrame(Int(ref) / 512)) else { throw MemoryFault(address: 0, reason: .unbacked) }
        return gfn.address.advanced(by: UInt64(ref % 512) * 8)
    }

    /// One `GNTTABOP_map_grant_ref` by the mapper; returns the op as Xen wrote it back.
    func map(_ ref: UInt32, from dom: DomainID? = nil, at hostAddr: GPA = GrantFixture.hole,
             flags: GrantMapFlags = .hostMap, by d: Domain? = nil) throws -> GnttabMapGrantRef {
        let d = d ?? mapper
        try put(d, GnttabMapGrantRef(hostAddr: hostAddr.raw, flags: flags, ref: GrantRef(ref),
                                     dom: dom ?? granter.id, status: GrantStatus(99)).bytes)
        let rc = gnttab(d, .mapGrantRef)
        precondition(rc == 0, "map_grant_ref returned \(rc)")
        return GnttabMapGrantRef(bytes: try get(d, GnttabMapGrantRef.size))
    }

    /// One `GNTTABOP_unmap_grant_ref` by the mapper; returns its status.
    func unmap(_ handle: GrantHandle, at hostAddr: GPA = GrantFixture.hole, devBusAddr: UInt64 = 0,
               by d: Domain? = nil) throws -> GrantStatus {
        let d = d ?? mapper
        try put(d, GnttabUnmapGrantRef(hostAddr: hostAddr.raw, devBusAddr: devBusAddr, handle: handle,
                                       status: GrantStatus(99)).bytes)
        let rc = gnttab(d, .unmapGrantRef)
        precondition(rc == 0, "unmap_grant_ref returned \(rc)")
        return GnttabUnmapGrantRef(bytes: try get(d, GnttabUnmapGrantRef.size)).status
    }

    /// A batch of `GNTTABOP_copy` ops by `d`; returns the hypercall's result and each status.
    func copy(_ ops: [GnttabCopy], by d: Domain? = nil) throws -> (rc: Int64, statuses: [GrantStatus]) {
        let d = d ?? mapper
        try put(d, ops.flatMap(\.bytes))
        let rc = gnttab(d, .copy, count: UInt64(ops.count))
        let back = try get(d, ops.count * GnttabCopy.size)
        return (rc, (0..<ops.count).map { GnttabCopy(bytes: back, at: $0 * GnttabCopy.size).status })
    }

    /// A recognisable page of bytes.
    static func pattern(_ seed: UInt8, count: Int = 4096) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed) &* 31 &+ ($0 >> 8)) }
    }
}
