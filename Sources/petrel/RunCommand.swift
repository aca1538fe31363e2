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

    var arguments: RunArguments {
        RunArguments(kernel: kernel, settings: settings, memory: memory, cmdline: cmdline, initrd: initrd,
                     name: name, vcpus: vcpus)
    }

    func run() throws {
        let status = Self.execute(arguments)
        if status != 0 { throw ExitCode(status) }
    }

    /// Boots the domain in the foreground and returns `petrel run`'s exit status (what
    /// `RunOutcome.exitStatus` says, 1 for an error before the guest ran).
    static func execute(_ arguments: RunArguments) -> Int32 {
        Petrel.bootstrapLogging()
        do {
            let options = try arguments.runOptions { CLIEnvironment.writeStderr("petrel: warning: \($0)\n") }
            var foreground = ForegroundRun(options: options, consoleSink: CLIEnvironment.writeStdout)
            foreground.consoleInput = .standardInput
            let result = try foreground.run()
            if let report = result.crashReport {
                CLIEnvironment.writeStderr("petrel: domain '\(options.name)' \(result.outcome.description)\n\(report)\n")
            } else {
                CLIEnvironment.writeStderr("petrel: domain '\(options.name)' \(result.outcome.description)\n")
            }
            return result.outcome.exitStatus
        } catch {
            CLIEnvironment.writeStderr("petrel: \(error)\n")
            return 1
        }
    }
}
