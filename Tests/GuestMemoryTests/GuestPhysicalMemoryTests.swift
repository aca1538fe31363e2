import Synchronization
import Testing
@testable import GuestMemory
import XenABI

@Suite("GuestPhysicalMemory: regions")
struct RegionTests {
    @Test func regionsAreKeptInAddressOrder() throws {
        let m = try makeMemory([(0x10_0000, 64 * kib), (0, 64 * kib), (0x8000_0000, 4 * kib)])
        #expect(m.regions.map(\.start.raw) == [0, 0x10_0000, 0x8000_0000])
        #expect(m.regions.allSatisfy { $0.hostAddress != 0 && $0.backingOffset == 0 })
    }

    @Test func ramBytesCountsOnlyRAM() throws {
        let m = try makeMemory([(0, 64 * kib), (0x10_0000, 128 * kib)])
        try m.addRegion(at: GPA(0xFEFF_F000), size: 4 * kib, kind: .special("shared_info"))
        #expect(m.ramBytes == 192 * kib)
        #expect(m.region(containing: GPA(0xFEFF_F800))?.kind == .special("shared_info"))
    }

    @Test func containment() throws {
        let m = try makeMemory([(0x1000, 8 * kib)])
        #expect(!m.isBacked(GPA(0xFFF)))
        #expect(m.isBacked(GPA(0x1000)))
        #expect(m.isBacked(GPA(0x2FFF)))
        #expect(!m.isBacked(GPA(0x3000)))
        #expect(m.region(containing: GPA(0x2FFF))?.end == 0x3000)
    }

    static let overlaps: [(UInt64, UInt64)] = [
        (0x10_0000, 64 * kib),      // identical
        (0x10_0000 - 0x1000, 0x2000), // overlaps the front
        (0x10_F000, 0x2000),        // overlaps the back
        (0x10_4000, 0x1000),        // inside
        (0xF_0000, 0x10_0000),      // contains it
    ]

    @Test(arguments: overlaps)
    func overlapIsRejected(_ start: UInt64, _ size: UInt64) throws {
        let m = try makeMemory([(0x10_0000, 64 * kib)])
        let log = ChangeLog()
        try m.observeRegions { log.record($0) }
        #expect(throws: MemoryFault.self) { try m.addRegion(at: GPA(start), size: size, kind: .ram) }
        #expect(m.regions.count == 1)
        #expect(m.regions[0].start == GPA(0x10_0000) && m.regions[0].size == 64 * kib)
        #expect(log.all == ["+0x100000"], "a rejected region is never announced")
    }

    @Test func adjacentRegionsAreAllowed() throws {
        let m = try makeMemory([(0x10_0000, 64 * kib)])
        try m.addRegion(at: GPA(0xF_F000), size: 4 * kib, kind: .ram)
        try m.addRegion(at: GPA(0x11_0000), size: 4 * kib, kind: .ram)
        #expect(m.regions.count == 3)
    }

    @Test func regionAtTheTopOfTheAddressSpaceThrowsInsteadOfTrapping() throws {
        let m = GuestPhysicalMemory()
        // end = start + size would wrap to 0.
        #expect(throws: MemoryFault(address: 0xFFFF_FFFF_FFFF_F000, reason: .overflow)) {
            try m.addRegion(at: GPA(0xFFFF_FFFF_FFFF_F000), size: 4 * kib, kind: .ram)
        }
        #expect(m.regions.isEmpty)
        // The highest page that still has a representable end is fine.
        try m.addRegion(at: GPA(0xFFFF_FFFF_FFFF_E000), size: 4 * kib, kind: .special("top"))
        try m.write([1, 2, 3, 4], at: GPA(0xFFFF_FFFF_FFFF_EFFC))
        #expect(try m.read(at: GPA(0xFFFF_FFFF_FFFF_EFFC), count: 4) == [1, 2, 3, 4])
        #expect(throws: MemoryFault(address: 0xFFFF_FFFF_FFFF_F000, reason: .unbacked)) {
            try m.read(at: GPA(0xFFFF_FFFF_FFFF_EFFC), count: 5)
        }
        #expect(throws: MemoryFault(address: 0xFFFF_FFFF_FFFF_FFF8, reason: .overflow)) {
            try m.load(UInt64.self, at: GPA(0xFFFF_FFFF_FFFF_FFF8))
        }
    }

    @Test func removeRegion() throws {
        let m = try makeMemory([(0, 64 * kib), (0x10_0000, 64 * kib)])
        try m.write([0xAB], at: GPA(0x10_0000))
        try m.removeRegion(at: GPA(0x10_0000))
        #expect(m.regions.map(\.start.raw) == [0])
        #expect(throws: MemoryFault(address: 0x10_0000, reason: .unbacked)) {
            try m.read(at: GPA(0x10_0000), count: 1)
        }
        // Not a region start: nothing happens.
        try m.removeRegion(at: GPA(0x1000))
        try m.removeRegion(at: GPA(0x50_0000))
        #expect(m.regions.count == 1)
        // The range can be reused, and comes back zeroed.
        try m.addRegion(at: GPA(0x10_0000), size: 4 * kib, kind: .ram)
        #expect(try m.read(at: GPA(0x10_0000), count: 1) == [0])
    }
}

@Suite("GuestPhysicalMemory: observers")
struct ObserverTests {
    @Test func replaysExistingRegionsInOrderThenSeesChanges() throws {
        let m = try makeMemory([(0x20_0000, 4 * kib), (0, 4 * kib)])
        let log = ChangeLog()
        try m.observeRegions { log.record($0) }
        #expect(log.all == ["+0x0", "+0x200000"])
        try m.addRegion(at: GPA(0x1000), size: 4 * kib, kind: .ram)
        try m.removeRegion(at: GPA(0))
        #expect(log.all == ["+0x0", "+0x200000", "+0x1000", "-0x0"])
    }

    @Test func everyObserverHearsEveryChange() throws {
        let m = GuestPhysicalMemory()
        let a = ChangeLog(), b = ChangeLog()
        try m.observeRegions { a.record($0) }
        try m.addRegion(at: GPA(0), size: 4 * kib, kind: .ram)
        try m.observeRegions { b.record($0) }
        try m.addRegion(at: GPA(0x1000), size: 4 * kib, kind: .ram)
        #expect(a.all == ["+0x0", "+0x1000"])
        #expect(b.all == ["+0x0", "+0x1000"])
    }

    @Test func stopObserving() throws {
        let m = GuestPhysicalMemory()
        let log = ChangeLog()
        let token = try m.observeRegions { log.record($0) }
        try m.addRegion(at: GPA(0), size: 4 * kib, kind: .ram)
        m.stopObserving(token)
        try m.addRegion(at: GPA(0x1000), size: 4 * kib, kind: .ram)
        #expect(log.all == ["+0x0"])
    }

    @Test func aFailingObserverUndoesTheAddition() throws {
        let m = GuestPhysicalMemory()
        let first = ChangeLog()
        try m.observeRegions { first.record($0) }
        try m.observeRegions { change in
            if case .added(let r) = change, r.start.raw == 0x1000 { throw ObserverFailure() }
        }
        try m.addRegion(at: GPA(0), size: 4 * kib, kind: .ram)
        #expect(throws: ObserverFailure.self) {
            try m.addRegion(at: GPA(0x1000), size: 4 * kib, kind: .ram)
        }
        #expect(m.regions.map(\.start.raw) == [0])
        #expect(!m.isBacked(GPA(0x1000)))
        // The observer that had mapped it hears it go away again.
        #expect(first.all == ["+0x0", "+0x1000", "-0x1000"])
    }

    @Test func aFailingReplayLeavesTheObserverUnregistered() throws {
        let m = try makeMemory([(0, 4 * kib), (0x1000, 4 * kib)])
        let log = ChangeLog()
        #expect(throws: ObserverFailure.self) {
            try m.observeRegions { change in
                log.record(change)
                if case .added(let r) = change, r.start.raw == 0x1000 { throw ObserverFailure() }
            }
        }
        try m.addRegion(at: GPA(0x2000), size: 4 * kib, kind: .ram)
        #expect(log.all == ["+0x0", "+0x1000"])
    }

    /// Registering an observer while another thread adds regions: each region must be announced
    /// to it exactly once (not missed between replay and registration, not replayed and then
    /// announced again).
    @Test func observerRegisteredDuringAddsHearsEachRegionOnce() async throws {
        for _ in 0..<20 {
            let m = GuestPhysicalMemory()
            let log = ChangeLog()
            let count = 400
            let adder = Task.detached {
                for i in 0..<count {
                    try m.addRegion(at: GPA(UInt64(i) * 0x1000), size: 4 * kib, kind: .ram)
                }
            }
            // Register in the middle of the stream of additions.
            while m.regions.count < count / 4 { await Task.yield() }
            try m.observeRegions { log.record($0) }
            try await adder.value
            let expected = (0..<count).map { "+0x" + String(UInt64($0) * 0x1000, radix: 16) }
            #expect(log.all.sorted() == expected.sorted())
            #expect(log.all.count == count)
        }
    }
}

@Suite("GuestPhysicalMemory: bounds-checked access")
struct AccessTests {
    /// RAM [0, 64 KiB) and [64 KiB, 128 KiB) (adjacent, separate mappings), and [1 MiB, 1 MiB + 4 KiB).
    static func memory() throws -> GuestPhysicalMemory {
        try makeMemory([(0, 64 * kib), (64 * kib, 64 * kib), (mib, 4 * kib)])
    }

    @Test func readWriteRoundTrip() throws {
        let m = try Self.memory()
        let data: [UInt8] = Array(0..<200)
        try m.write(data, at: GPA(0x123))
        #expect(try m.read(at: GPA(0x123), count: 200) == data)
        #expect(try m.read(at: GPA(0x122), count: 1) == [0])
    }

    @Test func exactEndOfRegionIsAllowed() throws {
        let m = try Self.memory()
        let end = mib + 4 * kib
        try m.write([9, 8, 7, 6], at: GPA(end - 4))
        #expect(try m.read(at: GPA(end - 4), count: 4) == [9, 8, 7, 6])
        #expect(try m.load(UInt32.self, at: GPA(end - 4)) == 0x0607_0809)
        try m.store(UInt64.max, at: GPA(end - 8))
        try m.fill(0x5A, at: GPA(end - 16), count: 16)
        #expect(try m.read(at: GPA(mib), count: Int(4 * kib)).suffix(16) == ArraySlice(repeating: 0x5A, count: 16))
    }

    @Test func onePastTheEndIsUnbacked() throws {
        let m = try Self.memory()
        let end = mib + 4 * kib
        let fault = MemoryFault(address: end, reason: .unbacked)
        #expect(throws: fault) { try m.read(at: GPA(end - 4), count: 5) }
        #expect(throws: fault) { try m.write([1, 2, 3, 4, 5], at: GPA(end - 4)) }
        #expect(throws: fault) { try m.load(UInt64.self, at: GPA(end - 4)) }
        #expect(throws: fault) { try m.store(UInt16(1), at: GPA(end - 1)) }
        #expect(throws: fault) { try m.fill(0, at: GPA(end - 1), count: 2) }
        #expect(throws: MemoryFault(address: end, reason: .unbacked)) { try m.read(at: GPA(end), count: 1) }
        #expect(throws: MemoryFault(address: end, reason: .unbacked)) { try m.load(UInt8.self, at: GPA(end)) }
    }

    @Test func nothingIsWrittenWhenAWriteFaults() throws {
        let m = try Self.memory()
        let end = mib + 4 * kib
        #expect(throws: MemoryFault.self) { try m.write([1, 1, 1, 1, 1], at: GPA(end - 4)) }
        #expect(throws: MemoryFault.self) { try m.fill(1, at: GPA(end - 4), count: 5) }
        #expect(try m.read(at: GPA(end - 4), count: 4) == [0, 0, 0, 0])
    }

    @Test func accessStraddlingTwoRegionsFails() throws {
        // Both sides are RAM, but they are separate mappings: no single host range covers them.
        let m = try Self.memory()
        let boundary = 64 * kib
        let fault = MemoryFault(address: boundary, reason: .unbacked)
        #expect(throws: fault) { try m.read(at: GPA(boundary - 2), count: 4) }
        #expect(throws: fault) { try m.write([1, 2, 3, 4], at: GPA(boundary - 2)) }
        #expect(throws: fault) { try m.load(UInt32.self, at: GPA(boundary - 2)) }
        #expect(throws: fault) { try m.store(UInt32(1), at: GPA(boundary - 2)) }
        #expect(try m.read(at: GPA(boundary - 2), count: 2) == [0, 0])
    }

    @Test func gapsAreUnbacked() throws {
        let m = try Self.memory()
        #expect(throws: MemoryFault(address: 0x8_0000, reason: .unbacked)) { try m.read(at: GPA(0x8_0000), count: 1) }
        #expect(throws: MemoryFault(address: 0xFFFF_FFFF, reason: .unbacked)) { try m.load(UInt8.self, at: GPA(0xFFFF_FFFF)) }
    }

    @Test(arguments: [UInt64.max, UInt64.max - 1, UInt64.max - 7, 0xFFFF_FFFF_FFFF_FFF9])
    func overflowNearTheTopFaultsWithoutTrapping(_ addr: UInt64) throws {
        let m = try Self.memory()
        let fault = MemoryFault(address: addr, reason: .overflow)
        #expect(throws: fault) { try m.read(at: GPA(addr), count: 8) }
        #expect(throws: fault) { try m.write([UInt8](repeating: 0, count: 8), at: GPA(addr)) }
        #expect(throws: fault) { try m.fill(0, at: GPA(addr), count: 8) }
        #expect(throws: fault) { try m.load(UInt64.self, at: GPA(addr)) }
        #expect(throws: fault) { try m.store(UInt64(0), at: GPA(addr)) }
        #expect(throws: fault) { try m.read(at: GPA(addr), count: Int.max) }
    }

    @Test func theLastByteOfTheAddressSpace() throws {
        let m = try Self.memory()
        // [max-1, max) is representable: an ordinary unbacked address.
        #expect(throws: MemoryFault(address: UInt64.max - 1, reason: .unbacked)) {
            try m.read(at: GPA(UInt64.max - 1), count: 1)
        }
        // [max, 2^64) is not: no region can end at 2^64.
        #expect(throws: MemoryFault(address: UInt64.max, reason: .overflow)) {
            try m.read(at: GPA(UInt64.max), count: 1)
        }
    }

    @Test func negativeCountIsRejected() throws {
        let m = try Self.memory()
        #expect(throws: MemoryFault(address: 0, reason: .overflow)) { try m.read(at: GPA(0), count: -1) }
        #expect(throws: MemoryFault(address: 0, reason: .overflow)) { try m.fill(0, at: GPA(0), count: -1) }
    }

    @Test func emptyAccessesTouchNothing() throws {
        let m = try Self.memory()
        #expect(try m.read(at: GPA(0xDEAD_0000), count: 0) == [])
        try m.write([], at: GPA(0xDEAD_0000))
        try m.fill(1, at: GPA(0xDEAD_0000), count: 0)
    }

    @Test func loadStoreAreLittleEndianAndMayBeUnaligned() throws {
        let m = try Self.memory()
        try m.store(UInt32(0x1122_3344), at: GPA(0x101))
        #expect(try m.read(at: GPA(0x100), count: 6) == [0, 0x44, 0x33, 0x22, 0x11, 0])
        try m.store(UInt64(0x0102_0304_0506_0708), at: GPA(0x203))
        #expect(try m.load(UInt64.self, at: GPA(0x203)) == 0x0102_0304_0506_0708)
        #expect(try m.load(UInt16.self, at: GPA(0x209)) == 0x0102)
        #expect(try m.load(UInt8.self, at: GPA(0x203)) == 0x08)
    }

    @Test func regionsHaveSeparateContents() throws {
        let m = try Self.memory()
        try m.store(UInt32(0xAAAA_AAAA), at: GPA(0))
        try m.store(UInt32(0xBBBB_BBBB), at: GPA(64 * kib))
        #expect(try m.load(UInt32.self, at: GPA(0)) == 0xAAAA_AAAA)
        #expect(try m.load(UInt32.self, at: GPA(64 * kib)) == 0xBBBB_BBBB)
    }
}

@Suite("GuestPhysicalMemory: acquire/release")
struct AtomicAccessTests {
    @Test func roundTripAndVisibleToPlainLoads() throws {
        let m = try makeMemory([(0, 4 * kib)])
        try m.storeRelease(0xCAFE_F00D, at: GPA(0x40))
        #expect(try m.loadAcquire(UInt32.self, at: GPA(0x40)) == 0xCAFE_F00D)
        #expect(try m.load(UInt32.self, at: GPA(0x40)) == 0xCAFE_F00D)
        #expect(try m.read(at: GPA(0x40), count: 4) == [0x0D, 0xF0, 0xFE, 0xCA])
        try m.store(UInt32(7), at: GPA(0x44))
        #expect(try m.loadAcquire(UInt32.self, at: GPA(0x44)) == 7)
    }

    @Test func lastWordOfARegion() throws {
        let m = try makeMemory([(0, 4 * kib)])
        try m.storeRelease(1, at: GPA(0xFFC))
        #expect(try m.loadAcquire(UInt32.self, at: GPA(0xFFC)) == 1)
        #expect(throws: MemoryFault(address: 0x1000, reason: .unbacked)) {
            try m.loadAcquire(UInt32.self, at: GPA(0x1000))
        }
    }

    @Test(arguments: [UInt64(1), 2, 3, 0x1002])
    func misalignedIsRejected(_ addr: UInt64) throws {
        let m = try makeMemory([(0, 8 * kib)])
        #expect(throws: MemoryFault(address: addr, reason: .protection)) { try m.loadAcquire(UInt32.self, at: GPA(addr)) }
        #expect(throws: MemoryFault(address: addr, reason: .protection)) { try m.storeRelease(1, at: GPA(addr)) }
    }

    @Test func unbackedAndOverflow() throws {
        let m = try makeMemory([(0, 4 * kib)])
        #expect(throws: MemoryFault(address: 0x10_0000, reason: .unbacked)) { try m.storeRelease(1, at: GPA(0x10_0000)) }
        #expect(throws: MemoryFault(address: 0xFFFF_FFFF_FFFF_FFFC, reason: .overflow)) {
            try m.loadAcquire(UInt32.self, at: GPA(0xFFFF_FFFF_FFFF_FFFC))
        }
    }

    /// Message passing: data written before a release store is seen by the reader that
    /// acquire-loads the flag (a ring producer and consumer).
    @Test func releaseAcquirePublishesData() async throws {
        let m = try makeMemory([(0, 4 * kib)])
        let rounds: UInt32 = 2000
        let producer = Task.detached {
            for i in 1...rounds {
                // Wait for the consumer to take the previous message.
                while try m.loadAcquire(UInt32.self, at: GPA(0x100)) != i - 1 { await Task.yield() }
                try m.store(UInt64(i) &* 0x9E37_79B9_7F4A_7C15, at: GPA(0x200))
                try m.storeRelease(i, at: GPA(0))
            }
        }
        for i in 1...rounds {
            while try m.loadAcquire(UInt32.self, at: GPA(0)) != i { await Task.yield() }
            #expect(try m.load(UInt64.self, at: GPA(0x200)) == UInt64(i) &* 0x9E37_79B9_7F4A_7C15)
            try m.storeRelease(i, at: GPA(0x100))
        }
        try await producer.value
    }
}
