/// `petrel run`'s command line: `[FILE [KEY=VALUE…]] [--memory MiB] [--cmdline STR]
/// [--initrd FILE] [--name NAME] [--vcpus N]`, and how it becomes `RunOptions`.
///
/// The CLI declares these with swift-argument-parser, which builds its argument set by
/// reflection: with this binary's size that costs ~2 ms of runtime type lookups, a fifth of a
/// boot. `quickParse` reads the plain forms directly and declines everything else (help, an
/// unknown or repeated option, a value that looks like an option, a number that does not
/// parse), which the CLI then hands to swift-argument-parser for its usage and errors. A
/// test holds the two to the same result for every line `quickParse` accepts.
public struct RunArguments: Equatable, Sendable {
    public var kernel: String?
    public var settings: [String] = []
    public var memory: UInt64?
    public var cmdline: String?
    public var initrd: String?
    public var name: String?
    public var vcpus: Int?

    public init(kernel: String? = nil, settings: [String] = [], memory: UInt64? = nil, cmdline: String? = nil,
                initrd: String? = nil, name: String? = nil, vcpus: Int? = nil) {
        self.kernel = kernel
        self.settings = settings
        self.memory = memory
        self.cmdline = cmdline
        self.initrd = initrd
        self.name = name
        self.vcpus = vcpus
    }

    /// The arguments after `run`, or nil where swift-argument-parser must decide.
    public static func quickParse(_ args: [String]) -> RunArguments? {
        var r = RunArguments()
        var seen: [String] = []
        var i = 0
        while i < args.count {
            let arg = args[i]
            i += 1
            guard arg.hasPrefix("-") else {
                if r.kernel == nil { r.kernel = arg } else { r.settings.append(arg) }
                continue
            }
            // `--key value` or `--key=value`; single-dash forms, `--` and help are the parser's.
            guard arg.hasPrefix("--"), arg.count > 2 else { return nil }
            let body = arg.dropFirst(2)
            let key: String, value: String
            if let eq = body.firstIndex(of: "=") {
                key = String(body[..<eq])
                value = String(body[body.index(after: eq)...])
                // swift-argument-parser reads `--key=` as `--key` and takes the next argument.
                guard !value.isEmpty else { return nil }
            } else {
                guard i < args.count else { return nil }
                key = String(body)
                value = args[i]
                i += 1
                guard !value.hasPrefix("-") else { return nil }
            }
            guard !seen.contains(key) else { return nil }
            seen.append(key)
            switch key {
            case "memory":
                guard let v = UInt64(value) else { return nil }
                r.memory = v
            case "vcpus":
                guard let v = Int(value) else { return nil }
                r.vcpus = v
            case "cmdline": r.cmdline = value
            case "initrd": r.initrd = value
            case "name": r.name = value
            default: return nil
            }
        }
        return r
    }

    /// A kernel runs with the options; an xl.cfg gets the KEY=VALUE settings, then the options
    /// turned into settings (so they are checked, and reported, as the file's own are). Config
    /// warnings go to `warn`.
    public func runOptions(warn: (String) -> Void) throws -> RunOptions {
        guard let path = kernel else { return try kernelOptions(DemoKernel.locate(), demo: true) }
        var overrides = settings
        if let memory { overrides.append("memory=\(memory)") }
        if let vcpus {
            guard vcpus >= 1 else { throw ToolstackError.badOption("--vcpus \(vcpus): must be at least 1") }
            overrides.append("vcpus=\(vcpus)")
        }
        if let cmdline { overrides.append("cmdline=" + XLConfig.quote(cmdline)) }
        if let initrd { overrides.append("ramdisk=" + XLConfig.quote(initrd)) }
        if let name { overrides.append("name=" + XLConfig.quote(name)) }
        switch try XLConfig.openRunFile(path, overrides: overrides) {
        case .kernel:
            return try kernelOptions(path, demo: false)
        case .config(let config):
            for w in config.warnings { warn("\(w)") }
            return config.runOptions
        }
    }

    private func kernelOptions(_ path: String, demo: Bool) throws(ToolstackError) -> RunOptions {
        if let s = settings.first {
            throw .badOption("\(s): KEY=VALUE settings need an xl.cfg, and \(path) is a kernel image")
        }
        return RunOptions(kernelPath: path, memoryMiB: memory ?? 64, cmdline: cmdline ?? "", initrdPath: initrd,
                          name: name ?? (demo ? "petrelos-demo" : "petrel-guest"), vcpus: vcpus ?? 1)
    }
}
