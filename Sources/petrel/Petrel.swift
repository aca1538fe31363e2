import ArgumentParser
import HostOS
import Logging
import Toolstack

@main
enum Main {
    /// `petrel run` parses only its own arguments, and its plain forms without
    /// swift-argument-parser (`RunArguments.quickParse`): building a command's argument set
    /// costs milliseconds of runtime type lookups, and `run`'s start-up time is what a boot costs.
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        if args.first == "run" {
            let rest = Array(args.dropFirst())
            if let quick = RunArguments.quickParse(rest) { Host.exit(RunCommand.execute(quick)) }
            RunCommand.main(rest)
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
