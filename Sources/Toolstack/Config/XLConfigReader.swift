/// Turns settings into an `XLConfig`, one key at a time, as xl's `parse_config_data` does:
/// every bad value is an error naming the key and its line; unknown keys become warnings.
struct XLConfigReader {
    let settings: XLConfigSettings
    /// The file's name, for messages about absent keys.
    let source: String
    /// Where relative paths of each source point (absolute).
    let directories: [String: String]
    var warnings: [XLConfigWarning] = []

    init(settings: XLConfigSettings, source: String, directories: [String: String]) {
        self.settings = settings
        self.source = source
        self.directories = directories
    }

    static let knownKeys: Set<String> = [
        "name", "type", "builder", "kernel", "ramdisk", "cmdline", "root", "extra", "memory", "maxmem",
        "vcpus", "maxvcpus", "cpus", "on_poweroff", "on_reboot", "on_watchdog", "on_crash",
        "max_grant_frames", "max_event_channels", "privileged", "uuid",
    ]

    mutating func read() throws(XLConfigError) -> XLConfig {
        for key in settings.keys where !Self.knownKeys.contains(key) {
            warn(key, at: settings[key]?.location, "unknown key \"\(key)\" ignored")
        }
        try readType()
        guard let (name, nameSetting) = try string("name") else {
            throw XLConfigError(.missingKey, source: source, key: "name", "missing; every domain needs a name")
        }
        guard !name.isEmpty, name.utf8.count <= 64 else { throw bad(nameSetting, "must be 1 to 64 bytes long") }
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw bad(nameSetting, "must not contain control characters")
        }
        guard let kernel = try path("kernel") else {
            throw XLConfigError(.missingKey, source: source, key: "kernel", "missing; a PVH domain boots a kernel image")
        }
        var config = XLConfig(name: name, kernel: kernel)
        config.ramdisk = try path("ramdisk")
        config.cmdline = try cmdline()
        try readMemory(into: &config)
        try readVCPUs(into: &config)
        config.cpus = try affinity(maxVCPUs: config.maxVCPUs)
        config.onPoweroff = try action("on_poweroff") ?? .destroy
        config.onReboot = try action("on_reboot") ?? .restart
        config.onWatchdog = try action("on_watchdog") ?? .destroy
        config.onCrash = try action("on_crash") ?? .destroy
        config.maxGrantFrames = try Int(number("max_grant_frames", "a number of frames",
                                               1...Int64(XLConfig.maximumGrantFrames))?.value ?? 32)
        config.maxEventChannels = try Int(number("max_event_channels", "a number of event channels",
                                                 1...Int64(XLConfig.maximumEventChannels))?.value ?? 1023)
        config.privileged = try bool("privileged") ?? false
        config.uuid = try uuid()
        config.warnings = warnings
        return config
    }

    // MARK: Keys

    private mutating func readType() throws(XLConfigError) {
        if let (b, s) = try string("builder") {
            throw XLConfigError(.unsupported, source: source, location: s.location, key: "builder",
                                "\"\(b)\" asks for a \(b == "hvm" ? "HVM" : "PV") guest; Petrel runs PVH guests (use type = \"pvh\")")
        }
        guard let (type, s) = try string("type") else {
            warn("type", at: nil, "no \"type\" given: running the guest as \"pvh\" (xl on x86 would assume \"pv\", which Petrel does not run)")
            return
        }
        switch type {
        case "pvh": return
        case "pv", "hvm":
            throw XLConfigError(.unsupported, source: source, location: s.location, key: "type",
                                "\"\(type)\" guests are not supported: Petrel runs PVH guests (type = \"pvh\")")
        default:
            throw bad(s, "expected \"pvh\", got \(s.value.quoted)")
        }
    }

    private mutating func cmdline() throws(XLConfigError) -> String {
        let cmdline = try string("cmdline")
        let root = try string("root")
        let extra = try string("extra")
        if let (c, s) = cmdline {
            if root != nil || extra != nil { warn("cmdline", at: s.location, "ignoring root= and extra= in favour of cmdline=") }
            return c
        }
        switch (root?.0, extra?.0) {
        case let (r?, e?): return "root=\(r) \(e)"
        case let (r?, nil): return "root=\(r)"
        case let (nil, e?): return e
        case (nil, nil): return ""
        }
    }

    private func readMemory(into config: inout XLConfig) throws(XLConfigError) {
        let limit = Int64(XLConfig.maximumMemoryMiB)
        let minimum = Int64(RunOptions.minimumMemoryMiB)
        func mib(_ key: String) throws(XLConfigError) -> (value: UInt64, setting: XLConfigSetting)? {
            guard let (v, s) = try number(key, "a number of MiB", nil) else { return nil }
            guard v >= minimum else { throw bad(s, "\(v) MiB is too little (at least \(minimum) MiB)") }
            guard v <= limit else { throw bad(s, "\(v) MiB is more than 1 TiB") }
            return (UInt64(v), s)
        }
        let memory = try mib("memory")
        let maxmem = try mib("maxmem")
        config.memoryMiB = memory?.value ?? maxmem?.value ?? XLConfig.defaultMemoryMiB
        config.maxMemoryMiB = maxmem?.value ?? config.memoryMiB
        if let maxmem, maxmem.value < config.memoryMiB {
            throw bad(maxmem.setting, "\(maxmem.value) MiB is less than memory (\(config.memoryMiB) MiB)")
        }
    }

    private func readVCPUs(into config: inout XLConfig) throws(XLConfigError) {
        let range = 1...Int64(XLConfig.maximumVCPUs)
        let vcpus = try number("vcpus", "a number of vCPUs", range)
        let maxvcpus = try number("maxvcpus", "a number of vCPUs", range)
        config.vcpus = Int(vcpus?.value ?? maxvcpus?.value ?? 1)
        config.maxVCPUs = Int(maxvcpus?.value ?? Int64(config.vcpus))
        if let maxvcpus, maxvcpus.value < config.vcpus {
            throw bad(maxvcpus.setting, "\(maxvcpus.value) is less than vcpus (\(config.vcpus))")
        }
    }

    private mutating func affinity(maxVCPUs: Int) throws(XLConfigError) -> CPUAffinity? {
        guard let s = settings["cpus"] else { return nil }
        func cpuSet(_ v: XLConfigValue) throws(XLConfigError) -> CPUSet {
            guard let spec = v.atom else {
                throw XLConfigError(.badValue, source: source, location: v.location, key: "cpus", "expected a CPU list string, got a [list]")
            }
            let set: CPUSet
            do { set = try CPUSet(parsing: spec) } catch {
                throw XLConfigError(.badValue, source: source, location: v.location, key: "cpus", error.description)
            }
            guard !set.isEmpty else {
                throw XLConfigError(.badValue, source: source, location: v.location, key: "cpus", "\(v.quoted) selects no CPU")
            }
            return set
        }
        switch s.value.content {
        case .atom:
            return .uniform(try cpuSet(s.value))
        case .list(let items):
            if items.isEmpty { return nil }
            if items.count > maxVCPUs {
                warn("cpus", at: s.location, "\(items.count) CPU lists for \(maxVCPUs) vCPU(s); the extra ones are ignored")
            }
            var sets: [CPUSet] = []
            for item in items.prefix(maxVCPUs) { sets.append(try cpuSet(item)) }
            return .perVCPU(sets)
        }
    }

    private func action(_ key: String) throws(XLConfigError) -> XLConfig.ShutdownAction? {
        guard let (word, s) = try string(key) else { return nil }
        if let a = XLConfig.ShutdownAction(rawValue: word) { return a }
        if ["rename-restart", "coredump-destroy", "coredump-restart", "soft-reset"].contains(word) {
            throw XLConfigError(.unsupported, source: source, location: s.location, key: key,
                                "\"\(word)\" is not supported by Petrel (use destroy, restart or preserve)")
        }
        throw bad(s, "expected destroy, restart or preserve, got \(s.value.quoted)")
    }

    private func uuid() throws(XLConfigError) -> [UInt8]? {
        guard let (text, s) = try string("uuid") else { return nil }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var i = 0
        while bytes.count == 36, i < 36 {
            if [8, 13, 18, 23].contains(i) {
                guard bytes[i] == UInt8(ascii: "-") else { break }
                i += 1
                continue
            }
            guard let h = Self.hex(bytes[i]), let l = Self.hex(bytes[i + 1]) else { break }
            out.append(h << 4 | l)
            i += 2
        }
        guard out.count == 16 else {
            throw bad(s, "expected a UUID such as \"01234567-89ab-cdef-0123-456789abcdef\", got \(s.value.quoted)")
        }
        return out
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    // MARK: Typed reads

    private mutating func warn(_ key: String, at location: XLConfigLocation?, _ message: String) {
        warnings.append(XLConfigWarning(key: key, source: source, location: location, message))
    }

    private func bad(_ s: XLConfigSetting, _ message: String) -> XLConfigError {
        XLConfigError(.badValue, source: source, location: s.location, key: s.key, message)
    }

    /// A single value (libxlu's `xlu_cfg_get_string`).
    private func string(_ key: String) throws(XLConfigError) -> (String, XLConfigSetting)? {
        guard let s = settings[key] else { return nil }
        guard let v = s.value.atom else { throw bad(s, "expected a single value, got a [list]") }
        return (v, s)
    }

    /// A path, made absolute against the directory of the file (or command line) that set it.
    private func path(_ key: String) throws(XLConfigError) -> String? {
        guard let (p, s) = try string(key) else { return nil }
        guard !p.isEmpty else { throw bad(s, "expected a file name, got \"\"") }
        return ConfigPath.absolute(p, in: directories[s.location.source] ?? "/")
    }

    /// A number, read as libxlu does (`strtol` base 0: decimal, 0x hex, 0 octal), within `range`.
    private func number(_ key: String, _ what: String, _ range: ClosedRange<Int64>?) throws(XLConfigError)
        -> (value: Int64, setting: XLConfigSetting)? {
        guard let s = settings[key] else { return nil }
        guard let text = s.value.atom else { throw bad(s, "expected \(what), got a [list]") }
        guard s.operation == .assign else { throw bad(s, "can't use += with numbers") }
        guard let v = Self.strtol(text) else { throw bad(s, "expected \(what), got \(s.value.quoted)") }
        if let range, !range.contains(v) {
            throw bad(s, "must be \(range.lowerBound) to \(range.upperBound), got \(v)")
        }
        return (v, s)
    }

    /// 1/0 as libxlu's `xlu_cfg_get_defbool` reads them (any non-zero number is true), and
    /// Petrel's true/false.
    private func bool(_ key: String) throws(XLConfigError) -> Bool? {
        guard let s = settings[key] else { return nil }
        switch s.value.atom {
        case "true"?: return true
        case "false"?: return false
        default:
            guard let text = s.value.atom, s.operation == .assign, let v = Self.strtol(text) else {
                throw bad(s, "expected true, false, 1 or 0, got \(s.value.quoted)")
            }
            return v != 0
        }
    }

    /// C's `strtol(text, &end, 0)` requiring the whole text be used: leading blanks, a sign,
    /// then 0x-hex, 0-octal or decimal. Nil for junk or a value out of Int64's range.
    static func strtol(_ text: String) -> Int64? {
        var s = Substring(text).drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\u{0B}" || $0 == "\u{0C}" }
        var negative = false
        if let c = s.first, c == "+" || c == "-" {
            negative = c == "-"
            s = s.dropFirst()
        }
        var radix = 10
        if s.hasPrefix("0x") || s.hasPrefix("0X") {
            radix = 16
            s = s.dropFirst(2)
        } else if s.hasPrefix("0"), s.count > 1 {
            radix = 8
            s = s.dropFirst()
        }
        guard !s.isEmpty, s.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
        guard let magnitude = UInt64(s, radix: radix) else { return nil }
        if negative {
            return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }
}
