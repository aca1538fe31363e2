/// Typed identifiers: never bare integers across a module boundary (STYLE.md).

/// `domid_t`.
public struct DomainID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var raw: UInt16
    public init(_ raw: UInt16) { self.raw = raw }
    public static func < (a: Self, b: Self) -> Bool { a.raw < b.raw }
    public var description: String { "d\(raw)" }

    /// `DOMID_FIRST_RESERVED` and the special ids above it (xen.h).
    public static let firstReserved = DomainID(0x7FF0)
    public static let domidSelf = DomainID(0x7FF0)
    public static let io = DomainID(0x7FF1)
    public static let xen = DomainID(0x7FF2)
    public static let cow = DomainID(0x7FF3)
    public static let invalid = DomainID(0x7FF4)
    public static let idle = DomainID(0x7FFF)
    public static let control = DomainID(0)
    public var isReserved: Bool { raw >= Self.firstReserved.raw }
}

public struct VCPUID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var raw: UInt32
    public init(_ raw: UInt32) { self.raw = raw }
    public static func < (a: Self, b: Self) -> Bool { a.raw < b.raw }
    public var description: String { "v\(raw)" }
}

/// `evtchn_port_t`.
public struct EvtchnPort: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var raw: UInt32
    public init(_ raw: UInt32) { self.raw = raw }
    public static func < (a: Self, b: Self) -> Bool { a.raw < b.raw }
    public var description: String { "port \(raw)" }
}

/// `grant_ref_t`.
public struct GrantRef: Hashable, Comparable, Sendable {
    public var raw: UInt32
    public init(_ raw: UInt32) { self.raw = raw }
    public static func < (a: Self, b: Self) -> Bool { a.raw < b.raw }
}

public let xenPageShift: UInt64 = 12
public let xenPageSize: UInt64 = 1 << 12

/// A guest frame number (`xen_pfn_t` in a translated guest).
public struct GFN: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var raw: UInt64
    public init(_ raw: UInt64) { self.raw = raw }
    public static func < (a: Self, b: Self) -> Bool { a.raw < b.raw }
    public var address: GPA { GPA(raw << xenPageShift) }
    public var description: String { "gfn 0x" + String(raw, radix: 16) }
}

/// A guest-physical address.
public struct GPA: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var raw: UInt64
    public init(_ raw: UInt64) { self.raw = raw }
    public static func < (a: Self, b: Self) -> Bool { a.raw < b.raw }
    public var frame: GFN { GFN(raw >> xenPageShift) }
    public var pageOffset: UInt64 { raw & (xenPageSize - 1) }
    public func advanced(by n: UInt64) -> GPA { GPA(raw &+ n) }
    public var description: String { "gpa 0x" + String(raw, radix: 16) }
}

/// A guest-virtual address, as a guest passes hypercall pointers.
public struct GVA: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var raw: UInt64
    public init(_ raw: UInt64) { self.raw = raw }
    public static func < (a: Self, b: Self) -> Bool { a.raw < b.raw }
    public func advanced(by n: UInt64) -> GVA { GVA(raw &+ n) }
    public var description: String { "gva 0x" + String(raw, radix: 16) }
}

/// The guest's instruction set, a run-time value (DESIGN.md principle 2: no `#if arch` in the core).
public enum GuestArch: String, Sendable {
    case x86_64
    case aarch64
}
