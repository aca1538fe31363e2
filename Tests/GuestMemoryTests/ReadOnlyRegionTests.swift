import Testing
@testable import GuestMemory
import XenABI

/// Read-only regions (a `GNTMAP_readonly` grant mapping, Xen's `p2m_grant_map_ro`): reads see
/// the shared page, plain writes are discarded, read-modify-write atomics fault.
@Suite("GuestPhysicalMemory: read-only regions")
struct ReadOnlyRegionTests {
    /// `owner` has RAM at 0; `viewer` sees the owner's page at 0x2000 read-only at 0x10_0000.
    static func setUp() throws -> (owner: GuestPhysicalMemory, viewer: GuestPhysicalMemory, at: GPA) {
        let owner = try makeMemory([(0, 64 * kib)])
        let viewer = GuestPhysicalMemory()
        let page = try #require(owner.regions.first?.slice(at: GPA(0x2000), size: 4 * kib, placedAt: GPA(0x10_0000),
                                                           kind: .special("grant_map"), readonly: true))
        try viewer.add(page)
        try owner.write(Array(repeating: 0xAB, count: 4096), at: GPA(0x2000))
        return (owner, viewer, GPA(0x10_0000))
    }

    @Test func sliceCarriesTheFlag() throws {
        let (owner, viewer, at) = try Self.setUp()
        #expect(owner.regions.first?.readonly == false)
        let r = try #require(viewer.region(containing: at))
        #expect(r.readonly && r.size == 4 * kib)
        // A slice of a read-only region stays read-only even if not asked.
        #expect(r.slice(at: at, size: 4 * kib, placedAt: GPA(0), kind: .ram)?.readonly == true)
        #expect(owner.regions.first?.slice(at: GPA(0), size: 4 * kib, placedAt: GPA(0), kind: .ram)?.readonly == false)
    }

    @Test func readsSeeTheOwnersPage() throws {
        let (owner, viewer, at) = try Self.setUp()
        #expect(try viewer.read(at: at, count: 4096) == Array(repeating: 0xAB, count: 4096))
        try owner.store(UInt32(0x1234_5678), at: GPA(0x2010))
        #expect(try viewer.load(UInt32.self, at: at.advanced(by: 0x10)) == 0x1234_5678)
        #expect(try viewer.loadAcquire(UInt32.self, at: at.advanced(by: 0x10)) == 0x1234_5678)
        #expect(try viewer.atomicLoad(UInt64.self, at: at.advanced(by: 0x10)) == 0xABAB_ABAB_1234_5678)
    }

    @Test func plainWritesAreDiscarded() throws {
        let (owner, viewer, at) = try Self.setUp()
        try viewer.write([1, 2, 3, 4], at: at)
        try viewer.store(UInt64.max, at: at.advanced(by: 8))
        try viewer.storeRelease(0, at: at.advanced(by: 16))
        try viewer.storeRelease64(0, at: at.advanced(by: 24))
        try viewer.fill(0, at: at.advanced(by: 100), count: 200)
        let source = try makeMemory([(0, 4 * kib)])
        try viewer.copy(64, from: source, at: GPA(0), to: at.advanced(by: 512))
        #expect(try owner.read(at: GPA(0x2000), count: 4096) == Array(repeating: 0xAB, count: 4096))
        // Still bounds-checked: a discarded write past the region is a fault, not silence.
        #expect(throws: MemoryFault.self) { try viewer.write([1, 2], at: at.advanced(by: 4095)) }
        #expect(throws: MemoryFault.self) { try viewer.store(UInt8(1), at: GPA(0x20_0000)) }
    }

    @Test func readModifyWriteFaults() throws {
        let (owner, viewer, at) = try Self.setUp()
        let protection = MemoryFault(address: at.raw, reason: .protection)
        #expect(throws: protection) { try viewer.atomicOr(1, at: at) }
        #expect(throws: protection) { try viewer.atomicAnd(0, at: at) }
        #expect(throws: protection) { try viewer.atomicExchange(0, at: at) }
        #expect(throws: protection) { _ = try viewer.compareExchange(expected: 0xABAB_ABAB, desired: 0, at: at) }
        #expect(try owner.load(UInt64.self, at: GPA(0x2000)) == 0xABAB_ABAB_ABAB_ABAB)
    }

    @Test func theOwnerStillWrites() throws {
        let (owner, viewer, at) = try Self.setUp()
        try owner.atomicOr(0xFF, at: GPA(0x2000))
        _ = try owner.compareExchange(expected: 0xABAB_ABFF, desired: 7, at: GPA(0x2000))
        #expect(try viewer.load(UInt32.self, at: at) == 7)
    }
}
