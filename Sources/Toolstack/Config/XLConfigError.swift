/// Where something sits in an xl.cfg: the file as the user named it, a 1-based line and,
/// for syntax errors, a 1-based column (in bytes).
///
/// Settings given as `key=value` arguments (`petrel run guest.cfg memory=128`) have the source
/// `command line` and, as their line, the argument's position among those settings.
public struct XLConfigLocation: Sendable, Equatable, CustomStringConvertible {
    public var source: String
    public var line: Int
    public var column: Int?

    public init(source: String, line: Int, column: Int? = nil) {
        self.source = source
        self.line = line
        self.column = column
    }

    /// `guest.cfg:7` or `guest.cfg:7:12`.
    public var description: String {
        column.map { "\(source):\(line):\($0)" } ?? "\(source):\(line)"
    }

    /// The source of `key=value` settings given as arguments.
    public static let commandLine = "command line"
}

/// Why an xl.cfg was refused. Every malformed input ends here, never in a trap.
///
/// `description` is one line for the CLI, naming the file, the line and the key:
/// `guest.cfg:7: memory: expected a number of MiB, got "lots"`,
/// `guest.cfg:3:9: syntax error: expected '=' or '+=' after "memory", got a number`.
public struct XLConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The file could not be read, or is larger than `XLConfig.maximumFileSize`.
        case unreadable
        /// The text breaks libxlu's grammar (lexical or syntax error).
        case syntax
        /// A required key (`name`, `kernel`) is absent.
        case missingKey
        /// A key's value has the wrong type, is out of range or is not one of its words.
        case badValue
        /// A value xl accepts but Petrel does not (`type = "hvm"`, `on_crash = "coredump-destroy"`).
        case unsupported
    }

    public var kind: Kind
    /// The file and line (and column, for syntax errors); nil when the whole file is meant
    /// (unreadable, a missing key).
    public var location: XLConfigLocation?
    /// The source named when there is no location (the file as the user named it).
    public var source: String
    /// The key concerned, if any.
    public var key: String?
    public var message: String

    public init(_ kind: Kind, source: String, location: XLConfigLocation? = nil, key: String? = nil, _ message: String) {
        self.kind = kind
        self.source = location?.source ?? source
        self.location = location
        self.key = key
        self.message = message
    }

    public var description: String {
        let place = location?.description ?? source
        if kind == .syntax { return "\(place): syntax error: \(message)" }
        return key.map { "\(place): \($0): \(message)" } ?? "\(place): \(message)"
    }
}

/// Something in an xl.cfg Petrel accepted but the user should hear about: an unknown key,
/// a key that is ignored, a default Petrel chose differently from xl.
///
/// `description`: `guest.cfg:3: unknown key "foo" ignored`.
public struct XLConfigWarning: Sendable, Equatable, CustomStringConvertible {
    public var key: String
    /// Nil when the warning is about a key that is absent (no `type`).
    public var location: XLConfigLocation?
    public var source: String
    public var message: String

    public init(key: String, source: String, location: XLConfigLocation?, _ message: String) {
        self.key = key
        self.source = location?.source ?? source
        self.location = location
        self.message = message
    }

    public var line: Int? { location?.line }

    public var description: String { "\(location?.description ?? source): \(message)" }
}
