/// Overflow-checked arithmetic and bounds-checked slicing for untrusted ELF input. Every offset
/// and size in an image passes through these before it indexes an array.

/// Namespaced so it cannot collide with helpers elsewhere in the module.
enum BuildMath {
    /// `a + b`, or nil on overflow.
    static func add(_ a: UInt64, _ b: UInt64) -> UInt64? {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : sum
    }

    /// `a * b`, or nil on overflow.
    static func mul(_ a: UInt64, _ b: UInt64) -> UInt64? {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? nil : product
    }

    /// `value` rounded up to `alignment` (a power of two), or nil on overflow.
    static func alignUp(_ value: UInt64, _ alignment: UInt64) -> UInt64? {
        guard let sum = add(value, alignment - 1) else { return nil }
        return sum & ~(alignment - 1)
    }
}

/// The bytes of an ELF file, read only through ranges proven to lie inside it.
struct ELFBytes {
    let bytes: [UInt8]

    var length: UInt64 { UInt64(bytes.count) }

    /// `[offset, offset+count)` as array indexes, or nil if it overflows or leaves the file.
    func range(offset: UInt64, count: UInt64) -> Range<Int>? {
        guard let end = BuildMath.add(offset, count), end <= length else { return nil }
        // Both fit in Int: end <= bytes.count.
        return Int(offset)..<Int(end)
    }

    /// A copy of `[offset, offset+count)`, or nil if it leaves the file.
    func record(offset: UInt64, count: Int) -> [UInt8]? {
        guard count >= 0, let r = range(offset: offset, count: UInt64(count)) else { return nil }
        return Array(bytes[r])
    }
}
