import ArgumentParser
import HostOS
import Toolstack

struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a domain from an xl.cfg file through the daemon (xl create).",
        discussion: "KEY=VALUE arguments override the file's settings, as in xl.")

    @Flag(name: .customShort("c"), help: "Attach to the console after creating (Ctrl-] detaches).")
    var console = false

    @Argument(help: "The xl.cfg file.") var config: String
    @Argument(help: "KEY=VALUE overrides.") var overrides: [String] = []

    func run() throws {
        let cfg: XLConfig
        do { cfg = try XLConfig.load(path: config, overrides: overrides) } catch {
            CLIEnvironment.writeStderr("petrel: \(error)\n")
            throw ExitCode(1)
        }
        for w in cfg.warnings { CLIEnvironment.writeStderr("petrel: warning: \(w)\n") }
        try DomainCommands.withClient { c throws(ToolstackError) in
            let r = try c.call(ControlRequest(op: .create, spec: DomainSpec(config: cfg)))
            CLIEnvironment.writeStderr("petrel: domain \(cfg.name) created (id \(r.domid ?? -1))\n")
            if console {
                let raw = Terminal.makeRaw(fd: 0)
                defer { raw?.restore() }
                _ = try c.attachConsole(domain: cfg.name, input: 0, output: 1)
            }
        }
    }
}
