import ArgumentParser
import Logging
import Toolstack

@main
enum Main {
    /// `petrel run` parses only its own arguments: building the whole command tree costs
    /// milliseconds of runtime type lookups, and `run`'s start-up time is what a boot costs.
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        if args.first == "run" {
            RunCommand.main(Array(args.dropFirst()))
        } else {
            Petrel.main(args)
        }
    }
}

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
