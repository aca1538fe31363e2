import ArgumentParser
import HostOS
import Toolstack

/// `xl`'s domain commands, sent to the daemon (`petrel daemon`) over its control socket.
enum DomainCommands {
    static let all: [ParsableCommand.Type] = [
        CreateCommand.self, ListCommand.self, DestroyCommand.self, ShutdownCommand.self, RebootCommand.self,
        PauseCommand.self, UnpauseCommand.self, ConsoleCommand.self, VCPUListCommand.self, VCPUPinCommand.self,
        InfoCommand.self, DmesgCommand.self, PCPUListCommand.self, PCPUOnlineCommand.self, PCPUOfflineCommand.self,
    ]

    /// Runs `body` with a client; a daemon error prints `petrel: …` and exits 1.
    static func withClient(_ body: (ControlClient) throws(ToolstackError) -> Void) throws {
        do {
            let client = try ControlClient()
            defer { client.close() }
            try body(client)
        } catch {
            CLIEnvironment.writeStderr("petrel: \(error)\n")
            throw ExitCode(1)
        }
    }

    static func simple(_ op: ControlRequest.Op, _ domain: String, wait: Bool? = nil) throws {
        try withClient { c throws(ToolstackError) in
            let r = try c.call(ControlRequest(op: op, domain: domain, wait: wait))
            if let o = r.outcome { CLIEnvironment.writeStderr("petrel: domain \(domain) \(o)\n") }
        }
    }

    static func pad(_ s: String, _ n: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, n - s.count))
        return right ? fill + s : s + fill
    }

    static func seconds(_ t: Double) -> String {
        let tenths = Int((t * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List domains (xl list).")
    @Argument(help: "Only these domains (names or ids).") var domains: [String] = []

    func run() throws {
        try DomainCommands.withClient { c throws(ToolstackError) in
            let rows = try c.call(ControlRequest(op: .list)).domains ?? []
            var out = "Name                                        ID   Mem VCPUs\tState\tTime(s)\n"
            for d in rows where domains.isEmpty || domains.contains(d.name) || domains.contains(String(d.id)) {
                out += DomainCommands.pad(d.name, 40) + " " + DomainCommands.pad(String(d.id), 5, right: true) + " "
                    + DomainCommands.pad(String(d.memMiB), 5, right: true) + " "
                    + DomainCommands.pad(String(d.vcpus), 5, right: true) + "     " + d.state + " "
                    + DomainCommands.pad(DomainCommands.seconds(d.timeSeconds), 9, right: true) + "\n"
            }
            Host.writeAll(1, Array(out.utf8))
        }
    }
}

struct DestroyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "destroy", abstract: "Destroy a domain at once (xl destroy).")
    @Argument(help: "Domain name or id.") var domain: String
    func run() throws { try DomainCommands.simple(.destroy, domain, wait: true) }
}

struct ShutdownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shutdown", abstract: "Ask a domain to power off through xenstore control/shutdown (xl shutdown).")
    @Flag(name: .shortAndLong, help: "Wait for the domain to stop.") var wait = false
    @Argument(help: "Domain name or id.") var domain: String
    func run() throws { try DomainCommands.simple(.shutdown, domain, wait: wait) }
}

struct RebootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reboot", abstract: "Ask a domain to reboot through xenstore control/shutdown (xl reboot).")
    @Flag(name: .shortAndLong, help: "Wait for the domain to stop.") var wait = false
    @Argument(help: "Domain name or id.") var domain: String
    func run() throws { try DomainCommands.simple(.reboot, domain, wait: wait) }
}

struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Pause a domain (xl pause).")
    @Argument(help: "Domain name or id.") var domain: String
    func run() throws { try DomainCommands.simple(.pause, domain) }
}

struct UnpauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unpause", abstract: "Unpause a domain (xl unpause).")
    @Argument(help: "Domain name or id.") var domain: String
    func run() throws { try DomainCommands.simple(.unpause, domain) }
}

struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console", abstract: "Attach to a domain's console (xl console); Ctrl-] detaches.")
    @Argument(help: "Domain name or id.") var domain: String
    func run() throws {
        try DomainCommands.withClient { c throws(ToolstackError) in
            let raw = Terminal.makeRaw(fd: 0)
            defer { raw?.restore() }
            _ = try c.attachConsole(domain: domain, input: 0, output: 1)
        }
    }
}

struct VCPUListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vcpu-list", abstract: "List vCPUs (xl vcpu-list).")
    @Argument(help: "Only this domain.") var domain: String?
    func run() throws {
        try DomainCommands.withClient { c throws(ToolstackError) in
            let rows = try c.call(ControlRequest(op: .vcpuList, domain: domain)).vcpus ?? []
            var out = "Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n"
            for v in rows {
                out += DomainCommands.pad(v.name, 32) + " " + DomainCommands.pad(String(v.id), 5, right: true) + " "
                    + DomainCommands.pad(String(v.vcpu), 5, right: true) + " "
                    + DomainCommands.pad(v.cpu.map(String.init) ?? "-", 5, right: true) + "   " + v.state + " "
                    + DomainCommands.pad(DomainCommands.seconds(v.timeSeconds), 9, right: true) + "  "
                    + v.affinity + " / all\n"
            }
            Host.writeAll(1, Array(out.utf8))
        }
    }
}

struct VCPUPinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vcpu-pin", abstract: "Set a vCPU's hard affinity (xl vcpu-pin DOM VCPU|all CPUS|all).")
    @Argument(help: "Domain name or id.") var domain: String
    @Argument(help: "The vCPU number, or all.") var vcpu: String
    @Argument(help: "Host CPUs: all, or a list such as 0-1,3.") var cpus: String

    func run() throws {
        let v: Int?
        if vcpu == "all" { v = nil } else if let n = Int(vcpu), n >= 0 { v = n } else {
            throw ValidationError("VCPU must be a number or all, not \(vcpu)")
        }
        let set: [Int]?
        if cpus == "all" { set = nil } else {
            guard let parsed = CPUListSyntax.parse(cpus) else { throw ValidationError("bad CPU list \(cpus)") }
            set = parsed
        }
        try DomainCommands.withClient { c throws(ToolstackError) in
            try c.call(ControlRequest(op: .vcpuPin, domain: domain, vcpu: v, cpus: set))
        }
    }
}

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Host and hypervisor facts (xl info).")
    func run() throws {
        try DomainCommands.withClient { c throws(ToolstackError) in
            let fields = try c.call(ControlRequest(op: .info)).info ?? []
            let out = fields.map { DomainCommands.pad($0.key, 23) + ": " + $0.value }.joined(separator: "\n") + "\n"
            Host.writeAll(1, Array(out.utf8))
        }
    }
}

struct DmesgCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dmesg", abstract: "The daemon's log (xl dmesg).")
    func run() throws {
        try DomainCommands.withClient { c throws(ToolstackError) in
            let log = try c.call(ControlRequest(op: .dmesg)).log ?? ""
            Host.writeAll(1, Array((log + "\n").utf8))
        }
    }
}

/// xl's CPU list syntax: "0-3,5" (no "^" exclusions on the command line here).
enum CPUListSyntax {
    static func parse(_ s: String) -> [Int]? {
        var out: [Int] = []
        for part in s.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = part.split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count == 1 || ends.count == 2, let a = Int(ends[0]), a >= 0, a < 4096 else { return nil }
            let b = ends.count == 2 ? Int(ends[1]) : a
            guard let b, b >= a, b < 4096 else { return nil }
            out += Array(a...b)
        }
        return out.isEmpty ? nil : out
    }
}
