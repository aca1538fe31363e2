import HostOS
import Hypervisor
import XenABI

/// One client connection to `petrel.sock`: JSON requests in, JSON replies out, one per line,
/// until the client closes it or attaches to a console.
struct ControlSession {
    let daemon: PetrelDaemon
    let connection: UnixConnection

    func run() {
        defer { connection.close() }
        while true {
            let line: String?
            do { line = try connection.readLine() } catch {
                try? connection.write(line: ControlCodec.encode(ControlResponse.failure("\(error)")))
                return
            }
            guard let line else { return }
            if line.isEmpty { continue }
            let request: ControlRequest
            do { request = try ControlCodec.decode(ControlRequest.self, from: line) } catch {
                try? connection.write(line: ControlCodec.encode(ControlResponse.failure("malformed request: \(error)")))
                continue
            }
            if request.op == .console {
                attachConsole(request)
                return
            }
            let reply: ControlResponse
            do { reply = try handle(request) } catch { reply = .failure(error.description) }
            do { try connection.write(line: ControlCodec.encode(reply)) } catch { return }
        }
    }

    /// Ops that change state need the socket owner's uid (or root), as xl needs root.
    private func authorize(_ op: ControlRequest.Op) throws(DaemonError) {
        switch op {
        case .list, .vcpuList, .info, .dmesg, .pcpuList: return
        default: break
        }
        guard let cred = connection.peerCredentials, cred.uid == 0 || cred.uid == Host.userID else {
            throw .notPermitted("\(op.rawValue): only the daemon's owner may change state")
        }
    }

    private func handle(_ r: ControlRequest) throws(DaemonError) -> ControlResponse {
        try authorize(r.op)
        var reply = ControlResponse()
        switch r.op {
        case .create:
            guard let spec = r.spec else { throw .badRequest("create: no domain spec") }
            let m = try daemon.create(spec)
            reply.domid = Int(m.id.raw)
            if r.wait == true {
                // Benchmarks: reply once the guest printed its first line (or stopped, or 30 s
                // passed).
                let deadline = Host.monotonicNanoseconds() + 30_000_000_000
                while !m.console.firstLine.wait(until: Host.monotonicNanoseconds() + 10_000_000) {
                    if m.ended.opened || m.phase != .running || Host.monotonicNanoseconds() > deadline { break }
                }
                if let t = m.console.firstLineAt { reply.outcome = "first line after \((t - m.createdAt) / 1000) us" }
            }
        case .list:
            reply.domains = DaemonReports.list(daemon)
        case .destroy:
            let m = try daemon.lookup(r.domain)
            daemon.destroy(m, wait: r.wait ?? true)
            reply.outcome = m.outcome
        case .shutdown, .reboot:
            let m = try daemon.lookup(r.domain)
            reply.outcome = try daemon.requestShutdown(m, reason: r.op == .shutdown ? .poweroff : .reboot,
                                                       wait: r.wait ?? false)
        case .pause:
            let m = try daemon.lookup(r.domain)
            guard m.phase == .running else { throw .badRequest("domain \(m.spec.name) is not running") }
            m.domain.pause()
        case .unpause:
            let m = try daemon.lookup(r.domain)
            do { try m.domain.unpause() } catch { throw .badRequest("domain \(m.spec.name) is not paused") }
        case .vcpuList:
            let targets = try r.domain.map { k throws(DaemonError) in [try daemon.lookup(k)] } ?? daemon.allDomains
            reply.vcpus = targets.flatMap { DaemonReports.vcpus(of: $0, in: daemon) }
        case .vcpuPin:
            let m = try daemon.lookup(r.domain)
            for v in r.vcpu.map({ [$0] }) ?? Array(m.domain.vcpus.indices) {
                try daemon.pin(m.domain, vcpu: v, cpus: r.cpus)
            }
        case .info:
            reply.info = DaemonReports.info(daemon)
        case .dmesg:
            reply.log = daemon.log.text
        case .pcpuList:
            reply.pcpus = daemon.pcpuList()
        case .pcpuOnline, .pcpuOffline:
            try daemon.setPCPU(r.pcpu, online: r.op == .pcpuOnline)
        case .xenstoreWrite:
            guard let path = r.path, let value = r.value else { throw .badRequest("xenstore-write: path and value") }
            do { try daemon.xenstored.write(path, value) } catch { throw .badRequest("xenstore-write \(path): \(error)") }
        case .console:
            break  // handled by attachConsole
        }
        return reply
    }

    /// `xl console`: after an `ok` reply the connection carries the domain's console: output
    /// (starting with what the log holds) to the client, the client's bytes to the guest.
    private func attachConsole(_ r: ControlRequest) {
        let m: ManagedDomain
        do {
            try authorize(.console)
            m = try daemon.lookup(r.domain)
        } catch {
            try? connection.write(line: ControlCodec.encode(ControlResponse.failure(error.description)))
            return
        }
        guard (try? connection.write(line: ControlCodec.encode(ControlResponse()))) != nil else { return }
        m.console.attach(connection)
        defer { m.console.detach(connection) }
        while !m.ended.opened {
            guard connection.waitReadable(timeoutMs: 200) else { continue }
            guard let bytes = try? connection.read(), !bytes.isEmpty else { return }
            DaemonDevices.consoleInput(bytes, to: m.domain)
        }
    }
}
