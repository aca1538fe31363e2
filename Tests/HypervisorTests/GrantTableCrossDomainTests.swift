import GuestMemory
import Hypervisor
import Synchronization
import Testing
import XenABI

/// Grants between domains as Xen enforces them (xen/common/grant_table.c): read-only mappings
/// (`GNTMAP_readonly`, Xen's `p2m_grant_map_ro`), who may map or copy a grant, what the granter
/// sees while it is mapped, and what destroying either side leaves behind.
@Suite struct GrantTableCrossDomainTests {
    static let page = GFN(0x200)
    static let hole = GrantFixture.hole

    /// The granter grants `page` (filled with pattern 1) to the mapper as ref 5 with `flags`.
    func setUp(flags: GrantEntryFlags = .permitAccess) throws -> GrantFixture {
        let g = try GrantFixture()
        try g.granter.memory.write(GrantFixture.pattern(1), at: Self.page.address)
        try g.grant(5, to: g.mapper.id, frame: Self.page, flags: flags)
        return g
    }

    func third(_ g: GrantFixture) throws -> Domain {
        let d = try g.hypervisor.createDomain(DomainConfig(name: "third", memoryBytes: Fixture.ram))
        try d.memory.addRegion(at: GPA(0), size: Fixture.ram, kind: .ram)
        return d
    }

    // MARK: read-only mappings

    @Test func readOnlyMappingReadsThePageAndDiscardsWrites() throws {
        let g = try setUp(flags: [.permitAccess, .readonly])
        let op = try g.map(5, flags: [.hostMap, .readonly])
        #expect(op.status == .okay)
        let region = try #require(g.mapper.memory.region(containing: Self.hole))
        #expect(region.readonly && region.kind == GrantTable.mappingKind)
        #expect(try g.mapper.memory.read(at: Self.hole, count: 4096) == GrantFixture.pattern(1))
        // Writes through the mapper's memory (a hypercall's copy-out there) do not reach the page.
        try g.mapper.memory.store(UInt64(0xDEAD_BEEF), at: Self.hole)
        try g.mapper.memory.write([9, 9, 9], at: Self.hole.advanced(by: 100))
        #expect(try g.granter.memory.read(at: Self.page.address, count: 4096) == GrantFixture.pattern(1))
        // The granter's own writes show through.
        try g.granter.memory.store(UInt32(0x600D_F00D), at: Self.page.address)
        #expect(try g.mapper.memory.load(UInt32.self, at: Self.hole) == 0x600D_F00D)
        // A read-only pin sets GTF_reading only.
        #expect(try g.entry(5).flags == [.permitAccess, .readonly, .reading])
        #expect(try g.unmap(op.handle) == .okay)
        #expect(try g.entry(5).flags == [.permitAccess, .readonly])
        #expect(!g.mapper.memory.isBacked(Self.hole))
    }

    @Test func readOnlyAndWritableMappingsOfOneGrant() throws {
        let g = try setUp()
        let ro = try g.map(5, flags: [.hostMap, .readonly])
        #expect(try g.entry(5).flags == [.permitAccess, .reading])
        let second = Self.hole.advanced(by: 0x1000)
        let rw = try g.map(5, at: second)
        #expect(ro.status == .okay && rw.status == .okay)
        #expect(try g.entry(5).flags == [.permitAccess, .reading, .writing])
        #expect(g.mapper.memory.region(containing: second)?.readonly == false)
        // Written through the writable mapping, seen through the read-only one.
        try g.mapper.memory.store(UInt32(0xABCD_0123), at: second)
        #expect(try g.mapper.memory.load(UInt32.self, at: Self.hole) == 0xABCD_0123)
        // The last writable mapping going clears GTF_writing; GTF_reading stays until the end.
        #expect(try g.unmap(rw.handle, at: second) == .okay)
        #expect(try g.entry(5).flags == [.permitAccess, .reading])
        #expect(try g.unmap(ro.handle) == .okay)
        #expect(try g.entry(5).flags == .permitAccess)
        #expect(g.granter.grantTable.pinCount(GrantRef(5)) == 0)
    }

    @Test func aReadOnlyGrantIsNeverWritable() throws {
        let g = try setUp(flags: [.permitAccess, .readonly])
        #expect(try g.map(5).status == .generalError)
        // Nor after a read-only map pinned it.
        let ro = try g.map(5, flags: [.hostMap, .readonly])
        #expect(ro.status == .okay)
        #expect(try g.map(5, at: Self.hole.advanced(by: 0x1000)).status == .generalError)
        // Nor as a copy destination; as a source it is fine.
        try g.mapper.memory.write(GrantFixture.pattern(7), at: GFN(0x300).address)
        let into = GnttabCopy(source: GnttabCopyPtr(gmfn: GFN(0x300), offset: 0),
                              dest: GnttabCopyPtr(ref: GrantRef(5), domid: g.granter.id, offset: 0),
                              len: 4096, flags: .destGref)
        let from = GnttabCopy(source: GnttabCopyPtr(ref: GrantRef(5), domid: g.granter.id, offset: 0),
                              dest: GnttabCopyPtr(gmfn: GFN(0x301), offset: 0), len: 4096, flags: .sourceGref)
        #expect(try g.copy([into, from]).statuses == [.generalError, .okay])
        #expect(try g.granter.memory.read(at: Self.page.address, count: 4096) == GrantFixture.pattern(1))
        #expect(try g.unmap(ro.handle) == .okay)
        #expect(try g.entry(5).flags == [.permitAccess, .readonly])
    }

    /// An engine that cannot map memory read-only (KVM without `KVM_CAP_READONLY_MEM`) refuses
    /// the region: the map fails as a whole and leaves nothing behind.
    @Test func anEngineWithoutReadOnlyMemoryRefusesTheMap() throws {
        let g = try setUp()
        struct NoReadOnly: Error {}
        let token = try g.mapper.memory.observeRegions { change in
            if case .added(let r) = change, r.readonly { throw NoReadOnly() }
        }
        defer { g.mapper.memory.stopObserving(token) }
        #expect(try g.map(5, flags: [.hostMap, .readonly]).status == .generalError)
        #expect(!g.mapper.memory.isBacked(Self.hole))
        #expect(try g.entry(5).flags == .permitAccess)
        #expect(g.granter.grantTable.pinCount(GrantRef(5)) == 0 && g.mapper.grantTable.mappingCount == 0)
        // Writable maps still work.
        let rw = try g.map(5)
        #expect(rw.status == .okay)
        #expect(try g.unmap(rw.handle) == .okay)
    }

    /// A guest cannot place shared_info or a grant frame over a grant mapping (Xen's
    /// guest_physmap_add_entry: -EINVAL), which would make Petrel write into the granter's page.
    @Test func physmapCannotReplaceAGrantMapping() throws {
        let g = try setUp(flags: [.permitAccess, .readonly])
        let op = try g.map(5, flags: [.hostMap, .readonly])
        #expect(op.status == .okay)
        #expect(try g.placeFrame(0, at: Self.hole.frame, in: g.mapper) == errno(.EINVAL))
        #expect(try g.granter.memory.read(at: Self.page.address, count: 4096) == GrantFixture.pattern(1))
        #expect(try g.unmap(op.handle) == .okay)
    }

    // MARK: who may use a grant

    /// Only the domain an entry names may map or copy it. Xen answers GNTST_general_error
    /// (`_set_status_v1`: "Bad flags or dom"), not GNTST_permission_denied, which is XSM's
    /// answer and that of a foreign gmfn in a copy.
    @Test func onlyTheNamedDomainMapsOrCopies() throws {
        let g = try setUp()
        let d3 = try third(g)
        let copyFrom = GnttabCopy(source: GnttabCopyPtr(ref: GrantRef(5), domid: g.granter.id, offset: 0),
                                  dest: GnttabCopyPtr(gmfn: GFN(0x300), offset: 0), len: 64, flags: .sourceGref)
        let copyInto = GnttabCopy(source: GnttabCopyPtr(gmfn: GFN(0x300), offset: 0),
                                  dest: GnttabCopyPtr(ref: GrantRef(5), domid: g.granter.id, offset: 0),
                                  len: 64, flags: .destGref)
        // Not yet mapped, then while the named domain has it mapped, then after.
        for phase in 0..<3 {
            var op: GnttabMapGrantRef?
            if phase == 1 {
                op = try g.map(5)
                #expect(op?.status == .okay)
            }
            #expect(try g.map(5, by: d3).status == .generalError, "phase \(phase)")
            #expect(try g.map(5, flags: [.hostMap, .readonly], by: d3).status == .generalError, "phase \(phase)")
            #expect(try g.copy([copyFrom, copyInto], by: d3).statuses == [.generalError, .generalError], "phase \(phase)")
            #expect(!d3.memory.isBacked(Self.hole) && d3.grantTable.mappingCount == 0)
            if let op { #expect(try g.unmap(op.handle) == .okay) }
        }
        // Naming the granter's frame directly is what permission_denied is for.
        let foreign = GnttabCopy(source: GnttabCopyPtr(gmfn: Self.page, domid: g.granter.id, offset: 0),
                                 dest: GnttabCopyPtr(gmfn: GFN(0x300), offset: 0), len: 64, flags: [])
        #expect(try g.copy([foreign], by: d3).statuses == [.permissionDenied])
        #expect(try g.entry(5).flags == .permitAccess)
        #expect(try g.granter.memory.read(at: Self.page.address, count: 4096) == GrantFixture.pattern(1))
    }

    /// What the granter's `gnttab_end_foreign_access_ref` sees: GTF_reading/GTF_writing stay set
    /// while any mapping lives, so a granter following the protocol cannot end access.
    @Test func theGranterCannotEndAccessWhileMapped() throws {
        let g = try setUp()
        func endAccess() throws -> Bool {
            // Linux's gnttab_end_foreign_access_ref_v1: cmpxchg the flags to 0 unless in use.
            let gpa = try g.entryGPA(5, in: g.granter)
            let word = try g.granter.memory.load(UInt32.self, at: gpa)
            let flags = GrantEntryFlags(rawValue: UInt16(truncatingIfNeeded: word))
            guard flags.isDisjoint(with: [.reading, .writing]) else { return false }
            return try g.granter.memory.compareExchange(expected: word, desired: word & 0xFFFF_0000, at: gpa).exchanged
        }
        let op = try g.map(5)
        #expect(try !endAccess())
        // Copies come and go without disturbing the mapping's flags.
        let from = GnttabCopy(source: GnttabCopyPtr(ref: GrantRef(5), domid: g.granter.id, offset: 0),
                              dest: GnttabCopyPtr(gmfn: GFN(0x300), offset: 0), len: 8, flags: .sourceGref)
        #expect(try g.copy([from]).statuses == [.okay])
        #expect(try !endAccess())
        #expect(try g.unmap(op.handle) == .okay)
        #expect(try endAccess())
        #expect(try g.map(5).status == .generalError)
    }

    // MARK: unmap and destruction

    @Test func unmapTellsTheEngine() throws {
        let g = try setUp()
        let log = RegionLog()
        let token = try g.mapper.memory.observeRegions { log.record($0) }
        defer { g.mapper.memory.stopObserving(token) }
        let op = try g.map(5, flags: [.hostMap, .readonly])
        #expect(log.changes.last == "+\(Self.hole.raw) ro")
        #expect(try g.unmap(op.handle) == .okay)
        #expect(log.changes.last == "-\(Self.hole.raw) ro")
        #expect(!g.mapper.memory.isBacked(Self.hole))
    }

    @Test func destroyingTheMapperReleasesItsMappings() throws {
        let g = try setUp()
        try g.grant(6, to: g.mapper.id, frame: GFN(0x201), flags: [.permitAccess, .readonly])
        let log = RegionLog()
        let token = try g.mapper.memory.observeRegions { log.record($0) }
        defer { g.mapper.memory.stopObserving(token) }
        #expect(try g.map(5).status == .okay)
        #expect(try g.map(6, at: Self.hole.advanced(by: 0x1000), flags: [.hostMap, .readonly]).status == .okay)
        #expect(g.granter.grantTable.pinCount(GrantRef(5)) == 1 && g.granter.grantTable.pinCount(GrantRef(6)) == 1)
        let mapper = g.mapper
        g.hypervisor.removeDomain(mapper.id)
        #expect(g.hypervisor.domain(mapper.id) == nil)
        #expect(mapper.grantTable.mappingCount == 0)
        #expect(log.changes.suffix(2).sorted() == ["-\(Self.hole.raw)", "-\(Self.hole.raw + 0x1000) ro"])
        #expect(g.granter.grantTable.pinCount(GrantRef(5)) == 0 && g.granter.grantTable.pinCount(GrantRef(6)) == 0)
        #expect(try g.entry(5).flags == .permitAccess)
        #expect(try g.entry(6).flags == [.permitAccess, .readonly])
    }

    /// Xen keeps a reference to a mapped page when its owner dies: the mapping stays valid
    /// memory until the mapper unmaps it, and then nothing of the granter is held any more.
    @Test func destroyingTheGranterLeavesTheMappingValidUntilUnmap() throws {
        let g = try setUp()
        weak var granterTable: GrantTable?
        var handle = GrantHandle(0)
        try {
            // A granter nobody else holds: d3, granting to the mapper.
            let d3 = try third(g)
            granterTable = d3.grantTable
            #expect(try g.placeFrame(0, at: GrantFixture.frame0, in: d3) == 0)
            try d3.memory.write(GrantFixture.pattern(3), at: Self.page.address)
            try g.grant(9, to: g.mapper.id, frame: Self.page, in: d3)
            let op = try g.map(9, from: d3.id)
            #expect(op.status == .okay)
            handle = op.handle
            g.hypervisor.removeDomain(d3.id)
        }()
        #expect(granterTable != nil, "the mapping keeps the granter's table and page alive")
        // The mapper keeps reading and writing the page.
        #expect(try g.mapper.memory.read(at: Self.hole, count: 4096) == GrantFixture.pattern(3))
        try g.mapper.memory.store(UInt64(42), at: Self.hole)
        #expect(try g.mapper.memory.load(UInt64.self, at: Self.hole) == 42)
        // A new domain may reuse the id; the old mapping still unmaps against the old table.
        #expect(try g.unmap(handle) == .okay)
        #expect(!g.mapper.memory.isBacked(Self.hole) && g.mapper.grantTable.mappingCount == 0)
        #expect(granterTable == nil, "after the unmap nothing holds the dead granter")
    }
}

/// Region changes an observer heard, as "+gpa" / "-gpa", with " ro" for read-only regions.
private final class RegionLog: Sendable {
    private let entries = Mutex<[String]>([])
    var changes: [String] { entries.withLock { $0 } }
    func record(_ change: GuestPhysicalMemory.Change) {
        let s = switch change {
        case .added(let r): "+\(r.start.raw)" + (r.readonly ? " ro" : "")
        case .removed(let r): "-\(r.start.raw)" + (r.readonly ? " ro" : "")
        }
        entries.withLock { $0.append(s) }
    }
}
