import Testing
@testable import GuestMemory
import XenABI

@Suite("X86PageWalker: paging off")
struct PagingOffTests {
    @Test(arguments: [UInt64(0), 0x1234, 0xFFFF_FFFF, 0x1_2345_6789, UInt64.max])
    func identityTruncatedTo32Bits(_ va: UInt64) throws {
        // No memory at all: with paging off nothing is read.
        let m = GuestPhysicalMemory()
        for cr0 in [UInt64(0), X86.cr0PE, X86.cr0PE | X86.cr0WP] {
            let s = X86PagingState(cr0: cr0, cr3: 0xDEAD_B000, cr4: X86.cr4PAE, efer: 0)
            #expect(try translate(s, in: m, va) == va & 0xFFFF_FFFF)
            #expect(try translate(s, in: m, va, write: true) == va & 0xFFFF_FFFF)
        }
    }

    @Test func identityTranslator() throws {
        #expect(try IdentityTranslator().translate(GVA(0xFFFF_8000_0000_1234), write: true) == GPA(0xFFFF_8000_0000_1234))
    }
}

/// Legacy two-level 32-bit paging: PD at 0x10000, PT at 0x11000.
@Suite("X86PageWalker: 32-bit paging")
struct LegacyPagingTests {
    static let pd: UInt64 = 0x1_0000
    static let pt: UInt64 = 0x1_1000

    static func memory() throws -> GuestPhysicalMemory {
        let m = try makeMemory([(0, 4 * mib)])
        func pde(_ i: UInt64, _ v: UInt32) throws { try m.store(v, at: GPA(pd + i * 4)) }
        func pte(_ table: UInt64, _ i: UInt64, _ v: UInt32) throws { try m.store(v, at: GPA(table + i * 4)) }
        // 0x0040_0000..: a 4 KiB page table.
        try pde(1, UInt32(pt) | 0x3)
        try pte(pt, 3, 0x0020_5000 | 0x3)          // va 0x0040_3000 -> 0x0020_5000, writable
        try pte(pt, 5, 0x0020_6000 | 0x1)          // va 0x0040_5000 -> 0x0020_6000, read-only
        // 0x0080_0000..: PD entry read-only, PT entry writable.
        try pde(2, 0x1_3000 | 0x1)
        try pte(0x1_3000, 0, 0x0030_0000 | 0x3)
        // 0x00C0_0000..: page table in unbacked memory.
        try pde(3, 0x2000_0000 | 0x3)
        // 0x8000_0000: a 4 MiB page at 0x0C00_0000.
        try pde(0x200, 0x0C00_0000 | 0x83)
        // 0x8040_0000: a 4 MiB page above 4 GiB (PSE-36: bits 20:13 hold address bits 39:32).
        try pde(0x201, 0x0C40_0000 | (0x01 << 13) | 0x83)
        // 0x8080_0000: PS set, with a base whose low bits also make a valid page-table address.
        // (0x1000: PDE bits 20:13 are clear, so as a 4 MiB page it means physical 0.)
        try pde(0x202, 0x1000 | 0x83)
        try pte(0x1000, 0, 0x0033_3000 | 0x3)
        // 0x80C0_0000: a read-only 4 MiB page.
        try pde(0x203, 0x0D00_0000 | 0x81)
        return m
    }

    @Test func fourKiBPage() throws {
        let m = try Self.memory()
        let s = X86.legacy(cr3: Self.pd)
        #expect(try translate(s, in: m, 0x0040_3123) == 0x0020_5123)
        #expect(try translate(s, in: m, 0x0040_3FFF, write: true) == 0x0020_5FFF)
        // Only the low 32 bits of a virtual address exist in 32-bit mode.
        #expect(try translate(s, in: m, 0xFFFF_FFFF_0040_3123) == 0x0020_5123)
        // CR3's low 12 bits (PCD, PWT) are not part of the address.
        #expect(try translate(X86.legacy(cr3: Self.pd | 0x18), in: m, 0x0040_3123) == 0x0020_5123)
    }

    @Test func fourMiBPages() throws {
        let m = try Self.memory()
        let s = X86.legacy(cr3: Self.pd)
        #expect(try translate(s, in: m, 0x8012_3456) == 0x0C12_3456)
        #expect(try translate(s, in: m, 0x803F_FFFF) == 0x0C3F_FFFF)
        #expect(try translate(s, in: m, 0x8050_0001) == 0x1_0C50_0001)
        #expect(try translate(s, in: m, 0x8080_0123) == 0x0000_0123)
    }

    @Test func psIsIgnoredWithoutCR4PSE() throws {
        let m = try Self.memory()
        let s = X86.legacy(cr3: Self.pd, pse: false)
        // The PDE is followed as a page-table pointer instead.
        #expect(try translate(s, in: m, 0x8080_0123) == 0x0033_3123)
    }

    @Test func notPresent() throws {
        let m = try Self.memory()
        let s = X86.legacy(cr3: Self.pd)
        #expect(throws: MemoryFault(address: 0xC000_0000, reason: .notMapped(level: 2))) {
            try translate(s, in: m, 0xC000_0000)
        }
        #expect(throws: MemoryFault(address: 0x0040_4010, reason: .notMapped(level: 1))) {
            try translate(s, in: m, 0x0040_4010)
        }
    }

    @Test func readOnlyPages() throws {
        let m = try Self.memory()
        let wp = X86.legacy(cr3: Self.pd)
        let noWP = X86.legacy(cr3: Self.pd, wp: false)
        for va: UInt64 in [0x0040_5008, 0x0080_0010, 0x80C0_0004] {
            #expect(throws: MemoryFault(address: va, reason: .protection)) { try translate(wp, in: m, va, write: true) }
            #expect(throws: Never.self) { try translate(wp, in: m, va) }
            #expect(throws: Never.self) { try translate(noWP, in: m, va, write: true) }
        }
        #expect(try translate(noWP, in: m, 0x0040_5008, write: true) == 0x0020_6008)
        #expect(try translate(noWP, in: m, 0x80C0_0004, write: true) == 0x0D00_0004)
    }

    @Test func tablesInUnbackedMemoryFault() throws {
        let m = try Self.memory()
        #expect(throws: MemoryFault(address: 0x2000_0000 + 4, reason: .unbacked)) {
            try translate(X86.legacy(cr3: Self.pd), in: m, 0x00C0_1000)
        }
        #expect(throws: MemoryFault(address: 0x4000_0000 + 0x200 * 4, reason: .unbacked)) {
            try translate(X86.legacy(cr3: 0x4000_0000), in: m, 0x8000_0000)
        }
    }
}

/// PAE: the PDPT at 0x10020 (32-byte aligned, not page aligned), tables allocated from 0x20000.
@Suite("X86PageWalker: PAE paging")
struct PAEPagingTests {
    static let pdpt: UInt64 = 0x1_0020

    static func tables() throws -> PageTables {
        let m = try makeMemory([(0, 4 * mib)])
        // Something non-zero in the PDPT page before the PDPT, so a wrong base shows.
        try m.store(UInt64(0x3F_F000 | 0x1), at: GPA(0x1_0000))
        let t = PageTables(memory: m, levels: 3, pae: true, at: 0x2_0000, root: pdpt)
        try t.map(0x0040_3000, to: 0x0020_5000)
        try t.map(0x0040_5000, to: 0x0020_6000, flags: X86.P)
        // 2 MiB page above 4 GiB, with the PAT bit (12) set in the entry.
        try t.map(0x8020_0000, to: 0x1_4000_0000 | (1 << 12), leafLevel: 2)
        try t.map(0x8060_0000, to: 0x0060_0000, leafLevel: 2, flags: X86.P)
        try t.map(0x4020_0000, to: 0x0020_0000, leafLevel: 2)
        return t
    }

    @Test func fourKiBPage() throws {
        let t = try Self.tables()
        let s = X86.pae(cr3: Self.pdpt)
        #expect(try translate(s, in: t.memory, 0x0040_3123, write: true) == 0x0020_5123)
        #expect(try translate(s, in: t.memory, 0xFFFF_FFFF_0040_3123) == 0x0020_5123)
    }

    @Test func twoMiBPage() throws {
        let t = try Self.tables()
        let s = X86.pae(cr3: Self.pdpt)
        #expect(try translate(s, in: t.memory, 0x8021_2345) == 0x1_4001_2345)
        #expect(try translate(s, in: t.memory, 0x803F_FFFF) == 0x1_401F_FFFF)
    }

    @Test func notPresentAtEachLevel() throws {
        let t = try Self.tables()
        let s = X86.pae(cr3: Self.pdpt)
        #expect(throws: MemoryFault(address: 0xC000_0000, reason: .notMapped(level: 3))) {
            try translate(s, in: t.memory, 0xC000_0000)
        }
        #expect(throws: MemoryFault(address: 0x4000_0000, reason: .notMapped(level: 2))) {
            try translate(s, in: t.memory, 0x4000_0000)
        }
        #expect(throws: MemoryFault(address: 0x0040_4000, reason: .notMapped(level: 1))) {
            try translate(s, in: t.memory, 0x0040_4000)
        }
    }

    @Test func readOnlyPages() throws {
        let t = try Self.tables()
        for va: UInt64 in [0x0040_5000, 0x8060_0010] {
            #expect(throws: MemoryFault(address: va, reason: .protection)) {
                try translate(X86.pae(cr3: Self.pdpt), in: t.memory, va, write: true)
            }
            #expect(throws: Never.self) { try translate(X86.pae(cr3: Self.pdpt), in: t.memory, va) }
            #expect(throws: Never.self) { try translate(X86.pae(cr3: Self.pdpt, wp: false), in: t.memory, va, write: true) }
        }
    }

    @Test func tablesInUnbackedMemoryFault() throws {
        let t = try Self.tables()
        #expect(throws: MemoryFault(address: 0x8000_0000, reason: .unbacked)) {
            try translate(X86.pae(cr3: 0x8000_0000), in: t.memory, 0x1000)
        }
        // A PDPTE whose page directory is not backed.
        try t.memory.store(UInt64(0x9000_0000 | 0x1), at: GPA(Self.pdpt + 3 * 8))
        #expect(throws: MemoryFault(address: 0x9000_0000 + 8, reason: .unbacked)) {
            try translate(X86.pae(cr3: Self.pdpt), in: t.memory, 0xC020_0000)
        }
    }
}

@Suite("X86PageWalker: 4-level long mode")
struct LongModeTests {
    static func tables() throws -> PageTables {
        let m = try makeMemory([(0, 4 * mib)])
        let t = PageTables(memory: m, levels: 4, at: 0x10_0000)
        try t.map(0x40_1000, to: 0x30_5000)
        try t.map(0x40_3000, to: 0x30_6000, flags: X86.P)                  // read-only
        try t.map(0xFFFF_8000_0010_0000, to: 0x20_0000)                      // higher half
        try t.map(0xFFFF_FFFF_8020_0000, to: 0x4000_0000 | (1 << 12), leafLevel: 2)  // PAT bit
        try t.map(0x80_0000_0000, to: 0x1_C000_0000, leafLevel: 3)           // 1 GiB
        try t.map(0x80_4000_0000, to: 0x2_0000_0000, leafLevel: 3, flags: X86.P)
        try t.map(0x40_5000, to: 0x30_7000, flags: X86.P | X86.W | X86.NX | (0x7FF << 52))
        return t
    }
    static let s = X86.long(cr3: 0x10_0000)

    @Test func pagesOfEachSize() throws {
        let m = try Self.tables().memory
        #expect(try translate(Self.s, in: m, 0x40_1123, write: true) == 0x30_5123)
        #expect(try translate(Self.s, in: m, 0xFFFF_8000_0010_0ABC) == 0x20_0ABC)
        #expect(try translate(Self.s, in: m, 0xFFFF_FFFF_8021_2345) == 0x4001_2345)
        #expect(try translate(Self.s, in: m, 0x80_1234_5678) == 0x1_D234_5678)
        #expect(try translate(Self.s, in: m, 0x80_3FFF_FFFF) == 0x1_FFFF_FFFF)
    }

    @Test func nonAddressBitsDoNotLeak() throws {
        let m = try Self.tables().memory
        // NX, protection-key and available bits in the entry; PCID in CR3.
        #expect(try translate(Self.s, in: m, 0x40_5010) == 0x30_7010)
        #expect(try translate(X86.long(cr3: 0x10_0000 | 0x5), in: m, 0x40_1123) == 0x30_5123)
    }

    @Test(arguments: [UInt64(0x0000_8000_0000_0000), 0xFFFF_7FFF_FFFF_F000, 0x0001_0000_0000_0000,
                      0x8000_0000_0000_0000, 0x00AB_CDEF_1234_5678])
    func nonCanonical(_ va: UInt64) throws {
        let m = try Self.tables().memory
        #expect(throws: MemoryFault(address: va, reason: .nonCanonical)) { try translate(Self.s, in: m, va) }
    }

    @Test func canonicalEdges() throws {
        let m = try Self.tables().memory
        // The last lower-half and first upper-half addresses are canonical (and unmapped here).
        #expect(throws: MemoryFault(address: 0x7FFF_FFFF_FFFF, reason: .notMapped(level: 4))) {
            try translate(Self.s, in: m, 0x7FFF_FFFF_FFFF)
        }
        #expect(throws: MemoryFault(address: 0xFFFF_8000_0000_0000, reason: .notMapped(level: 1))) {
            try translate(Self.s, in: m, 0xFFFF_8000_0000_0000)
        }
    }

    @Test func notPresentAtEachLevel() throws {
        let m = try Self.tables().memory
        let cases: [(UInt64, Int)] = [(0x7F00_0000_0000, 4), (0x40_0000_0000, 3), (0x80_0000, 2), (0x40_2000, 1)]
        for (va, level) in cases {
            #expect(throws: MemoryFault(address: va, reason: .notMapped(level: level))) {
                try translate(Self.s, in: m, va)
            }
        }
    }

    @Test func readOnlyLeafWithAndWithoutWP() throws {
        let m = try Self.tables().memory
        #expect(throws: MemoryFault(address: 0x40_3008, reason: .protection)) {
            try translate(Self.s, in: m, 0x40_3008, write: true)
        }
        #expect(try translate(Self.s, in: m, 0x40_3008) == 0x30_6008)
        #expect(try translate(X86.long(cr3: 0x10_0000, wp: false), in: m, 0x40_3008, write: true) == 0x30_6008)
        // A read-only 1 GiB page.
        #expect(throws: MemoryFault(address: 0x80_4000_0000, reason: .protection)) {
            try translate(Self.s, in: m, 0x80_4000_0000, write: true)
        }
    }

    @Test(arguments: [4, 3, 2])
    func readOnlyUpperLevelMakesTheWholeRangeReadOnly(_ level: Int) throws {
        let t = try Self.tables()
        try t.update(0x40_1000, level: level, clear: X86.W)
        #expect(throws: MemoryFault(address: 0x40_1000, reason: .protection)) {
            try translate(Self.s, in: t.memory, 0x40_1000, write: true)
        }
        #expect(try translate(Self.s, in: t.memory, 0x40_1000) == 0x30_5000)
        #expect(try translate(X86.long(cr3: 0x10_0000, wp: false), in: t.memory, 0x40_1000, write: true) == 0x30_5000)
    }

    @Test func psInAPML4EntryIsReserved() throws {
        let t = try Self.tables()
        try t.update(0x40_1000, level: 4, set: X86.PS)
        #expect(throws: MemoryFault(address: 0x40_1000, reason: .protection)) {
            try translate(Self.s, in: t.memory, 0x40_1000)
        }
    }

    @Test func tablesInUnbackedMemoryFault() throws {
        let t = try Self.tables()
        #expect(throws: MemoryFault(address: 0x1_0000_0000, reason: .unbacked)) {
            try translate(X86.long(cr3: 0x1_0000_0000), in: t.memory, 0x40_1000)
        }
        // Point the PDPT entry for 0x40_1000 at a page directory nobody backs.
        try t.update(0x40_1000, level: 3, clear: 0x000F_FFFF_FFFF_F000, set: 0x8000_0000)
        #expect(throws: MemoryFault(address: 0x8000_0000 + 2 * 8, reason: .unbacked)) {
            try translate(Self.s, in: t.memory, 0x40_1000)
        }
        // The very top of the physical address space (52 bits) still faults, never traps.
        try t.update(0x40_1000, level: 3, clear: 0x000F_FFFF_FFFF_F000, set: 0x000F_FFFF_FFFF_F000)
        #expect(throws: MemoryFault(address: 0x000F_FFFF_FFFF_F000 + 2 * 8, reason: .unbacked)) {
            try translate(Self.s, in: t.memory, 0x40_1000)
        }
    }
}

@Suite("X86PageWalker: 5-level long mode (LA57)")
struct FiveLevelTests {
    static func tables() throws -> PageTables {
        let m = try makeMemory([(0, 4 * mib)])
        let t = PageTables(memory: m, levels: 5, at: 0x10_0000)
        try t.map(0x00AB_CDEF_1234_5000, to: 0x20_0000)
        try t.map(0xFF00_0000_0000_0000, to: 0x60_0000, leafLevel: 2)
        try t.map(0x0000_0000_0040_0000, to: 0x4000_0000, leafLevel: 3)
        return t
    }
    static let s = X86.long(cr3: 0x10_0000, la57: true)

    @Test func translates() throws {
        let m = try Self.tables().memory
        #expect(try translate(Self.s, in: m, 0x00AB_CDEF_1234_5678) == 0x20_0678)
        #expect(try translate(Self.s, in: m, 0xFF00_0000_0001_2345) == 0x61_2345)
        #expect(try translate(Self.s, in: m, 0x0000_0000_0040_0123) == 0x4040_0123)
    }

    @Test func fourLevelRulesNoLongerApply() throws {
        let m = try Self.tables().memory
        // Canonical under 57 bits but not under 48.
        #expect(throws: MemoryFault(address: 0x00AB_CDEF_1234_5678, reason: .nonCanonical)) {
            try translate(X86.long(cr3: 0x10_0000), in: m, 0x00AB_CDEF_1234_5678)
        }
    }

    @Test(arguments: [UInt64(0x0100_0000_0000_0000), 0xFE00_0000_0000_0000, 0x8000_0000_0000_0000])
    func nonCanonical(_ va: UInt64) throws {
        let m = try Self.tables().memory
        #expect(throws: MemoryFault(address: va, reason: .nonCanonical)) { try translate(Self.s, in: m, va) }
    }

    @Test func notPresentAtLevel5() throws {
        let m = try Self.tables().memory
        #expect(throws: MemoryFault(address: 0x0080_0000_0000_0000, reason: .notMapped(level: 5))) {
            try translate(Self.s, in: m, 0x0080_0000_0000_0000)
        }
        #expect(throws: MemoryFault(address: 0x00AB_CDEF_1234_6000, reason: .notMapped(level: 1))) {
            try translate(Self.s, in: m, 0x00AB_CDEF_1234_6000)
        }
    }

    @Test func psInAPML5EntryIsReserved() throws {
        let t = try Self.tables()
        try t.update(0x00AB_CDEF_1234_5000, level: 5, set: X86.PS)
        #expect(throws: MemoryFault(address: 0x00AB_CDEF_1234_5000, reason: .protection)) {
            try translate(Self.s, in: t.memory, 0x00AB_CDEF_1234_5000)
        }
    }

    @Test func readOnlyWithWP() throws {
        let t = try Self.tables()
        try t.update(0x00AB_CDEF_1234_5000, level: 5, clear: X86.W)
        #expect(throws: MemoryFault(address: 0x00AB_CDEF_1234_5000, reason: .protection)) {
            try translate(Self.s, in: t.memory, 0x00AB_CDEF_1234_5000, write: true)
        }
        #expect(try translate(X86.long(cr3: 0x10_0000, la57: true, wp: false), in: t.memory,
                              0x00AB_CDEF_1234_5000, write: true) == 0x20_0000)
    }
}
