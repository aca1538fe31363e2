import XenABI

/// A guest memory access that could not be completed. Guest-facing code turns it into -EFAULT.
public struct MemoryFault: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// No RAM or special page backs this guest-physical address.
        case unbacked
        /// The guest's page tables have no present mapping for this address.
        case notMapped(level: Int)
        /// The mapping exists but forbids the access (read-only for a write, reserved bits).
        case protection
        /// The address is not canonical for the guest's paging mode.
        case nonCanonical
        /// The request's length overflows the address space.
        case overflow
    }
    public var address: UInt64
    public var reason: Reason
    public init(address: UInt64, reason: Reason) {
        self.address = address
        self.reason = reason
    }
    public var description: String { "memory fault at 0x\(String(address, radix: 16)): \(reason)" }
}
