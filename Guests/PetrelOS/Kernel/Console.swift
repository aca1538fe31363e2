// The console: a line buffer flushed to one sink per line.
//   .debugPort   I/O port 0xe9 (QEMU -debugcon), used before/without Xen
//   .consoleIO   HYPERVISOR_console_io(CONSOLEIO_write)
//   .ring        the PV console ring (ConsoleRing)
// Lines end with "\n". `Out` is a tiny formatter: out.s("x=").hex(x).end().

enum ConsoleSink {
    case debugPort
    case consoleIO
    case ring
}

enum Console {
    static let debugPort: UInt16 = 0xe9

    nonisolated(unsafe) static var sink: ConsoleSink = .debugPort
    nonisolated(unsafe) private static var used = 0

    @inline(never)
    static func put(_ byte: UInt8) {
        let buffer = StaticPages.lineBuffer
        buffer.store(byte, at: used)
        used += 1
        if byte == UInt8(ascii: "\n") || used == buffer.size { flush() }
    }

    static func flush() {
        guard used > 0 else { return }
        let buffer = StaticPages.lineBuffer
        let count = used
        used = 0
        write(address: buffer.base, count: count, to: sink)
    }

    /// Writes raw bytes to a sink, bypassing the line buffer.
    static func write(address: UInt64, count: Int, to target: ConsoleSink) {
        switch target {
        case .debugPort:
            petrel_outsb(debugPort, address, UInt64(count))
        case .consoleIO:
            _ = Xen.consoleWrite(address: address, count: count)
        case .ring:
            ConsoleRing.write(address: address, count: count)
        }
    }
}

/// Chainable line formatter writing to the console.
struct Out {
    @discardableResult @inline(never)
    func s(_ text: StaticString) -> Out {
        for j in 0..<text.utf8CodeUnitCount { Console.put(text.byte(j)) }
        return self
    }

    @discardableResult @inline(never)
    func dec(_ value: UInt64) -> Out {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor *= 10 }
        var v = value
        while true {
            Console.put(UInt8(ascii: "0") + UInt8(v / divisor))
            v %= divisor
            if divisor == 1 { break }
            divisor /= 10
        }
        return self
    }

    @discardableResult @inline(never)
    func dec(_ value: Int) -> Out { int(Int64(value)) }

    @discardableResult @inline(never)
    func int(_ value: Int64) -> Out {
        if value < 0 {
            Console.put(UInt8(ascii: "-"))
            return dec(UInt64(bitPattern: 0 &- value))
        }
        return dec(UInt64(value))
    }

    /// "0x" followed by at least `digits` hex digits.
    @discardableResult @inline(never)
    func hex(_ value: UInt64, digits: Int = 1) -> Out {
        Console.put(UInt8(ascii: "0"))
        Console.put(UInt8(ascii: "x"))
        var n = 1
        while n < 16 && (value >> (4 * UInt64(n))) != 0 { n += 1 }
        if n < digits { n = digits }
        var i = n - 1
        while i >= 0 {
            let nibble = UInt8((value >> (4 * UInt64(i))) & 0xf)
            Console.put(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
            i -= 1
        }
        return self
    }

    /// A hypercall result: the number, and the Xen errno name when negative.
    @discardableResult @inline(never)
    func rc(_ value: Int64) -> Out {
        int(value)
        if value < 0, let name = XenErrno.name(-value) { s(" (").s(name).s(")") }
        return self
    }

    /// Printable bytes from guest memory; anything else shows as '?'.
    @discardableResult @inline(never)
    func bytes(_ region: PhysRegion, count: Int) -> Out {
        for i in 0..<min(count, region.size) {
            let b = region.u8(i)
            Console.put(b >= 0x20 && b < 0x7f ? b : UInt8(ascii: "?"))
        }
        return self
    }

    @inline(never)
    func end() { Console.put(UInt8(ascii: "\n")) }
}

let out = Out()
