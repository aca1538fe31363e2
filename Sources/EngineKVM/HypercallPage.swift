import XenABI

/// The hypercall page Petrel writes when the guest names its GPA in the hypercall MSR.
/// Each 32-byte slot is `mov eax, <nr>; out <port>, eax; ret`: this host's KVM has no Xen
/// support, so the call must leave the guest by a port write that exits to userspace.
/// `iret` (23) is PV-only and gets `ud2`, as in Xen's HVM page.
public enum HypercallPage {
    /// The I/O port the stubs write. Unused by PC hardware.
    public static let port: UInt16 = 0xEA

    public static func bytes() -> [UInt8] {
        var page = [UInt8](repeating: 0xCC, count: Int(xenPageSize))  // int3 padding
        for nr in 0..<hypercallSlotCount {
            let o = nr * hypercallSlotSize
            if nr == Int(HypercallNumber.iret.rawValue) {
                page[o] = 0x0F; page[o + 1] = 0x0B  // ud2
                continue
            }
            page[o] = 0xB8  // mov eax, imm32
            page[o + 1] = UInt8(nr & 0xFF); page[o + 2] = UInt8(nr >> 8); page[o + 3] = 0; page[o + 4] = 0
            page[o + 5] = 0xE7  // out imm8, eax
            page[o + 6] = UInt8(port)
            page[o + 7] = 0xC3  // ret
        }
        return page
    }
}
