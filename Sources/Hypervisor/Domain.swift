import GuestMemory
import Synchronization
import XenABI

/// One guest domain (Xen's `struct domain`): its memory, vCPUs, params, console, event channels
/// and shutdown state. Engine-neutral; the engine's half lives in `machine`.
///
/// Locking: each piece of mutable state has its own mutex; none is held while calling out
/// (to the engine, the console sink, or another domain).
public final class Domain: Sendable {
    public let id: DomainID
    public let config: DomainConfig
    public let memory: GuestPhysicalMemory
    public unowned let hypervisor: Hypervisor
    public let params: HVMParams
    public let console: Console
    public let eventChannels: EventChannelTable
    public let physmap: Physmap
    public let grantTable: GrantTable
    public let vcpus: [VCPU]
    /// The toolstack's pause count (`xl pause` / `unpause`).
    public let pauseState = DomainPause()
    /// The domain's timers (singleshot, periodic, poll timeouts): one host thread.
    public let timers: any TimerQueue
    /// Host monotonic time at which the domain's system time (pvclock) is zero.
    public let systemTimeBase: UInt64
    /// Host realtime at `systemTimeBase` (the wallclock in shared_info).
    public let wallclockBase: UInt64

    private struct ShutdownState {
        /// The raw `SHUTDOWN_*` code (Xen keeps it as a u8; unknown values pass through).
        var code: UInt8?
        var pendingCode: UInt8?
        var crash: GuestCrashReport?
    }
    private let shutdownState = Mutex<ShutdownState>(ShutdownState())
    private let machineRef = Mutex<(any Machine)?>(nil)
    private let memmapTable = Mutex<[HVMMemmapEntry]>([])

    init(id: DomainID, config: DomainConfig, hypervisor: Hypervisor) throws {
        self.id = id
        self.config = config
        self.hypervisor = hypervisor
        memory = GuestPhysicalMemory()
        params = HVMParams()
        console = Console()
        eventChannels = EventChannelTable(limit: config.maxEventChannels)
        physmap = try Physmap(maxGrantFrames: config.maxGrantFrames)
        grantTable = GrantTable(domid: id, memory: memory, physmap: physmap, maxFrames: config.maxGrantFrames)
        vcpus = (0..<max(1, config.vcpus)).map { VCPU(id: VCPUID(UInt32($0))) }
        timers = hypervisor.services.makeTimerQueue(name: "d\(id.raw)-timers")
        systemTimeBase = hypervisor.services.monotonicNanoseconds()
        wallclockBase = hypervisor.services.realtimeNanoseconds()
        for v in vcpus { v.attach(to: self) }
        console.attach(to: self)
    }

    public var name: String { config.name }

    /// Nanoseconds of system time (what pvclock reports) at host monotonic time `now`.
    public func systemTime(atMonotonic now: UInt64) -> UInt64 { now &- systemTimeBase }

    /// System time now.
    public var systemTimeNow: UInt64 { systemTime(atMonotonic: hypervisor.services.monotonicNanoseconds()) }

    // MARK: Engine

    public var machine: (any Machine)? {
        get { machineRef.withLock { $0 } }
        set { machineRef.withLock { $0 = newValue } }
    }

    public func vcpu(_ id: VCPUID) -> VCPU? {
        Int(id.raw) < vcpus.count ? vcpus[Int(id.raw)] : nil
    }

    // MARK: Memory map

    /// The memory map the guest was given (start info and `XENMEM_memory_map`).
    public var memmap: [HVMMemmapEntry] {
        get { memmapTable.withLock { $0 } }
        set { memmapTable.withLock { $0 = newValue } }
    }

    // MARK: Shutdown (SCHEDOP_shutdown, crash reports)

    /// Records the first shutdown request; later ones are ignored, as in Xen's `domain_shutdown`.
    /// Every vCPU is kicked so the engine stops them.
    public func shutdown(code: UInt8) {
        let first = shutdownState.withLock { s -> Bool in
            guard s.code == nil else { return false }
            s.code = code
            return true
        }
        if first, let m = machine {
            for v in vcpus { m.kick(vcpu: v.id) }
        }
    }

    public func shutdown(_ reason: ShutdownReason) { shutdown(code: UInt8(reason.rawValue)) }

    /// The engine gave up on a vCPU: the domain crashes with a report (Xen's `domain_crash`).
    public func crash(_ report: GuestCrashReport) {
        shutdownState.withLock { s in
            if s.crash == nil && (s.code == nil || s.code == UInt8(ShutdownReason.crash.rawValue)) { s.crash = report }
        }
        shutdown(.crash)
    }

    /// `SCHEDOP_shutdown_code`: the code the toolstack sees if the domain later stops for a
    /// reason of its own making (a crash it could not report).
    public func setShutdownCode(_ code: UInt8) {
        shutdownState.withLock { $0.pendingCode = code }
    }

    /// The raw shutdown code, once the domain has shut down.
    public var shutdownCode: UInt8? { shutdownState.withLock { $0.code } }
    /// The shutdown reason, when the code is one Xen defines.
    public var shutdownReason: ShutdownReason? { shutdownCode.flatMap { ShutdownReason(rawValue: UInt32($0)) } }
    public var isShutDown: Bool { shutdownCode != nil }
    public var pendingShutdownCode: UInt8? { shutdownState.withLock { $0.pendingCode } }
    public var crashReport: GuestCrashReport? { shutdownState.withLock { $0.crash } }
}
