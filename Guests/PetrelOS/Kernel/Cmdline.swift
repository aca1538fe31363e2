// The kernel command line: NUL-terminated ASCII, words separated by spaces,
// each word `key=value` or a bare `key`.

/// A run of bytes in guest memory (part of the command line).
struct CmdlineWord {
    let region: PhysRegion

    var count: Int { region.size }

    func equals(_ text: StaticString) -> Bool {
        guard text.utf8CodeUnitCount == count else { return false }
        for j in 0..<count where region.u8(j) != text.byte(j) { return false }
        return true
    }

    /// Decimal (or 0x-prefixed hex) integer, nil if malformed or empty.
    var integer: UInt64? {
        var i = 0
        var radix: UInt64 = 10
        if count > 2 && region.u8(0) == UInt8(ascii: "0") && (region.u8(1) | 0x20) == UInt8(ascii: "x") {
            radix = 16
            i = 2
        }
        guard i < count else { return nil }
        var value: UInt64 = 0
        while i < count {
            let c = region.u8(i)
            var digit: UInt64
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt64(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt64(c - UInt8(ascii: "A") + 10)
            default: return nil
            }
            guard digit < radix else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: radix)
            let (s, o2) = m.addingReportingOverflow(digit)
            if o1 || o2 { return nil }
            value = s
            i += 1
        }
        return value
    }
}

struct Cmdline {
    static let maxLength = 4096

    /// The whole command line (without the NUL); empty if there is none.
    let text: PhysRegion

    init(address: UInt64) {
        guard address != 0, address < identityMappedLimit else {
            text = PhysRegion(base: 0, size: 0)
            return
        }
        let limit = Int(min(UInt64(Cmdline.maxLength), identityMappedLimit - address))
        let window = PhysRegion(base: address, size: limit)
        text = window.sub(0, window.cStringLength() ?? limit)
    }

    static let empty = Cmdline(address: 0)

    /// Calls `body(key, value)` for each word; value is nil for a bare key.
    func forEachWord(_ body: (CmdlineWord, CmdlineWord?) -> Void) {
        var i = 0
        let n = text.size
        while i < n {
            while i < n && isSpace(text.u8(i)) { i += 1 }
            let start = i
            while i < n && !isSpace(text.u8(i)) { i += 1 }
            if i == start { break }
            var eq = start
            while eq < i && text.u8(eq) != UInt8(ascii: "=") { eq += 1 }
            let key = CmdlineWord(region: text.sub(start, eq - start))
            let value = eq < i ? CmdlineWord(region: text.sub(eq + 1, i - eq - 1)) : nil
            body(key, value)
        }
    }

    /// Value of the last `key=value` word with this key.
    func value(_ key: StaticString) -> CmdlineWord? {
        var found: CmdlineWord? = nil
        forEachWord { k, v in if k.equals(key), let v { found = v } }
        return found
    }

    private func isSpace(_ c: UInt8) -> Bool {
        c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\n")
    }
}
