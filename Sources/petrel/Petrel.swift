import ArgumentParser
import Logging
import Toolstack

@main
struct Petrel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "petrel",
        abstract: "A Xen-compatible hypervisor: runs Xen PVH guests on KVM.",
        subcommands: [RunCommand.self, DaemonCommand.self] + DomainCommands.all + [BenchCommand.self])

    static func bootstrapLogging() {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = CLIEnvironment.logLevel
            return h
        }
    }
}
