// Byte strings for the xenbus client: `XsBytes` names bytes in identity-mapped memory (a
// string constant, a reply, a buffer) without copying them; `XsText` builds one in a buffer
// the caller owns (paths with numbers in them). No heap: Embedded Swift with fixed buffers.

/// `count` bytes at a guest-physical (= virtual, below 4 GiB) address. Views into XenBus's
/// reply and event pages are valid until the next XenBus call.
struct XsBytes {
    let address: UInt64
    let count: Int

    init(address: UInt64, count: Int) {
        precondition(count >= 0 && address &+ UInt64(count) <= identityMappedLimit)
        self.address = address
        self.count = count
    }

    /// A string constant (PetrelOS literals are ASCII, in the kernel image).
    init(_ s: StaticString) {
        self.init(address: UInt64(UInt(bitPattern: s.utf8Start)), count: s.utf8CodeUnitCount)
    }

    init(_ region: PhysRegion, count: Int) {
        precondition(count <= region.size)
        self.init(address: region.base, count: count)
    }

    static let empty = XsBytes(address: 0, count: 0)

    var region: PhysRegion { PhysRegion(base: address, size: count) }

    func byte(_ i: Int) -> UInt8 {
        precondition(i >= 0 && i < count)
        return petrel_load8(address + UInt64(i))
    }

    func prefix(_ n: Int) -> XsBytes { XsBytes(address: address, count: min(n, count)) }

    func dropFirst(_ n: Int) -> XsBytes {
        let k = min(n, count)
        return XsBytes(address: address + UInt64(k), count: count - k)
    }

    /// Without one trailing NUL, if there is one (replies that carry a C string).
    var trimmingNul: XsBytes { count > 0 && byte(count - 1) == 0 ? prefix(count - 1) : self }

    /// Same bytes (a string literal converts: `b.equals("data")`).
    func equals(_ other: XsBytes) -> Bool {
        guard other.count == count else { return false }
        for j in 0..<count where byte(j) != other.byte(j) { return false }
        return true
    }

    func hasPrefix(_ p: XsBytes) -> Bool { p.count <= count && prefix(p.count).equals(p) }

    /// All bytes equal `b`.
    func all(_ b: UInt8) -> Bool {
        for j in 0..<count where byte(j) != b { return false }
        return true
    }

    /// The decimal number these bytes spell, nil if they are not one (or overflow).
    var decimal: UInt64? {
        guard count > 0 else { return nil }
        var v: UInt64 = 0
        for j in 0..<count {
            let c = byte(j)
            guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(c - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            v = s
        }
        return v
    }

    /// The NUL-terminated strings in these bytes (a directory listing, permissions, a watch
    /// event), in order; bytes after the last NUL are not a string.
    func forEachString(_ body: (XsBytes) -> Void) {
        var start = 0
        for j in 0..<count where byte(j) == 0 {
            body(XsBytes(address: address + UInt64(start), count: j - start))
            start = j + 1
        }
    }

    /// The `index`-th NUL-terminated string, if there are that many.
    func string(_ index: Int) -> XsBytes? {
        var found: XsBytes? = nil
        var i = 0
        forEachString { s in
            if i == index { found = s }
            i += 1
        }
        return found
    }

    var stringCount: Int {
        var n = 0
        forEachString { _ in n += 1 }
        return n
    }
}

/// A string built in a caller's buffer. Appending past the buffer is a bug and traps.
struct XsText {
    /// `parts` appended in order to a text in `buffer`.
    init(_ buffer: PhysRegion, _ a: XsBytes, decimal: UInt64? = nil, _ b: XsBytes = .empty) {
        self.init(buffer)
        append(a)
        if let decimal { append(decimal: decimal) }
        append(b)
    }

    let buffer: PhysRegion
    private(set) var count = 0

    init(_ buffer: PhysRegion) { self.buffer = buffer }

    var bytes: XsBytes { XsBytes(buffer, count: count) }

    /// Appends bytes (a string literal converts).
    mutating func append(_ b: XsBytes) {
        precondition(count + b.count <= buffer.size)
        if b.count > 0 { petrel_memcpy(buffer.checkedAddress(count, b.count), b.address, UInt64(b.count)) }
        count += b.count
    }

    mutating func append(decimal value: UInt64) {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor *= 10 }
        var v = value
        while true {
            append(byte: UInt8(ascii: "0") + UInt8(v / divisor))
            v %= divisor
            if divisor == 1 { break }
            divisor /= 10
        }
    }

    mutating func append(byte: UInt8) {
        buffer.store8(count, byte)
        count += 1
    }

    /// `n` bytes of a repeating pattern (test values).
    mutating func appendPattern(_ n: Int, seed: Int) {
        for i in 0..<n { append(byte: UInt8(ascii: "a") + UInt8(truncatingIfNeeded: (i &+ seed) % 26)) }
    }
}

extension Out {
    /// Printable bytes of `b` ('?' for others).
    @discardableResult
    func xs(_ b: XsBytes) -> Out { bytes(b.region, count: b.count) }
}
