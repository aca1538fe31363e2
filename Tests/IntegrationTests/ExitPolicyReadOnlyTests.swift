import EngineKVM
import Testing

/// `ExitPolicy` for MMIO exits: a write to read-only memory (a `GNTMAP_readonly` grant mapping,
/// a `KVM_MEM_READONLY` slot) is discarded as Xen does for `p2m_grant_map_ro`; every other MMIO
/// access still crashes the domain. Pure policy, no /dev/kvm needed.
@Suite struct ExitPolicyReadOnlyTests {
    static let readOnly: ClosedRange<UInt64> = 0x4010_0000...0x4010_0FFF
    static func discards(_ gpa: UInt64) -> Bool { readOnly.contains(gpa) }

    @Test(arguments: [1, 2, 4, 8])
    func writesToReadOnlyMemoryAreDiscarded(_ length: Int) {
        for gpa: UInt64 in [0x4010_0000, 0x4010_0800, 0x4010_0FF8] {
            let exit = VMExit.mmio(address: gpa, length: length, isWrite: true, data: 0xDEAD_BEEF)
            #expect(ExitPolicy.action(for: exit, discardsWrites: Self.discards) == .discardWrite)
        }
    }

    @Test func otherMMIOStillCrashes() {
        // A read there cannot happen (KVM maps the slot for reads) and is not papered over.
        let read = VMExit.mmio(address: 0x4010_0000, length: 8, isWrite: false, data: 0)
        #expect(isCrash(ExitPolicy.action(for: read, discardsWrites: Self.discards)))
        // A write next to the read-only page: unbacked memory, as before.
        for gpa: UInt64 in [0x400F_FFFF, 0x4010_1000, 0] {
            let write = VMExit.mmio(address: gpa, length: 4, isWrite: true, data: 1)
            #expect(isCrash(ExitPolicy.action(for: write, discardsWrites: Self.discards)), "0x\(String(gpa, radix: 16))")
        }
        // Without read-only memory (the default), every MMIO write crashes.
        let write = VMExit.mmio(address: 0x4010_0000, length: 4, isWrite: true, data: 1)
        #expect(isCrash(ExitPolicy.action(for: write)))
    }

    private func isCrash(_ action: ExitAction) -> Bool {
        if case .crash = action { return true }
        return false
    }
}
