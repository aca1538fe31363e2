import GuestMemory
import Synchronization
import XenABI

/// One virtual CPU (Xen's `struct vcpu`), engine-neutral: the engine runs it, the core keeps
/// what hypercalls need to know about it.
///
/// Locking: `state` is one mutex over the mutable fields; never held while calling the engine
/// (kicks) or another vCPU.
public final class VCPU: Sendable {
    public let id: VCPUID
    private struct WeakDomain: @unchecked Sendable { weak var domain: Domain? }
    /// Weak: the domain owns its vCPUs.
    private let domainRef = Mutex<WeakDomain>(WeakDomain())

    struct State {
        var lastHypercall: HypercallArgs?
        /// VCPUOP_up has run (vCPU 0 is up from boot).
        var isUp = false
        /// VCPUOP_initialise gave it a context (vCPU 0 is initialised by the builder).
        var initialised = false
        /// `VCPUOP_register_vcpu_info`: where this vCPU's vcpu_info lives instead of
        /// shared_info's slot.
        var registeredVCPUInfo: GPA?
        /// Ports this vCPU waits on in SCHEDOP_poll (empty: not polling).
        var pollPorts: [EvtchnPort] = []
        var runstate = Runstate()
        /// The context VCPUOP_initialise gave (or the boot state), used by VCPUOP_up.
        var startState: VCPUStartState?
        /// The engine thread for this vCPU exists (started once; VCPUOP_down parks it).
        var started = false
        /// `VCPUOP_set_periodic_timer` period, 0 when off.
        var periodicPeriod: UInt64 = 0
        /// The armed one-shot timer (`VCPU+Timers.swift`), nil when none.
        var singleshot: SingleshotTimer?
        /// Source of `SingleshotTimer.token`s.
        var nextTimerToken: UInt64 = 0
        /// `VCPUOP_register_runstate_memory_area`, translated when registered.
        var runstateArea: GPA?
    }
    let state = Mutex<State>(State())
    /// Hard and effective affinity (`VCPU+Affinity.swift`); changed only under the pCPU
    /// table's change lock.
    let placement = Mutex(VCPUPlacement())

    init(id: VCPUID) { self.id = id }

    func attach(to domain: Domain) { domainRef.withLock { $0.domain = domain } }

    /// The owning domain. Whoever runs a vCPU holds its domain, so this is always set.
    public var domain: Domain { domainRef.withLock { $0.domain! } }

    /// The last hypercall this vCPU made (for crash reports).
    public var lastHypercall: HypercallArgs? {
        get { state.withLock { $0.lastHypercall } }
        set { state.withLock { $0.lastHypercall = newValue } }
    }

    public var isUp: Bool { state.withLock { $0.isUp } }

    /// Marks the vCPU running (the boot vCPU, or VCPUOP_up).
    public func markUp(now: UInt64) {
        state.withLock { s in
            s.isUp = true
            s.initialised = true
            s.started = true
            s.runstate.change(to: .running, at: now)
        }
        XenTime.updateVCPUTime(self)
        publishRunstate()
    }

    /// For engines: the vCPU halted waiting for an interrupt (true) or resumed (false).
    public func setRunstateBlocked(_ blocked: Bool) { setRunstate(blocked ? .blocked : .running) }

    /// Records a runstate change (running, blocked, offline) and publishes it.
    func setRunstate(_ new: Runstate.State) {
        let now = domain.systemTimeNow
        state.withLock { $0.runstate.change(to: new, at: now) }
        publishRunstate()
    }

    /// `struct vcpu_runstate_info` as it stands now.
    var runstateInfo: [UInt8] {
        let now = domain.systemTimeNow
        return state.withLock { s in
            var r = s.runstate
            r.change(to: r.state, at: now)  // account the current state up to now
            return VCPURunstateInfo.encode(state: Int32(r.state.rawValue), entryTime: r.entryTime, time: r.time)
        }
    }

    /// Copies the runstate into the registered area, if any (Xen's `update_runstate_area`).
    func publishRunstate() {
        guard let area = state.withLock({ $0.runstateArea }) else { return }
        try? domain.memory.write(runstateInfo, at: area)
    }

    // MARK: vcpu_info

    /// Where this vCPU's `vcpu_info` is: the registered area, else shared_info's slot (vCPUs
    /// below 32), else nowhere yet (events stay pending in shared_info until it exists).
    public var vcpuInfo: GPA? {
        if let r = state.withLock({ $0.registeredVCPUInfo }) { return r }
        guard Int(id.raw) < X86SharedInfo.legacyMaxVCPUs,
              let si = domain.physmap.location(of: .sharedInfo) else { return nil }
        return si.address.advanced(by: UInt64(Int(id.raw) * X86VCPUInfo.size))
    }

    /// Xen's `vcpu_mark_events_pending`: sets `evtchn_upcall_pending` and, if it was clear,
    /// asks the engine to deliver the upcall (kick the vCPU out of guest mode or its halt).
    public func markEventsPending() {
        guard let info = vcpuInfo else { return }
        let old = (try? domain.memory.atomicExchange(1, at: info.advanced(by: UInt64(X86VCPUInfo.Offset.evtchnUpcallPending)))) ?? 1
        if old == 0 { kick() }
    }

    /// True when the guest has an upcall pending in its vcpu_info.
    public var upcallPending: Bool {
        guard let info = vcpuInfo else { return false }
        return ((try? domain.memory.load(UInt8.self, at: info.advanced(by: UInt64(X86VCPUInfo.Offset.evtchnUpcallPending)))) ?? 0) != 0
    }

    /// The vector the engine should inject now, if any: an upcall is pending and the domain
    /// asked for vector delivery (`HVM_PARAM_CALLBACK_IRQ` type 2). Level-triggered, as Xen's
    /// `hvm_vcpu_has_pending_irq`: while upcall_pending stays set, the vector stays asserted.
    public var pendingUpcallVector: UInt8? {
        let via = domain.params[HVMParam.callbackIRQ]
        guard via >> HVMParam.callbackTypeShift == HVMParam.callbackTypeVector else { return nil }
        let vector = UInt8(truncatingIfNeeded: via)
        guard vector >= 0x10, upcallPending else { return nil }
        return vector
    }

    /// Makes the engine look at this vCPU (deliver an upcall, end a block or a poll).
    public func kick() {
        domain.machine?.kick(vcpu: id)
    }
}

/// `struct vcpu_runstate_info`'s bookkeeping (vcpu.h): the current state, when it began, and
/// the time spent in each state.
struct Runstate {
    enum State: Int { case running = 0, runnable = 1, blocked = 2, offline = 3 }
    var state: State = .offline
    var entryTime: UInt64 = 0
    var time: [UInt64] = [0, 0, 0, 0]

    mutating func change(to new: State, at now: UInt64) {
        if now > entryTime { time[state.rawValue] &+= now - entryTime }
        state = new
        entryTime = now
    }
}
