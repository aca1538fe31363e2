import GuestMemory
@testable import Hypervisor
import Testing
import XenABI

/// The typed API in-hypervisor backends use: `GrantTable.map(ref:from:by:readonly:)`.
@Suite struct GrantTableBackendTests {
    static let page = GFN(0x200)
    static let dom0 = DomainID.control

    func setUp(flags: GrantEntryFlags = .permitAccess) throws -> GrantFixture {
        let g = try GrantFixture()
        try g.granter.memory.write(GrantFixture.pattern(3), at: Self.page.address)
        try g.grant(UInt32(gnttabReservedConsole.raw), to: Self.dom0, frame: Self.page, flags: flags)
        return g
    }

    @Test func readWriteAndUnmap() throws {
        let g = try setUp()
        let m = try GrantTable.map(ref: gnttabReservedConsole, from: g.granter, by: Self.dom0, readonly: false)
        #expect(m.frame == Self.page && m.granter == g.granter.id && m.isMapped)
        #expect(try m.read(at: 0, count: 4096) == GrantFixture.pattern(3))
        try m.write([1, 2, 3], at: 4093)
        #expect(try g.granter.memory.read(at: Self.page.address.advanced(by: 4093), count: 3) == [1, 2, 3])
        try m.storeRelease(UInt32(77), at: 8)
        #expect(try g.granter.memory.loadAcquire(UInt32.self, at: Self.page.address.advanced(by: 8)) == 77)
        try g.granter.memory.store(UInt64(0xABCD), at: Self.page.address.advanced(by: 16))
        #expect(try m.load(UInt64.self, at: 16) == 0xABCD)
        #expect(try m.loadAcquire(UInt32.self, at: 16) == 0xABCD)
        #expect(try g.entry(0).flags == [.permitAccess, .reading, .writing])
        // Bounded to the page.
        #expect(throws: MemoryFault.self) { try m.read(at: 4090, count: 7) }
        #expect(throws: MemoryFault.self) { try m.write([0], at: 4096) }
        #expect(throws: MemoryFault.self) { try m.read(at: -1, count: 1) }

        GrantTable.unmap(m)
        #expect(!m.isMapped)
        #expect(try g.entry(0).flags == .permitAccess)
        #expect(throws: MemoryFault.self) { try m.read(at: 0, count: 1) }
        GrantTable.unmap(m)  // idempotent
        #expect(g.granter.grantTable.pinCount(gnttabReservedConsole) == 0)
    }

    @Test func readOnly() throws {
        let g = try setUp(flags: [.permitAccess, .readonly])
        #expect(throws: GrantStatus.generalError) {
            try GrantTable.map(ref: gnttabReservedConsole, from: g.granter, by: Self.dom0, readonly: false)
        }
        let m = try GrantTable.map(ref: gnttabReservedConsole, from: g.granter, by: Self.dom0, readonly: true)
        #expect(try g.entry(0).flags == [.permitAccess, .readonly, .reading])
        #expect(try m.read(at: 0, count: 2) == Array(GrantFixture.pattern(3).prefix(2)))
        #expect(throws: MemoryFault(address: 0, reason: .protection)) { try m.write([9], at: 0) }
        #expect(throws: MemoryFault.self) { try m.store(UInt32(1), at: 0) }
        #expect(throws: MemoryFault.self) { try m.storeRelease(UInt32(1), at: 0) }
        #expect(try g.granter.memory.read(at: Self.page.address, count: 1) == [GrantFixture.pattern(3)[0]])
        GrantTable.unmap(m)
        #expect(try g.entry(0).flags == [.permitAccess, .readonly])
    }

    @Test func wrongGranteeBadRefAndRevocation() throws {
        let g = try setUp()
        #expect(throws: GrantStatus.generalError) {
            try GrantTable.map(ref: gnttabReservedConsole, from: g.granter, by: g.mapper.id, readonly: false)
        }
        #expect(throws: GrantStatus.badGntref) {
            try GrantTable.map(ref: GrantRef(512), from: g.granter, by: Self.dom0, readonly: false)
        }
        let m = try GrantTable.map(ref: gnttabReservedConsole, from: g.granter, by: Self.dom0, readonly: false)
        // Revoked under a live mapping: the page stays usable, as in Xen.
        try g.grant(0, to: Self.dom0, frame: Self.page, flags: [])
        try m.write([0x55], at: 0)
        #expect(try g.granter.memory.read(at: Self.page.address, count: 1) == [0x55])
        GrantTable.unmap(m)
        #expect(throws: GrantStatus.generalError) {
            try GrantTable.map(ref: gnttabReservedConsole, from: g.granter, by: Self.dom0, readonly: false)
        }
    }

    @Test func deinitReleasesThePin() throws {
        let g = try setUp()
        do {
            let m = try GrantTable.map(ref: gnttabReservedConsole, from: g.granter, by: Self.dom0, readonly: false)
            #expect(m.isMapped)
            #expect(g.granter.grantTable.pinCount(gnttabReservedConsole) == 1)
        }
        #expect(g.granter.grantTable.pinCount(gnttabReservedConsole) == 0)
        #expect(try g.entry(0).flags == .permitAccess)
    }

    @Test func pinCountersCannotOverflow() throws {
        let g = try setUp()
        var maps: [GrantMapping] = []
        for _ in 0..<GrantTable.maxPinsPerKind {
            maps.append(try GrantTable.map(ref: gnttabReservedConsole, from: g.granter, by: Self.dom0, readonly: true))
        }
        // Xen refuses a pin once a counter has reached 0x80.
        #expect(throws: GrantStatus.generalError) {
            try GrantTable.map(ref: gnttabReservedConsole, from: g.granter, by: Self.dom0, readonly: false)
        }
        maps.removeAll()
        #expect(g.granter.grantTable.pinCount(gnttabReservedConsole) == 0)
    }

    @Test func handlesRunOut() throws {
        let g = try GrantFixture()
        let table = GrantTable(domid: g.mapper.id, memory: g.mapper.memory, physmap: g.mapper.physmap, maxFrames: 1,
                               maxMappings: 2)
        try g.grant(5, to: g.mapper.id, frame: Self.page)
        let a = try table.mapGrantRef(GrantRef(5), of: g.granter, flags: .hostMap, hostAddr: GrantFixture.hole.raw)
        let b = try table.mapGrantRef(GrantRef(5), of: g.granter, flags: .hostMap, hostAddr: GrantFixture.hole.raw + 0x1000)
        #expect(throws: GrantStatus.noDeviceSpace) {
            try table.mapGrantRef(GrantRef(5), of: g.granter, flags: .hostMap, hostAddr: GrantFixture.hole.raw + 0x2000)
        }
        try table.unmapGrantRef(a.handle, hostAddr: GrantFixture.hole.raw, devBusAddr: 0)
        let c = try table.mapGrantRef(GrantRef(5), of: g.granter, flags: .hostMap, hostAddr: GrantFixture.hole.raw)
        #expect(c.handle == a.handle && b.handle != a.handle)
        #expect(table.releaseAll() == 2)
        #expect(try g.entry(5).flags == .permitAccess)
    }
}
