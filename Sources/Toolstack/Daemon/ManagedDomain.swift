import HostOS
import Hypervisor
import Synchronization
import XenABI

/// A domain the daemon holds: the core's `Domain`, its running machine, the spec it was built
/// from, its console, and the supervisor thread that acts when it stops (xl's on_poweroff,
/// on_reboot, on_crash).
///
/// Locking: `phase` is a mutex; `ended` opens once the domain is gone from the daemon.
final class ManagedDomain: Sendable {
    enum Phase: Sendable, Equatable {
        case running
        /// Stopped and kept (`preserve`): memory held until `destroy`.
        case preserved(code: UInt8)
        /// Being torn down.
        case dying
    }

    let spec: DomainSpec
    let domain: Domain
    let console: ConsoleLog
    /// Host monotonic time at creation.
    let createdAt: UInt64
    private let machineRef: Mutex<(any Machine)?>
    /// The phase and whether `destroy` was asked for, under one lock: a destroy racing with
    /// the supervisor's on_* decision is seen by exactly one of them.
    private let lifecycle = Mutex<(phase: Phase, destroyRequested: Bool)>((.running, false))
    private let supervisorRef = Mutex<HostThread?>(nil)
    /// Opens when the domain has left the daemon; `outcome` then says how it ended.
    let ended = Latch()
    private let outcomeRef = Mutex<String?>(nil)

    init(spec: DomainSpec, domain: Domain, machine: any Machine, console: ConsoleLog) {
        self.spec = spec
        self.domain = domain
        self.console = console
        machineRef = Mutex(machine)
        createdAt = Host.monotonicNanoseconds()
    }

    var id: DomainID { domain.id }
    var machine: (any Machine)? { machineRef.withLock { $0 } }
    var phase: Phase { lifecycle.withLock { $0.phase } }
    var outcome: String? { outcomeRef.withLock { $0 } }
    var isDestroyRequested: Bool { lifecycle.withLock { $0.destroyRequested } }

    /// Starts the supervisor: it waits for the vCPUs to stop and calls `onStop` on its thread.
    func supervise(_ onStop: @escaping @Sendable (ManagedDomain) -> Void) throws(HostError) {
        let t = try HostThread(name: "d\(id.raw)-super") { [self] in
            machine?.join()
            onStop(self)
        }
        supervisorRef.withLock { $0 = t }
    }

    /// Asks for the domain to go without its on_* action (`xl destroy`). Returns true if the
    /// domain is preserved (stopped and kept): the caller tears it down. Otherwise the vCPUs are
    /// stopped and the supervisor tears it down.
    func requestDestroy() -> Bool {
        let preserved = lifecycle.withLock { l -> Bool in
            l.destroyRequested = true
            if case .preserved = l.phase { return true }
            return false
        }
        if !preserved && !domain.isShutDown { domain.shutdown(code: UInt8(ShutdownReason.poweroff.rawValue)) }
        return preserved
    }

    /// The supervisor's `preserve`: false if a destroy came first (then it tears down).
    func preserve(code: UInt8) -> Bool {
        lifecycle.withLock { l -> Bool in
            guard !l.destroyRequested else { return false }
            l.phase = .preserved(code: code)
            return true
        }
    }

    func setPhase(_ p: Phase) { lifecycle.withLock { $0.phase = p } }

    /// Stops and releases the engine's half (threads, VM fd, slots); idempotent.
    func releaseMachine() {
        guard let m = machineRef.withLock({ m -> (any Machine)? in defer { m = nil }; return m }) else { return }
        m.destroy()
        domain.machine = nil
        for v in domain.vcpus { v.markStopped() }
    }

    /// Records how the domain ended and wakes everyone waiting for it.
    func finish(outcome: String) {
        outcomeRef.withLock { $0 = outcome }
        ended.open()
    }

    /// Waits for the supervisor thread (after `ended`), so no thread outlives a destroy.
    func joinSupervisor() {
        if let t = supervisorRef.withLock({ t -> HostThread? in defer { t = nil }; return t }) { t.join() }
    }

    /// xl's state letters: r b p s c d.
    var stateLetters: String {
        let p = phase
        let running = domain.vcpus.contains { $0.report.state == .running || $0.report.state == .runnable }
        let blocked = !running && domain.vcpus.contains { $0.report.state == .blocked }
        let shut: Bool, crashed: Bool
        if case .preserved(let code) = p {
            crashed = code == UInt8(ShutdownReason.crash.rawValue)
            shut = !crashed
        } else {
            shut = false; crashed = false
        }
        let active = p == .running
        return (active && running && !domain.isPaused ? "r" : "-")
            + (active && blocked ? "b" : "-")
            + (domain.isPaused ? "p" : "-")
            + (shut ? "s" : "-")
            + (crashed ? "c" : "-")
            + (p == .dying ? "d" : "-")
    }

    /// Seconds of vCPU time, as xl's Time(s).
    var cpuSeconds: Double {
        Double(domain.vcpus.reduce(UInt64(0)) { $0 + $1.report.runningNanoseconds }) / 1e9
    }
}
