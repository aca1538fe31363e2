/// Little-endian field access on byte arrays. Every ABI struct is encoded and decoded field by
/// field at its C offset, so Swift's own layout never leaks into the guest ABI and the same code
/// serves any guest architecture.
extension Array where Element == UInt8 {
    @inlinable
    public func le<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, at offset: Int) -> T {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count, "ABI field out of range")
        var value: T = 0
        for i in (0..<MemoryLayout<T>.size).reversed() {
            value = (value << 8) | T(self[offset + i])
        }
        return value
    }

    @inlinable
    public mutating func setLE<T: FixedWidthInteger & UnsignedInteger>(_ value: T, at offset: Int) {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count, "ABI field out of range")
        var v = value
        for i in 0..<MemoryLayout<T>.size {
            self[offset + i] = UInt8(truncatingIfNeeded: v)
            v >>= 8
        }
    }

    /// Writes `string` as a NUL-padded C char array of `length` bytes (always NUL-terminated).
    public mutating func setCString(_ string: String, at offset: Int, length: Int) {
        let utf8 = Array(string.utf8.prefix(length - 1))
        for i in 0..<length { self[offset + i] = i < utf8.count ? utf8[i] : 0 }
    }

    /// Reads a NUL-terminated C string of at most `length` bytes.
    public func cString(at offset: Int, length: Int) -> String {
        let slice = self[offset..<(offset + length)]
        let end = slice.firstIndex(of: 0) ?? slice.endIndex
        return String(decoding: self[offset..<end], as: UTF8.self)
    }
}

/// A fixed-size ABI struct with an exact C layout.
public protocol XenStruct {
    /// `sizeof` the C struct.
    static var size: Int { get }
    init(bytes: [UInt8])
    var bytes: [UInt8] { get }
}
