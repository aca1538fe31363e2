import EngineKVM
import HostOS
import Hypervisor
import Logging
import Synchronization
import XenABI
import XenStore

/// `petrel daemon`: holds any number of domains on one hypervisor, one engine and one
/// xenstored, and serves the control API (`petrel.sock`) and xenstore (`xenstored.socket`) in
/// its state directory.
///
/// Locking: `domains` is a mutex over the table (never held while building, starting or
/// tearing down a domain). Each `ManagedDomain` guards itself.
public final class PetrelDaemon: Sendable {
    public static let defaultStateDir = "/run/petrel"

    public let stateDir: String
    public let hypervisor: Hypervisor
    let engine: KVMEngine
    public let xenstored: XenStored
    let log: DaemonLog
    private let domains = Mutex<[DomainID: ManagedDomain]>([:])
    private let listener: UnixListener
    private let xenstoreServer: Mutex<XenStoreSocketServer?>
    private let stopping = Atomic<Bool>(false)
    /// Recent restart times by domain name: a guest that dies at every boot is not restarted
    /// more than `restartBurst` times a minute (it would otherwise spin the host forever).
    private let restarts = Mutex<[String: [UInt64]]>([:])
    static let restartBurst = 10

    public var controlSocketPath: String { stateDir + "/petrel.sock" }
    public var xenstoreSocketPath: String { stateDir + "/xenstored.socket" }

    /// Opens KVM, creates the state directory and binds both sockets.
    public static func start(stateDir: String, kvmDevice: String = "/dev/kvm",
                             logger: Logger = Logger(label: "petrel.daemon")) async throws -> PetrelDaemon {
        do { try Host.makeDirectory(stateDir, mode: 0o700) } catch {
            throw ToolstackError.badOption("state directory \(stateDir): \(error)")
        }
        let engine: KVMEngine
        do { engine = try KVMEngine(devicePath: kvmDevice) } catch { throw ToolstackError.engine("\(error)") }
        let log = DaemonLog(logger: logger)
        let hypervisor = Hypervisor(services: HostOSServices(), logger: logger)
        let xenstored = XenStored(logger: logger)
        let listener = try UnixListener(path: stateDir + "/petrel.sock")
        let daemon = PetrelDaemon(stateDir: stateDir, engine: engine, hypervisor: hypervisor, xenstored: xenstored,
                                  log: log, listener: listener)
        let server = try await XenStoreSocketServer.start(path: daemon.xenstoreSocketPath, daemon: xenstored)
        daemon.xenstoreServer.withLock { $0 = server }
        log.info("petrel daemon: listening on \(daemon.controlSocketPath) and \(daemon.xenstoreSocketPath)")
        return daemon
    }

    private init(stateDir: String, engine: KVMEngine, hypervisor: Hypervisor, xenstored: XenStored,
                 log: DaemonLog, listener: UnixListener) {
        self.stateDir = stateDir
        self.engine = engine
        self.hypervisor = hypervisor
        self.xenstored = xenstored
        self.log = log
        self.listener = listener
        xenstoreServer = Mutex(nil)
    }

    /// Serves control connections on the calling thread until `stop()`.
    public func serve() {
        while let conn = listener.accept() {
            do {
                try HostThread(name: "petrel-ctl") { [self] in ControlSession(daemon: self, connection: conn).run() }.detach()
            } catch {
                log.warning("control: cannot start a session thread: \(error)")
                conn.close()
            }
        }
    }

    /// Destroys every domain, closes the sockets. Idempotent.
    public func stop() async {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        listener.close()
        for d in domains.withLock({ Array($0.values) }) { destroy(d, wait: true) }
        if let s = xenstoreServer.withLock({ s -> XenStoreSocketServer? in defer { s = nil }; return s }) {
            try? await s.stop()
        }
        log.info("petrel daemon: stopped")
    }

    // MARK: Domains

    var allDomains: [ManagedDomain] { domains.withLock { Array($0.values) }.sorted { $0.id < $1.id } }

    /// A domain by name or decimal id.
    func lookup(_ key: String?) throws(DaemonError) -> ManagedDomain {
        guard let key, !key.isEmpty else { throw .badRequest("which domain? give a name or an id") }
        let all = domains.withLock { Array($0.values) }
        if let n = UInt16(key), let d = all.first(where: { $0.id.raw == n }) { return d }
        if let d = all.first(where: { $0.spec.name == key }) { return d }
        throw .noSuchDomain(key)
    }

    /// `xl create`: builds the domain, starts vCPU 0 and supervises it.
    func create(_ spec: DomainSpec) throws(DaemonError) -> ManagedDomain {
        guard !stopping.load(ordering: .acquiring) else { throw .badRequest("the daemon is stopping") }
        try DaemonValidation.check(spec)
        let clash = domains.withLock { $0.values.contains { $0.spec.name == spec.name && $0.phase != .dying } }
        guard !clash else { throw .badRequest("a domain named \"\(spec.name)\" already exists") }

        let t0 = Host.monotonicNanoseconds()
        func phase(_ what: String) {
            log.logger.debug("create \(spec.name): \(what) at +\((Host.monotonicNanoseconds() - t0) / 1000) us")
        }
        let console = ConsoleLog()
        let build = DomainBuild(kernelPath: spec.kernel, initrdPath: spec.ramdisk, cmdline: spec.cmdline,
                                config: spec.domainConfig)
        let domain: Domain, boot: BootState
        do { (domain, boot) = try build.build(on: hypervisor, consoleSink: { console.append($0) }) } catch {
            throw .build(error.description)
        }
        phase("built")
        let machine: any Machine
        do {
            machine = try engine.createMachine(for: domain)
            phase("VM created")
        } catch {
            hypervisor.removeDomain(domain.id)
            throw .build("cannot create the VM: \(error)")
        }
        do { try applyAffinity(spec, to: domain) } catch {
            machine.destroy()
            domain.machine = nil
            hypervisor.removeDomain(domain.id)
            throw error
        }
        let managed = ManagedDomain(spec: spec, domain: domain, machine: machine, console: console)
        domains.withLock { $0[domain.id] = managed }
        do {
            try DaemonDevices.attachXenStore(to: domain, xenstored: xenstored)
            try machine.start(vcpu: VCPUID(0), state: .boot(boot))
            phase("vCPU 0 started")
            try managed.supervise { [weak self] m in self?.stopped(m) }
        } catch {
            _ = managed.requestDestroy()
            teardown(managed)
            managed.finish(outcome: "failed to start")
            throw .build("cannot start domain \(spec.name): \(error)")
        }
        log.info("domain \(domain.id.raw) (\(spec.name)) created: \(spec.memoryMiB) MiB, \(spec.vcpus) vCPU(s)")
        return managed
    }

    /// The supervisor's verdict once every vCPU stopped: xl's on_poweroff / on_reboot /
    /// on_crash (destroy, restart, preserve), or plain teardown after `destroy`.
    private func stopped(_ m: ManagedDomain) {
        m.domain.console.drainRing(memory: m.domain.memory)
        let code = m.domain.shutdownCode ?? UInt8(ShutdownReason.crash.rawValue)
        let outcome = RunOutcome(code: code)
        if m.isDestroyRequested {
            teardown(m)
            m.finish(outcome: "destroyed")
            return
        }
        if let report = m.domain.crashReport { log.warning("domain \(m.id.raw) (\(m.spec.name)) \(report)") }
        let action: DomainSpec.Action = switch outcome {
        case .poweroff: m.spec.onPoweroff
        case .reboot: m.spec.onReboot
        case .crash: m.spec.onCrash
        case .other: .destroy
        }
        log.info("domain \(m.id.raw) (\(m.spec.name)) \(outcome.description): \(action.rawValue)")
        switch action {
        case .preserve:
            m.releaseMachine()
            if !m.preserve(code: code) {
                teardown(m)
                m.finish(outcome: "destroyed")
            }
        case .destroy:
            teardown(m)
            m.finish(outcome: outcome.description)
        case .restart:
            teardown(m)
            m.finish(outcome: outcome.description)
            guard !stopping.load(ordering: .acquiring) else { return }
            guard allowRestart(m.spec.name) else {
                log.warning("domain \(m.spec.name) restarted \(Self.restartBurst) times within a minute: not restarting it")
                return
            }
            do {
                let again = try create(m.spec)
                log.info("domain \(m.spec.name) restarted as \(again.id.raw)")
            } catch {
                log.warning("domain \(m.spec.name): restart failed: \(error)")
            }
        }
    }

    private func allowRestart(_ name: String) -> Bool {
        let now = Host.monotonicNanoseconds()
        return restarts.withLock { r in
            var times = (r[name] ?? []).filter { now - $0 < 60_000_000_000 }
            guard times.count < Self.restartBurst else { return false }
            times.append(now)
            r[name] = times
            return true
        }
    }

    /// Frees everything a domain held: vCPU threads and VM, event channels, grants, timers,
    /// xenstore nodes and watches, console clients; then forgets it.
    private func teardown(_ m: ManagedDomain) {
        let t0 = Host.monotonicNanoseconds()
        m.setPhase(.dying)
        m.releaseMachine()
        log.logger.debug("teardown d\(m.id.raw): machine released after \((Host.monotonicNanoseconds() - t0) / 1000) us")
        DaemonDevices.detachXenStore(from: m.domain, xenstored: xenstored)
        hypervisor.removeDomain(m.id)
        m.console.closeClients()
        _ = domains.withLock { $0.removeValue(forKey: m.id) }
    }

    /// `xl destroy`: the domain goes now, whatever its on_* settings.
    func destroy(_ m: ManagedDomain, wait: Bool) {
        if m.requestDestroy() {
            teardown(m)
            m.finish(outcome: "destroyed")
        }
        if wait {
            m.ended.wait()
            m.joinSupervisor()
        }
    }

    /// `xl shutdown` / `xl reboot`: asks the guest through xenstore's `control/shutdown`, as xl
    /// does for a PV-aware guest. With `wait`, returns once the domain has stopped.
    func requestShutdown(_ m: ManagedDomain, reason: PVControlRequest, wait: Bool, timeoutSeconds: UInt64 = 60) throws(DaemonError) -> String? {
        guard m.phase == .running else { throw .badRequest("domain \(m.spec.name) is not running") }
        do { try DaemonDevices.requestShutdown(m.domain, reason: reason, xenstored: xenstored) } catch {
            throw .badRequest("cannot ask domain \(m.spec.name) to \(reason.rawValue): \(error)")
        }
        guard wait else { return nil }
        let deadline = Host.monotonicNanoseconds() + timeoutSeconds * 1_000_000_000
        guard m.ended.wait(until: deadline) else {
            throw .timedOut("domain \(m.spec.name) did not \(reason.rawValue) within \(timeoutSeconds) s")
        }
        return m.outcome
    }
}

/// Failures of a control request, each a one-line message for the client.
enum DaemonError: Error, CustomStringConvertible {
    case badRequest(String)
    case noSuchDomain(String)
    case build(String)
    case notPermitted(String)
    case timedOut(String)

    var description: String {
        switch self {
        case .badRequest(let m), .build(let m), .notPermitted(let m), .timedOut(let m): m
        case .noSuchDomain(let k): "no domain named or numbered \"\(k)\""
        }
    }
}

extension DomainSpec {
    /// The engine-neutral part, for the hypervisor.
    var domainConfig: DomainConfig {
        DomainConfig(name: name, memoryBytes: memoryMiB << 20, maxMemoryBytes: maxMemoryMiB.map { $0 << 20 },
                     vcpus: vcpus, privileged: privileged, maxGrantFrames: maxGrantFrames,
                     maxEventChannels: maxEventChannels)
    }
}

/// What the daemon refuses before building anything.
enum DaemonValidation {
    static func check(_ spec: DomainSpec) throws(DaemonError) {
        guard !spec.name.isEmpty, spec.name.utf8.count <= 64, !spec.name.contains("/"),
              UInt16(spec.name) == nil else {
            throw .badRequest("name \"\(spec.name)\": 1 to 64 bytes, no '/', not a number")
        }
        guard spec.kernel.hasPrefix("/") else { throw .badRequest("kernel \(spec.kernel): the path must be absolute") }
        guard spec.memoryMiB >= RunOptions.minimumMemoryMiB, spec.memoryMiB <= RunOptions.maximumMemoryMiB else {
            throw .badRequest("memory \(spec.memoryMiB) MiB: must be \(RunOptions.minimumMemoryMiB) to \(RunOptions.maximumMemoryMiB)")
        }
        let maxVCPUs = Host.onlineCPUCount * 4
        guard spec.vcpus >= 1, spec.vcpus <= maxVCPUs else {
            throw .badRequest("vcpus \(spec.vcpus): must be 1 to \(maxVCPUs)")
        }
        guard spec.maxGrantFrames >= 1, spec.maxGrantFrames <= 1024 else {
            throw .badRequest("max_grant_frames \(spec.maxGrantFrames): must be 1 to 1024")
        }
        guard spec.maxEventChannels >= 1, spec.maxEventChannels <= 4096 else {
            throw .badRequest("max_event_channels \(spec.maxEventChannels): must be 1 to 4096")
        }
    }
}
