import ArgumentParser
import HostOS
import Toolstack

/// The host's CPUs as Petrel manages them (xen-hptool / xl's pCPU views), through the daemon.
struct PCPUListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pcpu-list", abstract: "List host CPUs: id, APIC id, ACPI id, online, vCPUs running there.")
    func run() throws {
        try DomainCommands.withClient { c throws(ToolstackError) in
            let rows = try c.call(ControlRequest(op: .pcpuList)).pcpus ?? []
            var out = "CPU  APIC  ACPI  Online  vCPUs\n"
            for p in rows {
                out += DomainCommands.pad(String(p.id), 3, right: true) + "  "
                    + DomainCommands.pad(p.apicID.map(String.init) ?? "-", 4, right: true) + "  "
                    + DomainCommands.pad(p.acpiID.map(String.init) ?? "-", 4, right: true) + "  "
                    + DomainCommands.pad(p.online ? "yes" : "no", 6) + "  " + p.vcpus.joined(separator: ",") + "\n"
            }
            Host.writeAll(1, Array(out.utf8))
        }
    }
}

struct PCPUOnlineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pcpu-online", abstract: "Let Petrel run vCPUs on host CPU N again (XENPF_cpu_online).")
    @Argument(help: "The pCPU id.") var cpu: Int
    func run() throws {
        try DomainCommands.withClient { c throws(ToolstackError) in try c.call(ControlRequest(op: .pcpuOnline, pcpu: cpu)) }
    }
}

struct PCPUOfflineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pcpu-offline",
        abstract: "Move every vCPU off host CPU N and run none there (XENPF_cpu_offline); the host's own CPU stays online.")
    @Argument(help: "The pCPU id.") var cpu: Int
    func run() throws {
        try DomainCommands.withClient { c throws(ToolstackError) in try c.call(ControlRequest(op: .pcpuOffline, pcpu: cpu)) }
    }
}
