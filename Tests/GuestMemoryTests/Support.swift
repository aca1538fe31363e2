import Synchronization
import Testing
@testable import GuestMemory
import XenABI

let kib: UInt64 = 1 << 10
let mib: UInt64 = 1 << 20
let gib: UInt64 = 1 << 30

/// A memory with one RAM region per (start, size).
func makeMemory(_ ranges: [(UInt64, UInt64)]) throws -> GuestPhysicalMemory {
    let m = GuestPhysicalMemory()
    for (start, size) in ranges { try m.addRegion(at: GPA(start), size: size, kind: .ram) }
    return m
}

/// Collects region changes an observer hears, as "+start" / "-start" strings.
final class ChangeLog: Sendable {
    private let entries = Mutex<[String]>([])
    var all: [String] { entries.withLock { $0 } }
    func record(_ change: GuestPhysicalMemory.Change) {
        let s: String
        switch change {
        case .added(let r): s = "+0x" + String(r.start.raw, radix: 16)
        case .removed(let r): s = "-0x" + String(r.start.raw, radix: 16)
        }
        entries.withLock { $0.append(s) }
    }
}

struct ObserverFailure: Error {}

// MARK: x86 paging

enum X86 {
    static let cr0PE: UInt64 = 1 << 0
    static let cr0WP: UInt64 = 1 << 16
    static let cr0PG: UInt64 = 1 << 31
    static let cr4PSE: UInt64 = 1 << 4
    static let cr4PAE: UInt64 = 1 << 5
    static let cr4LA57: UInt64 = 1 << 12
    static let eferLME: UInt64 = 1 << 8
    static let eferLMA: UInt64 = 1 << 10

    static let P: UInt64 = 1 << 0
    static let W: UInt64 = 1 << 1
    static let U: UInt64 = 1 << 2
    static let PS: UInt64 = 1 << 7
    static let NX: UInt64 = 1 << 63

    /// Paging modes as a PVH guest's kernel sets them up (WP on, like Linux).
    static func legacy(cr3: UInt64, pse: Bool = true, wp: Bool = true) -> X86PagingState {
        X86PagingState(cr0: cr0PE | cr0PG | (wp ? cr0WP : 0), cr3: cr3, cr4: pse ? cr4PSE : 0, efer: 0)
    }
    static func pae(cr3: UInt64, wp: Bool = true) -> X86PagingState {
        X86PagingState(cr0: cr0PE | cr0PG | (wp ? cr0WP : 0), cr3: cr3, cr4: cr4PAE, efer: 0)
    }
    static func long(cr3: UInt64, la57: Bool = false, wp: Bool = true) -> X86PagingState {
        X86PagingState(cr0: cr0PE | cr0PG | (wp ? cr0WP : 0), cr3: cr3,
                       cr4: cr4PAE | (la57 ? cr4LA57 : 0), efer: eferLME | eferLMA)
    }
}

/// Builds 64-bit-entry page tables (long mode 4/5-level, or PAE) in guest memory, allocating
/// table pages from a bump pointer. Entries are written with `GuestPhysicalMemory.store`, so the
/// walker reads exactly what a guest kernel would have written.
final class PageTables {
    let memory: GuestPhysicalMemory
    /// CR3's address: the top-level table (PAE: the 32-byte PDPT).
    let root: UInt64
    /// Levels below CR3: 5, 4, or 3 for PAE (the PDPT counts as level 3).
    let levels: Int
    let pae: Bool
    private var next: UInt64

    init(memory: GuestPhysicalMemory, levels: Int, pae: Bool = false, at base: UInt64,
         root: UInt64? = nil) {
        self.memory = memory
        self.levels = levels
        self.pae = pae
        self.root = root ?? base
        next = root == nil ? base + xenPageSize : base
    }

    func allocate() -> UInt64 {
        defer { next += xenPageSize }
        return next
    }

    func entryAddress(table: UInt64, va: UInt64, level: Int) -> UInt64 {
        let shift = UInt64(12 + 9 * (level - 1))
        let mask: UInt64 = pae && level == 3 ? 3 : 0x1FF
        return table + ((va >> shift) & mask) * 8
    }

    /// Maps `va` to `pa` with a leaf at `leafLevel` (1: 4 KiB, 2: 2 MiB, 3: 1 GiB), creating
    /// intermediate tables with `tableFlags`.
    func map(_ va: UInt64, to pa: UInt64, leafLevel: Int = 1, flags: UInt64 = X86.P | X86.W,
             tableFlags: UInt64 = X86.P | X86.W) throws {
        var table = root
        var level = levels
        while level > leafLevel {
            let at = entryAddress(table: table, va: va, level: level)
            var entry = try memory.load(UInt64.self, at: GPA(at))
            if entry & X86.P == 0 {
                // PAE PDPTEs have no R/W (it is reserved): only P.
                entry = allocate() | (pae && level == 3 ? X86.P : tableFlags)
                try memory.store(entry, at: GPA(at))
            }
            table = entry & 0x000F_FFFF_FFFF_F000
            level -= 1
        }
        let leaf = pa | flags | (leafLevel > 1 ? X86.PS : 0)
        try memory.store(leaf, at: GPA(entryAddress(table: table, va: va, level: leafLevel)))
    }

    /// Address of the entry for `va` at `level`, following present entries from the root.
    func entry(for va: UInt64, level: Int) throws -> UInt64 {
        var table = root
        var l = levels
        while l > level {
            let e = try memory.load(UInt64.self, at: GPA(entryAddress(table: table, va: va, level: l)))
            table = e & 0x000F_FFFF_FFFF_F000
            l -= 1
        }
        return entryAddress(table: table, va: va, level: level)
    }

    /// Changes the entry for `va` at `level`: clears then sets bits.
    func update(_ va: UInt64, level: Int, clear: UInt64 = 0, set: UInt64 = 0) throws {
        let at = GPA(try entry(for: va, level: level))
        let e = try memory.load(UInt64.self, at: at)
        try memory.store((e & ~clear) | set, at: at)
    }
}

func translate(_ state: X86PagingState, in memory: GuestPhysicalMemory, _ va: UInt64,
               write: Bool = false) throws(MemoryFault) -> UInt64 {
    try X86PageWalker(memory: memory, state: state).translate(GVA(va), write: write).raw
}
