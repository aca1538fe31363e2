import HostOS

/// A domain described by an xl.cfg file (`man xl.cfg`), read with libxlu's grammar (see
/// `XLConfigParser`) and checked key by key. Petrel runs PVH guests, so the keys are those a
/// PVH domain needs; any other key is kept as a warning, never silently dropped.
///
/// Keys and defaults (xl's, unless said):
/// - `name` (required), `type` ("pvh" only; absent means "pvh" with a warning, where xl on x86
///   would pick "pv"), `kernel` (required), `ramdisk`;
/// - `cmdline`, else `root` and `extra`: "root=ROOT EXTRA" (xl's `parse_cmdline`; `cmdline`
///   wins with a warning when both kinds are given);
/// - `memory` (MiB, default 32, libxl's), `maxmem` (default `memory`; `memory` defaults to
///   `maxmem` when only that is given; `maxmem < memory` is an error), at most 1 TiB;
/// - `vcpus` (default 1, or `maxvcpus`), `maxvcpus` (default `vcpus`), 1 to 128;
/// - `cpus`: "all", "0-3,5,^1", or a list with one such string per vCPU;
/// - `on_poweroff` (destroy), `on_reboot` (restart), `on_watchdog` and `on_crash` (destroy):
///   "destroy", "restart" or "preserve";
/// - `max_grant_frames` (32), `max_event_channels` (1023), `uuid` (default: a random handle);
/// - `privileged` (false): Petrel's own key for a control-class guest; true/false or 1/0.
///
/// Relative `kernel` and `ramdisk` paths are resolved against the directory of the config
/// file, so a parsed config carries absolute paths and means the same thing to a daemon with
/// another working directory. (xl hands them to libxl as written, which opens them relative
/// to xl's own working directory.) Paths given as `key=value` arguments are resolved against
/// the working directory, where the user typed them.
public struct XLConfig: Sendable, Equatable {
    public enum DomainType: String, Sendable, Equatable { case pvh }

    /// What to do when the domain shuts down for a given reason (`on_poweroff` and friends).
    public enum ShutdownAction: String, Sendable, Equatable, CaseIterable {
        case destroy, restart, preserve
    }

    public var name: String
    public var type: DomainType = .pvh
    /// An absolute path.
    public var kernel: String
    /// An absolute path.
    public var ramdisk: String?
    /// The guest's command line, from `cmdline` or `root` and `extra`.
    public var cmdline: String = ""
    public var memoryMiB: UInt64 = XLConfig.defaultMemoryMiB
    public var maxMemoryMiB: UInt64 = XLConfig.defaultMemoryMiB
    /// vCPUs online at boot.
    public var vcpus: Int = 1
    /// vCPUs the domain is created with.
    public var maxVCPUs: Int = 1
    /// Hard affinity; nil lets every vCPU run anywhere.
    public var cpus: CPUAffinity?
    public var onPoweroff: ShutdownAction = .destroy
    public var onReboot: ShutdownAction = .restart
    public var onWatchdog: ShutdownAction = .destroy
    public var onCrash: ShutdownAction = .destroy
    public var maxGrantFrames: Int = 32
    public var maxEventChannels: Int = 1023
    public var privileged: Bool = false
    /// The 16-byte domain handle from `uuid`, or nil for a random one.
    public var uuid: [UInt8]?
    /// What the user should hear about, in file order.
    public var warnings: [XLConfigWarning] = []

    public init(name: String, kernel: String) {
        self.name = name
        self.kernel = kernel
    }

    /// libxl's default guest memory.
    public static let defaultMemoryMiB: UInt64 = 32
    /// The most memory a config may ask for (1 TiB).
    public static let maximumMemoryMiB: UInt64 = 1 << 20
    /// The most vCPUs a config may ask for.
    public static let maximumVCPUs = 128
    /// The largest xl.cfg Petrel reads.
    public static let maximumFileSize = 1 << 20
    /// The most grant-table frames (Xen's `gnttab_max_frames` is a boot option; 1024 frames
    /// hold 512 Ki grant entries).
    public static let maximumGrantFrames = 1024
    /// Ports of the 2-level event-channel ABI on a 64-bit guest (`EVTCHN_2L_NR_CHANNELS`).
    public static let maximumEventChannels = 4096
}

extension XLConfig {
    /// Reads and checks the xl.cfg at `path`, then applies `overrides` (`key=value` strings, as
    /// `xl create CFG key=value…` takes them, each read with the same grammar, after the file).
    /// Errors and warnings name `path` as given.
    public static func load(path: String, overrides: [String] = []) throws(XLConfigError) -> XLConfig {
        let bytes: [UInt8]
        do { bytes = try Host.readFile(path, limit: maximumFileSize) } catch { throw unreadable(path, error) }
        return try parse(file: bytes, path: path, overrides: overrides)
    }

    /// What `petrel run FILE` was given: a file that starts with ELF's magic, or is too large to
    /// be a config, is a kernel image; anything else is read as an xl.cfg with `overrides`.
    public static func openRunFile(_ path: String, overrides: [String] = []) throws(XLConfigError) -> RunFile {
        let elfMagic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]
        // A kernel is read once, by the builder: only its magic here.
        do { if try Host.readPrefix(path, count: 4) == elfMagic { return .kernel } } catch {
            throw unreadable(path, error)
        }
        let bytes: [UInt8]
        do { bytes = try Host.readFile(path, limit: maximumFileSize) } catch {
            if error.errno == .fileTooLarge { return .kernel }
            throw unreadable(path, error)
        }
        if bytes.starts(with: elfMagic) { return .kernel }
        do {
            return .config(try parse(file: bytes, path: path, overrides: overrides))
        } catch var e where e.kind == .syntax && e.location?.source == path && e.location.map({ $0.line <= firstContentLine(bytes) }) == true {
            // Wrong from its first statement: most likely not meant as a config at all.
            e.message += " (not an ELF kernel image, so read as an xl.cfg)"
            throw e
        }
    }

    /// The first line that is neither blank nor a comment.
    private static func firstContentLine(_ bytes: [UInt8]) -> Int {
        var line = 1
        var comment = false
        for b in bytes {
            if b == UInt8(ascii: "\n") {
                line += 1
                comment = false
            } else if comment || b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") {
                continue
            } else if b == UInt8(ascii: "#") {
                comment = true
            } else {
                return line
            }
        }
        return line
    }

    private static func parse(file bytes: [UInt8], path: String, overrides: [String]) throws(XLConfigError) -> XLConfig {
        let cwd = HostProcess.workingDirectory ?? "/"
        return try parse(bytes, source: path, directory: ConfigPath.directory(of: ConfigPath.absolute(path, in: cwd)),
                         overrides: overrides, workingDirectory: cwd)
    }

    private static func unreadable(_ path: String, _ error: HostError) -> XLConfigError {
        let why: String
        switch error.errno {
        case .noSuchFileOrDirectory: why = "no such file"
        case .isDirectory: why = "is a directory, not a config file"
        case .permissionDenied: why = "permission denied"
        case .fileTooLarge: why = "larger than \(maximumFileSize >> 20) MiB; not an xl.cfg"
        default: why = "cannot read (\(error.errno))"
        }
        return XLConfigError(.unreadable, source: path, why)
    }

    /// Parses xl.cfg text. `source` names it in messages; `directory` (absolute) is where its
    /// relative paths point; `workingDirectory` is where those of `overrides` point.
    public static func parse(_ bytes: [UInt8], source: String, directory: String, overrides: [String] = [],
                             workingDirectory: String? = nil) throws(XLConfigError) -> XLConfig {
        guard bytes.count <= maximumFileSize else {
            throw XLConfigError(.unreadable, source: source, "larger than \(maximumFileSize >> 20) MiB; not an xl.cfg")
        }
        var settings = XLConfigSettings()
        try settings.add(contentsOf: try XLConfigParser.parse(bytes, source: source))
        for (i, o) in overrides.enumerated() {
            guard o.utf8.count <= maximumFileSize else {
                throw XLConfigError(.unreadable, source: XLConfigLocation.commandLine, "setting \(i + 1) is larger than 1 MiB")
            }
            try settings.add(contentsOf: try XLConfigParser.parse(Array(o.utf8), source: XLConfigLocation.commandLine, firstLine: i + 1))
        }
        var reader = XLConfigReader(settings: settings, source: source, directories: [
            source: directory, XLConfigLocation.commandLine: workingDirectory ?? directory,
        ])
        return try reader.read()
    }

    /// `s` as an xl.cfg string literal, for building `key=value` overrides.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\0": out += "\\000"  // refused when read back, as a NUL should be
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    let o = String(u.value, radix: 8)
                    out += "\\" + String(repeating: "0", count: 3 - o.count) + o
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

/// Path arithmetic for config files, without touching the file system.
enum ConfigPath {
    /// `path` made absolute against `directory`; "./" prefixes are dropped.
    static func absolute(_ path: String, in directory: String) -> String {
        if path.hasPrefix("/") { return path }
        var rest = Substring(path)
        while rest.hasPrefix("./") { rest = rest.dropFirst(2).drop { $0 == "/" } }
        if rest.isEmpty || rest == "." { return directory }
        return directory.hasSuffix("/") ? directory + rest : directory + "/" + rest
    }

    /// The directory part of an absolute path ("/" for a file at the root).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
