import Testing
@testable import GuestMemory
import XenABI

/// Long-mode tables at 0x10_0000 in RAM [0, 4 MiB). Virtual 0x40_0000 and 0x40_1000 are adjacent;
/// their frames are not, and in reverse order: 0x8000 and 0x3000.
@Suite("GuestVirtualMemory")
struct GuestVirtualMemoryTests {
    static let first: UInt64 = 0x40_0000
    static let second: UInt64 = 0x40_1000

    static func make(secondFlags: UInt64? = X86.P | X86.W, secondFrame: UInt64 = 0x3000,
                     wp: Bool = true) throws -> GuestVirtualMemory {
        let m = try makeMemory([(0, 4 * mib)])
        let t = PageTables(memory: m, levels: 4, at: 0x10_0000)
        try t.map(first, to: 0x8000)
        if let secondFlags { try t.map(second, to: secondFrame, flags: secondFlags) }
        return GuestVirtualMemory(physical: m, translator: X86PageWalker(memory: m, state: X86.long(cr3: 0x10_0000, wp: wp)))
    }

    @Test func copyOutSplitsAtThePageBoundary() throws {
        let v = try Self.make()
        let data: [UInt8] = Array(1...16)
        try v.copyOut(data, to: GVA(Self.first + 0xFF8))
        #expect(try v.physical.read(at: GPA(0x8FF8), count: 8) == Array(1...8))
        #expect(try v.physical.read(at: GPA(0x3000), count: 8) == Array(9...16))
        // Nothing spilled into the physically adjacent frames.
        #expect(try v.physical.read(at: GPA(0x9000), count: 8) == [UInt8](repeating: 0, count: 8))
        #expect(try v.physical.read(at: GPA(0x2FF8), count: 8) == [UInt8](repeating: 0, count: 8))
    }

    @Test func copyInGathersAcrossThePageBoundary() throws {
        let v = try Self.make()
        try v.physical.write([0xA, 0xB, 0xC], at: GPA(0x8FFD))
        try v.physical.write([0xD, 0xE], at: GPA(0x3000))
        #expect(try v.copyIn(GVA(Self.first + 0xFFD), count: 5) == [0xA, 0xB, 0xC, 0xD, 0xE])
        #expect(try v.load(UInt32.self, at: GVA(Self.first + 0xFFE)) == 0x0E0D_0C0B)
    }

    @Test func largeCopyRoundTrip() throws {
        let v = try Self.make()
        let data = (0..<6000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try v.copyOut(data, to: GVA(Self.first + 0x100))
        #expect(try v.copyIn(GVA(Self.first + 0x100), count: data.count) == data)
        #expect(try v.physical.read(at: GPA(0x3000), count: 6000 - 0xF00) == Array(data[0xF00...]))
    }

    @Test func structsAcrossThePageBoundary() throws {
        let v = try Self.make()
        let p = XenHVMParam(domid: DomainID(3), index: HVMParam.storeEvtchn, value: 0x1122_3344_5566_7788)
        try v.copyOut(p, to: GVA(Self.first + 0xFFA))
        #expect(try v.copyIn(XenHVMParam.self, from: GVA(Self.first + 0xFFA)) == p)
        #expect(try v.physical.load(UInt64.self, at: GPA(0x3002)) == 0x1122_3344_5566_7788)
    }

    @Test func copyOutFaultingOnTheSecondPageWritesNothing() throws {
        let cases: [(GuestVirtualMemory, MemoryFault.Reason)] = [
            (try Self.make(secondFlags: nil), .notMapped(level: 1)),
            (try Self.make(secondFlags: X86.P), .protection),
            (try Self.make(secondFrame: 0x8000_0000), .unbacked),
        ]
        for (v, reason) in cases {
            #expect(performing: { try v.copyOut([UInt8](repeating: 0xFF, count: 16), to: GVA(Self.first + 0xFF8)) },
                    throws: { ($0 as? MemoryFault)?.reason == reason })
            #expect(try v.physical.read(at: GPA(0x8FF8), count: 8) == [UInt8](repeating: 0, count: 8), "\(reason)")
        }
    }

    @Test func readOnlySecondPageIsWritableWithoutWP() throws {
        let v = try Self.make(secondFlags: X86.P, wp: false)
        try v.copyOut([1, 2, 3, 4], to: GVA(Self.first + 0xFFE))
        #expect(try v.physical.read(at: GPA(0x3000), count: 2) == [3, 4])
    }

    @Test func copyInFaultsOnTheSecondPage() throws {
        let v = try Self.make(secondFlags: nil)
        #expect(throws: MemoryFault(address: Self.second, reason: .notMapped(level: 1))) {
            try v.copyIn(GVA(Self.first + 0xFFC), count: 8)
        }
        // Reads of a read-only page are fine.
        let ro = try Self.make(secondFlags: X86.P)
        #expect(try ro.copyIn(GVA(Self.first + 0xFFC), count: 8) == [UInt8](repeating: 0, count: 8))
    }

    @Test func emptyAndOverflowingCopies() throws {
        let v = try Self.make()
        #expect(try v.copyIn(GVA(0xDEAD_0000_0000), count: 0) == [])
        try v.copyOut([], to: GVA(0xDEAD_0000_0000))
        #expect(throws: MemoryFault(address: 0xFFFF_FFFF_FFFF_FFF0, reason: .overflow)) {
            try v.copyIn(GVA(0xFFFF_FFFF_FFFF_FFF0), count: 0x20)
        }
        #expect(throws: MemoryFault(address: 0xFFFF_FFFF_FFFF_FFF0, reason: .overflow)) {
            try v.copyOut([UInt8](repeating: 0, count: 0x20), to: GVA(0xFFFF_FFFF_FFFF_FFF0))
        }
        #expect(throws: MemoryFault(address: 0, reason: .overflow)) { try v.copyIn(GVA(0), count: -1) }
        #expect(throws: MemoryFault(address: 0x8000_0000_0000, reason: .nonCanonical)) {
            try v.copyIn(GVA(0x8000_0000_0000), count: 1)
        }
    }

    @Test func identityTranslatorOverPhysicalMemory() throws {
        let m = try makeMemory([(0, 8 * kib)])
        let v = GuestVirtualMemory(physical: m, translator: IdentityTranslator())
        try v.copyOut([1, 2, 3, 4], to: GVA(0xFFE))
        #expect(try m.read(at: GPA(0xFFE), count: 4) == [1, 2, 3, 4])
        #expect(throws: MemoryFault(address: 0x2000, reason: .unbacked)) { try v.copyOut([1, 2, 3], to: GVA(0x1FFE)) }
        #expect(try m.read(at: GPA(0x1FFE), count: 2) == [0, 0])
    }
}
