import XenABI

/// Turns a guest-virtual address into a guest-physical one, the way the guest's MMU would.
public protocol AddressTranslator: Sendable {
    func translate(_ gva: GVA, write: Bool) throws(MemoryFault) -> GPA
}

/// The x86 paging state needed to walk a guest's page tables.
public struct X86PagingState: Sendable, Equatable {
    public var cr0: UInt64
    public var cr3: UInt64
    public var cr4: UInt64
    public var efer: UInt64
    public init(cr0: UInt64, cr3: UInt64, cr4: UInt64, efer: UInt64) {
        self.cr0 = cr0; self.cr3 = cr3; self.cr4 = cr4; self.efer = efer
    }
    static let cr0PG: UInt64 = 1 << 31
    static let cr0WP: UInt64 = 1 << 16
    static let cr4PSE: UInt64 = 1 << 4
    static let cr4PAE: UInt64 = 1 << 5
    static let cr4LA57: UInt64 = 1 << 12
    static let eferLMA: UInt64 = 1 << 10
}

/// Walks x86 page tables in guest RAM: paging off (identity), 32-bit two-level (with PSE),
/// PAE three-level, and 4-/5-level long mode, with 2 MiB/4 MiB/1 GiB large pages.
/// Accesses are supervisor accesses, as hypercall arguments are.
public struct X86PageWalker: AddressTranslator {
    public let memory: GuestPhysicalMemory
    public let state: X86PagingState

    public init(memory: GuestPhysicalMemory, state: X86PagingState) {
        self.memory = memory
        self.state = state
    }

    static let present: UInt64 = 1 << 0
    static let writable: UInt64 = 1 << 1
    static let pageSize: UInt64 = 1 << 7
    static let addrMask: UInt64 = 0x000F_FFFF_FFFF_F000

    public func translate(_ gva: GVA, write: Bool) throws(MemoryFault) -> GPA {
        let s = state
        if s.cr0 & X86PagingState.cr0PG == 0 { return GPA(gva.raw & 0xFFFF_FFFF) }
        // A supervisor write to a read-only page faults only when CR0.WP is set.
        let checkWrite = write && (s.cr0 & X86PagingState.cr0WP != 0)
        if s.efer & X86PagingState.eferLMA != 0 {
            let levels = s.cr4 & X86PagingState.cr4LA57 != 0 ? 5 : 4
            let vaBits = levels == 5 ? 57 : 48
            let top = Int64(bitPattern: gva.raw << (64 - vaBits)) >> (64 - vaBits)
            guard UInt64(bitPattern: top) == gva.raw else {
                throw MemoryFault(address: gva.raw, reason: .nonCanonical)
            }
            return try walk64(gva.raw, table: s.cr3 & Self.addrMask, levels: levels, checkWrite: checkWrite)
        }
        let va = gva.raw & 0xFFFF_FFFF
        if s.cr4 & X86PagingState.cr4PAE != 0 {
            // PAE: CR3 points at 4 PDPTEs (32-byte aligned).
            let pdpte = try memory.load(UInt64.self, at: GPA((s.cr3 & 0xFFFF_FFE0) + ((va >> 30) & 3) * 8))
            guard pdpte & Self.present != 0 else { throw MemoryFault(address: va, reason: .notMapped(level: 3)) }
            return try walk64(va, table: pdpte & Self.addrMask, levels: 2, checkWrite: checkWrite)
        }
        // Legacy 32-bit paging.
        let pde = UInt64(try memory.load(UInt32.self, at: GPA((s.cr3 & 0xFFFF_F000) + ((va >> 22) & 0x3FF) * 4)))
        guard pde & Self.present != 0 else { throw MemoryFault(address: va, reason: .notMapped(level: 2)) }
        if checkWrite && pde & Self.writable == 0 { throw MemoryFault(address: va, reason: .protection) }
        if pde & Self.pageSize != 0 && s.cr4 & X86PagingState.cr4PSE != 0 {
            let base = (pde & 0xFFC0_0000) | ((pde >> 13) & 0xFF) << 32
            return GPA(base | (va & 0x3F_FFFF))
        }
        let pte = UInt64(try memory.load(UInt32.self, at: GPA((pde & 0xFFFF_F000) + ((va >> 12) & 0x3FF) * 4)))
        guard pte & Self.present != 0 else { throw MemoryFault(address: va, reason: .notMapped(level: 1)) }
        if checkWrite && pte & Self.writable == 0 { throw MemoryFault(address: va, reason: .protection) }
        return GPA((pte & 0xFFFF_F000) | (va & 0xFFF))
    }

    /// Walks `levels` levels of 64-bit entries (9 bits each) starting at `table`.
    private func walk64(_ va: UInt64, table: UInt64, levels: Int, checkWrite: Bool) throws(MemoryFault) -> GPA {
        var table = table
        var level = levels
        while level >= 1 {
            let shift = UInt64(12 + 9 * (level - 1))
            let index = (va >> shift) & 0x1FF
            let entry = try memory.load(UInt64.self, at: GPA(table + index * 8))
            guard entry & Self.present != 0 else { throw MemoryFault(address: va, reason: .notMapped(level: level)) }
            if checkWrite && entry & Self.writable == 0 { throw MemoryFault(address: va, reason: .protection) }
            // PS is reserved in PML4Es and PML5Es: the CPU faults (PFEC.RSVD), it does not follow it.
            if level >= 4 && entry & Self.pageSize != 0 { throw MemoryFault(address: va, reason: .protection) }
            if level == 1 || (entry & Self.pageSize != 0 && (level == 2 || level == 3)) {
                let pageMask: UInt64 = (1 << shift) - 1
                return GPA((entry & Self.addrMask & ~pageMask) | (va & pageMask))
            }
            table = entry & Self.addrMask
            level -= 1
        }
        throw MemoryFault(address: va, reason: .notMapped(level: 0))
    }
}

/// Identity translation: for guests with paging off and for tests.
public struct IdentityTranslator: AddressTranslator {
    public init() {}
    public func translate(_ gva: GVA, write: Bool) throws(MemoryFault) -> GPA { GPA(gva.raw) }
}
