import ArgumentParser
import Hypervisor
import Toolstack

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Boot an x86-64 PVH guest in the foreground (the PetrelOS demo without FILE).",
        discussion: """
            FILE is a kernel ELF image, or else an xl.cfg (`man xl.cfg`; relative kernel and \
            ramdisk paths in it are relative to the file). After an xl.cfg come any KEY=VALUE \
            settings, as `xl create` takes them (memory=128 'extra="quiet"'); then the options \
            below, which override both. Config warnings go to stderr. \
            The guest's console goes to stdout, and stdin to its console input (a terminal in \
            raw mode: Ctrl-] detaches input, the domain keeps running). Exit status: 0 poweroff, 2 crash, 3 reboot, \
            4 watchdog or unknown shutdown reason, 1 an error before the guest ran.
            """)

    @Argument(help: ArgumentHelp("A kernel ELF image or an xl.cfg (default: the bundled PetrelOS demo).", valueName: "file"))
    var kernel: String?

    @Argument(help: ArgumentHelp("xl.cfg settings applied after the config file.", valueName: "key=value"))
    var settings: [String] = []

    @Option(help: "Guest memory in MiB (default 64, or the config's).")
    var memory: UInt64?

    @Option(help: "The guest's command line.")
    var cmdline: String?

    @Option(help: "An initial ramdisk, passed as the first module.")
    var initrd: String?

    @Option(help: "The domain's name.")
    var name: String?

    @Option(help: "Number of vCPUs (up to 4 per host CPU; default 1, or the config's).")
    var vcpus: Int?

    func run() throws {
        Petrel.bootstrapLogging()
        do {
            let options = try runOptions()
            var foreground = ForegroundRun(options: options, consoleSink: CLIEnvironment.writeStdout)
            foreground.consoleInput = .standardInput
            let result = try foreground.run()
            if let report = result.crashReport {
                CLIEnvironment.writeStderr("petrel: domain '\(options.name)' \(result.outcome.description)\n\(report)\n")
            } else {
                CLIEnvironment.writeStderr("petrel: domain '\(options.name)' \(result.outcome.description)\n")
            }
            throw ExitCode(result.outcome.exitStatus)
        } catch let e as ToolstackError {
            CLIEnvironment.writeStderr("petrel: \(e)\n")
            throw ExitCode(1)
        } catch let e as XLConfigError {
            CLIEnvironment.writeStderr("petrel: \(e)\n")
            throw ExitCode(1)
        }
    }

    /// A kernel runs with the options; an xl.cfg gets the KEY=VALUE settings, then the options
    /// turned into settings (so they are checked, and reported, as the file's own are).
    private func runOptions() throws -> RunOptions {
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
            for w in config.warnings { CLIEnvironment.writeStderr("petrel: warning: \(w)\n") }
            return config.runOptions
        }
    }

    private func kernelOptions(_ path: String, demo: Bool) throws -> RunOptions {
        if let s = settings.first {
            throw ToolstackError.badOption("\(s): KEY=VALUE settings need an xl.cfg, and \(path) is a kernel image")
        }
        return RunOptions(kernelPath: path, memoryMiB: memory ?? 64, cmdline: cmdline ?? "", initrdPath: initrd,
                          name: name ?? (demo ? "petrelos-demo" : "petrel-guest"), vcpus: vcpus ?? 1)
    }
}
