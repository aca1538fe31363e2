/// The xl.cfg grammar, as libxlu reads it (xen `tools/libs/util/libxlu_cfg_l.l` and
/// `libxlu_cfg_y.y`):
///
/// ```
/// file       := { stmt } [ assignment ]          -- the last line may lack its newline
/// stmt       := assignment endstmt | endstmt
/// endstmt    := NEWLINE | ';'                     -- a `#` comment runs to the end of its line
/// assignment := KEY ( '=' | '+=' ) value
/// value      := atom | '[' nl* [ value nl* { ',' nl* value nl* } [ ',' nl* ] ] ']'
/// atom       := STRING | NUMBER
/// KEY        := [a-z][a-z0-9_]*
/// NUMBER     := [0-9][0-9A-Za-z_]*                 -- checked when a key reads it (strtol, base 0)
/// STRING     := '…' | "…"                         -- one line; C escapes
/// ```
///
/// Differences from libxlu, each in the user's favour: the bare words `true` and `false` are
/// atoms (Petrel's `privileged = true`); `\xHH` and `\ooo` escapes yield their byte (libxlu's
/// numeric escapes drop it); a carriage return counts as a blank (CRLF files); a comment may end
/// the file without a newline; a NUMBER may carry any letters so that `memory = 512M` is a bad
/// value of `memory` rather than a lexical error. Strings must be UTF-8 without NUL.
///
/// The parser stops at the first error (libxlu reports several, then fails anyway).
public enum XLConfigParser {
    /// Lists nested deeper than this are refused (xl uses two levels at most).
    public static let maximumNesting = 16

    /// Parses `bytes` into its settings, in file order, with `+=` not yet applied (see
    /// `XLConfigSettings`). `firstLine` numbers the first line (1 for a file).
    public static func parse(_ bytes: [UInt8], source: String, firstLine: Int = 1) throws(XLConfigError) -> [XLConfigSetting] {
        var p = Parser(lexer: Lexer(bytes: bytes, source: source, line: firstLine))
        return try p.file()
    }
}

/// One `KEY = VALUE` (or `KEY += VALUE`) as written.
public struct XLConfigSetting: Sendable, Equatable {
    public enum Operation: Sendable, Equatable { case assign, append }
    public var key: String
    public var operation: Operation
    public var value: XLConfigValue
    /// Where the key was written.
    public var location: XLConfigLocation

    public init(key: String, operation: Operation, value: XLConfigValue, location: XLConfigLocation) {
        self.key = key
        self.operation = operation
        self.value = value
        self.location = location
    }
}

/// A value: libxlu keeps every atom as a string (a number is converted when a key reads it),
/// and lists may nest.
public struct XLConfigValue: Sendable, Equatable {
    public indirect enum Content: Sendable, Equatable {
        case atom(String)
        case list([XLConfigValue])
    }
    public var content: Content
    /// Where the value starts.
    public var location: XLConfigLocation

    public init(_ content: Content, location: XLConfigLocation) {
        self.content = content
        self.location = location
    }

    public var atom: String? { if case .atom(let s) = content { s } else { nil } }
    public var list: [XLConfigValue]? { if case .list(let l) = content { l } else { nil } }

    /// How an error message shows it: `"lots"` (control characters as '?', cut after 64
    /// characters) or `a [list]`.
    var quoted: String {
        switch content {
        case .atom(let s):
            let shown = String(s.unicodeScalars.prefix(64).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
            return "\"" + shown + (s.unicodeScalars.count > 64 ? "…" : "") + "\""
        case .list:
            return "a [list]"
        }
    }
}

// MARK: - Lexer

struct Token {
    enum Kind: Equatable {
        case key(String), number(String), string(String), bareWord(String)
        case equals, plusEquals, comma, leftBracket, rightBracket, semicolon, newline, end
    }
    var kind: Kind
    var line: Int
    var column: Int

    var text: String {
        switch kind {
        case .key(let s): "\"\(s)\""
        case .number(let s): "the number \(s)"
        case .string: "a string"
        case .bareWord(let s): "the bare word \(s)"
        case .equals: "'='"
        case .plusEquals: "'+='"
        case .comma: "','"
        case .leftBracket: "'['"
        case .rightBracket: "']'"
        case .semicolon: "';'"
        case .newline: "the end of the line"
        case .end: "the end of the file"
        }
    }
}

struct Lexer {
    let bytes: [UInt8]
    let source: String
    var index = 0
    var line: Int
    var lineStart = 0

    init(bytes: [UInt8], source: String, line: Int) {
        self.bytes = bytes
        self.source = source
        self.line = line
    }

    func error(_ message: String, line: Int, column: Int) -> XLConfigError {
        XLConfigError(.syntax, source: source, location: XLConfigLocation(source: source, line: line, column: column), message)
    }

    private func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    private static func isKeyStart(_ b: UInt8) -> Bool { b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z") }
    private static func isKeyByte(_ b: UInt8) -> Bool {
        isKeyStart(b) || isDigit(b) || b == UInt8(ascii: "_")
    }
    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
    private static func isAlnum(_ b: UInt8) -> Bool {
        isKeyByte(b) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
    }

    mutating func next() throws(XLConfigError) -> Token {
        // Blanks and comments; a comment's newline is the statement's end.
        while let b = peek() {
            if b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") {
                index += 1
            } else if b == UInt8(ascii: "#") {
                while let c = peek(), c != UInt8(ascii: "\n") { index += 1 }
            } else {
                break
            }
        }
        let column = index - lineStart + 1
        let startLine = line
        func token(_ kind: Token.Kind, length: Int) -> Token {
            index += length
            return Token(kind: kind, line: startLine, column: column)
        }
        guard let b = peek() else { return Token(kind: .end, line: line, column: column) }
        switch b {
        case UInt8(ascii: "\n"):
            let t = token(.newline, length: 1)
            line += 1
            lineStart = index
            return t
        case UInt8(ascii: "="): return token(.equals, length: 1)
        case UInt8(ascii: ","): return token(.comma, length: 1)
        case UInt8(ascii: "["): return token(.leftBracket, length: 1)
        case UInt8(ascii: "]"): return token(.rightBracket, length: 1)
        case UInt8(ascii: ";"): return token(.semicolon, length: 1)
        case UInt8(ascii: "+") where peek(1) == UInt8(ascii: "="): return token(.plusEquals, length: 2)
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            let s = try string(quote: b, column: column)
            return Token(kind: .string(s), line: startLine, column: column)
        default:
            break
        }
        if Self.isKeyStart(b) {
            let word = run(while: Self.isKeyByte)
            let kind: Token.Kind = (word == "true" || word == "false") ? .bareWord(word) : .key(word)
            return Token(kind: kind, line: startLine, column: column)
        }
        if Self.isDigit(b) {
            return Token(kind: .number(run(while: Self.isAlnum)), line: startLine, column: column)
        }
        throw error(unexpected(b), line: line, column: column)
    }

    private mutating func run(while accept: (UInt8) -> Bool) -> String {
        let start = index
        while let c = peek(), accept(c) { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private func unexpected(_ b: UInt8) -> String {
        if b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") {
            return "unexpected character '\(Character(Unicode.Scalar(b)))' (keys are lower case)"
        }
        if b == 0 { return "unexpected NUL byte" }
        if b < 0x20 || b >= 0x7F { return "unexpected byte 0x\(String(b, radix: 16))" }
        let c = Character(Unicode.Scalar(b))
        if "+-.():".contains(c) {
            return "unexpected character '\(c)' (this looks like Python, which xl.cfg no longer supports)"
        }
        return "unexpected character '\(c)'"
    }

    /// A quoted string, one line, with C escapes.
    private mutating func string(quote: UInt8, column: Int) throws(XLConfigError) -> String {
        index += 1
        var out: [UInt8] = []
        while true {
            guard let c = peek(), c != UInt8(ascii: "\n") else {
                throw error("unterminated string (strings end on the line they start)", line: line, column: column)
            }
            index += 1
            if c == quote { break }
            if c != UInt8(ascii: "\\") {
                out.append(c)
                continue
            }
            let escapeColumn = index - lineStart
            guard let e = peek(), e != UInt8(ascii: "\n") else {
                throw error("unterminated string (a backslash ends the line)", line: line, column: escapeColumn)
            }
            index += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "\\"): out.append(e)
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "x"):
                guard let h = peek().flatMap(Self.hexValue), let l = peek(1).flatMap(Self.hexValue) else {
                    throw error("\\x needs two hex digits", line: line, column: escapeColumn)
                }
                index += 2
                out.append(h << 4 | l)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var v = Int(e - UInt8(ascii: "0"))
                for _ in 0..<2 {
                    guard let d = peek(), d >= UInt8(ascii: "0"), d <= UInt8(ascii: "7") else { break }
                    v = v * 8 + Int(d - UInt8(ascii: "0"))
                    index += 1
                }
                guard v <= 0xFF else { throw error("octal escape \\\(String(v, radix: 8)) is above \\377", line: line, column: escapeColumn) }
                out.append(UInt8(v))
            default:
                throw error("invalid character after backslash in a string", line: line, column: escapeColumn)
            }
            if out.last == 0 { throw error("strings cannot contain NUL", line: line, column: escapeColumn) }
        }
        guard !out.contains(0) else { throw error("strings cannot contain NUL", line: line, column: column) }
        guard let s = String(validating: out, as: UTF8.self) else {
            throw error("string is not valid UTF-8", line: line, column: column)
        }
        return s
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

// MARK: - Grammar

struct Parser {
    var lexer: Lexer
    private var lookahead: Token?

    init(lexer: Lexer) { self.lexer = lexer }

    private mutating func peek() throws(XLConfigError) -> Token {
        if let t = lookahead { return t }
        let t = try lexer.next()
        lookahead = t
        return t
    }

    private mutating func take() throws(XLConfigError) -> Token {
        let t = try peek()
        lookahead = nil
        return t
    }

    private func error(_ message: String, at t: Token) -> XLConfigError {
        lexer.error(message, line: t.line, column: t.column)
    }

    private func location(_ t: Token) -> XLConfigLocation {
        XLConfigLocation(source: lexer.source, line: t.line)
    }

    mutating func file() throws(XLConfigError) -> [XLConfigSetting] {
        var settings: [XLConfigSetting] = []
        while true {
            let t = try take()
            switch t.kind {
            case .end: return settings
            case .newline, .semicolon: continue
            case .key(let key):
                settings.append(try assignment(key: key, at: t))
                let end = try take()
                switch end.kind {
                case .newline, .semicolon: continue
                case .end: return settings
                default: throw error("expected the end of the line or ';' after the value of \"\(key)\", got \(end.text)", at: end)
                }
            case .bareWord(let w):
                throw error("\"\(w)\" is a value, not a key", at: t)
            default:
                throw error("expected a key, got \(t.text)", at: t)
            }
        }
    }

    private mutating func assignment(key: String, at keyToken: Token) throws(XLConfigError) -> XLConfigSetting {
        let op = try take()
        let operation: XLConfigSetting.Operation
        switch op.kind {
        case .equals: operation = .assign
        case .plusEquals: operation = .append
        default: throw error("expected '=' or '+=' after \"\(key)\", got \(op.text)", at: op)
        }
        let value = try value(of: key, depth: 0)
        return XLConfigSetting(key: key, operation: operation, value: value, location: location(keyToken))
    }

    private mutating func value(of key: String, depth: Int) throws(XLConfigError) -> XLConfigValue {
        let t = try take()
        switch t.kind {
        case .string(let s), .number(let s), .bareWord(let s):
            return XLConfigValue(.atom(s), location: location(t))
        case .leftBracket:
            guard depth < XLConfigParser.maximumNesting else {
                throw error("lists nested more than \(XLConfigParser.maximumNesting) deep", at: t)
            }
            return XLConfigValue(.list(try listItems(of: key, depth: depth + 1)), location: location(t))
        case .key(let word):
            throw error("expected a value for \"\(key)\", got the bare word \(word) (quote strings: \"\(word)\")", at: t)
        default:
            throw error("expected a value for \"\(key)\", got \(t.text)", at: t)
        }
    }

    private mutating func skipNewlines() throws(XLConfigError) {
        while case .newline = try peek().kind { _ = try take() }
    }

    /// After '[': values separated by ',', newlines allowed around them, a trailing ',' allowed.
    private mutating func listItems(of key: String, depth: Int) throws(XLConfigError) -> [XLConfigValue] {
        var items: [XLConfigValue] = []
        try skipNewlines()
        if case .rightBracket = try peek().kind {
            _ = try take()
            return items
        }
        while true {
            items.append(try value(of: key, depth: depth))
            try skipNewlines()
            let t = try take()
            switch t.kind {
            case .rightBracket:
                return items
            case .comma:
                try skipNewlines()
                if case .rightBracket = try peek().kind {
                    _ = try take()
                    return items
                }
            default:
                throw error("expected ',' or ']' in the list of \"\(key)\", got \(t.text)", at: t)
            }
        }
    }
}
