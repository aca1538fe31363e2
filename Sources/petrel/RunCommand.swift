import ArgumentParser
import Hypervisor
import Toolstack

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Boot an x86-64 PVH guest in the foreground (the PetrelOS demo without KERNEL).",
        discussion: """
            The guest's console goes to stdout. Exit status: 0 poweroff, 2 crash, 3 reboot, \
            4 watchdog or unknown shutdown reason, 1 an error before the guest ran.
            """)

    @Argument(help: "The kernel ELF image (default: the bundled PetrelOS demo).")
    var kernel: String?

    @Option(help: "Guest memory in MiB.")
    var memory: UInt64 = 64

    @Option(help: "The guest's command line.")
    var cmdline: String = ""

    @Option(help: "An initial ramdisk, passed as the first module.")
    var initrd: String?

    @Option(help: "The domain's name.")
    var name: String?

    @Option(help: "Number of vCPUs (up to 4 per host CPU).")
    var vcpus: Int = 1

    func run() throws {
        Petrel.bootstrapLogging()
        do {
            let path = try kernel ?? DemoKernel.locate()
            let options = RunOptions(kernelPath: path, memoryMiB: memory, cmdline: cmdline, initrdPath: initrd,
                                     name: name ?? (kernel == nil ? "petrelos-demo" : "petrel-guest"), vcpus: vcpus)
            let result = try ForegroundRun(options: options, consoleSink: CLIEnvironment.writeStdout).run()
            if let report = result.crashReport {
                CLIEnvironment.writeStderr("petrel: domain '\(options.name)' \(result.outcome.description)\n\(report)\n")
            } else {
                CLIEnvironment.writeStderr("petrel: domain '\(options.name)' \(result.outcome.description)\n")
            }
            throw ExitCode(result.outcome.exitStatus)
        } catch let e as ToolstackError {
            CLIEnvironment.writeStderr("petrel: \(e)\n")
            throw ExitCode(1)
        }
    }
}
