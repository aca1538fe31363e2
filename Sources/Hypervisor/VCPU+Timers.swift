import XenABI

/// vCPU timers (xen/common/sched/core.c: `vcpu_singleshot_timer_fn`, `vcpu_periodic_timer_fn`):
/// each fires VIRQ_TIMER on its vCPU.
///
/// The periodic timer runs on the domain's one timer thread. The one-shot timer does too
/// while the vCPU runs guest code; while the vCPU blocks (SCHEDOP_block, SCHEDOP_poll, `hlt`)
/// its own thread sleeps until the deadline and fires it (`waitForEvent`), which spares a
/// hop through the timer thread (one host wake-up instead of two). Either way it fires once:
/// `State.singleshot` holds the deadline with a token, and whoever takes it out of the state
/// under the lock fires it; a stale queue callback finds another token, or none.
extension VCPU {
    var singleshotKey: TimerKey { TimerKey(vcpu: id, kind: .singleshot) }
    var periodicKey: TimerKey { TimerKey(vcpu: id, kind: .periodic) }

    /// Host monotonic time of system time `t`.
    func monotonic(ofSystemTime t: UInt64) -> UInt64 { domain.systemTimeBase &+ t }

    /// Arms the one-shot timer at absolute system time `deadline` (ns), replacing any other.
    public func setSingleshotTimer(_ deadline: UInt64) {
        let when = monotonic(ofSystemTime: deadline)
        let armed = state.withLock { s -> SingleshotTimer in
            s.nextTimerToken &+= 1
            let t = SingleshotTimer(deadline: when, token: s.nextTimerToken)
            s.singleshot = t
            return t
        }
        queueSingleshot(armed)
    }

    public func stopSingleshotTimer() {
        state.withLock { $0.singleshot = nil }
        domain.timers.cancel(singleshotKey)
    }

    /// The armed one-shot timer's deadline (host monotonic ns), if any.
    var singleshotDeadline: UInt64? { state.withLock { $0.singleshot?.deadline } }

    private func queueSingleshot(_ t: SingleshotTimer) {
        domain.timers.arm(singleshotKey, at: t.deadline) { [weak self] in
            self?.fireSingleshot(ifToken: t.token)
        }
    }

    /// The timer thread's callback: fires if `token` is still the armed timer.
    private func fireSingleshot(ifToken token: UInt64) {
        let due = state.withLock { s -> Bool in
            guard s.singleshot?.token == token else { return false }
            s.singleshot = nil
            return true
        }
        if due { timerFired() }
    }

    /// Fires the one-shot timer if its deadline is at or before `now` (monotonic ns).
    /// Returns true if it fired.
    @discardableResult
    func fireSingleshotIfDue(now: UInt64) -> Bool {
        let due = state.withLock { s -> Bool in
            guard let t = s.singleshot, t.deadline <= now else { return false }
            s.singleshot = nil
            return true
        }
        if due { timerFired() }
        return due
    }

    /// Sleeps this vCPU's thread (which must be the caller) until `done()` holds or the host
    /// monotonic time reaches `limit`, firing the one-shot timer itself at its deadline on
    /// the way (never before it). Kicks end each sleep so `done` is looked at again. The timer
    /// leaves the timer thread for the duration and goes back to it if still armed, so it
    /// fires exactly once whichever thread gets it.
    /// Returns false if it stopped because `limit` passed.
    ///
    /// The last `HostServices.wakeSpinNanoseconds` before a deadline are spent polling the
    /// clock (and `done`) instead of asleep, as KVM's halt polling does: a sleeping thread wakes
    /// tens of microseconds late on a nested host, a polling one on time.
    @discardableResult
    public func waitForEvent(until limit: UInt64? = nil, _ done: () -> Bool) -> Bool {
        guard let machine = domain.machine else { return done() }
        if done() { return true }
        let services = domain.hypervisor.services
        domain.timers.cancel(singleshotKey)
        defer {
            if let t = state.withLock({ $0.singleshot }) { queueSingleshot(t) }
        }
        while !done() {
            let now = services.monotonicNanoseconds()
            if fireSingleshotIfDue(now: now) { continue }
            if let limit, now >= limit { return false }
            var wake = limit
            if let t = singleshotDeadline { wake = min(wake ?? t, t) }
            let spin = services.wakeSpinNanoseconds
            if let w = wake, spin > 0, w - now <= spin {
                continue  // close enough: poll (the loop looks at `done` and the clock again)
            }
            machine.block(vcpu: id, until: wake.map { $0 - spin })
        }
        return true
    }

    /// Starts (period > 0) or stops the periodic timer.
    public func setPeriodicTimer(_ period: UInt64) {
        state.withLock { $0.periodicPeriod = period }
        let d = domain
        guard period > 0 else { d.timers.cancel(periodicKey); return }
        armPeriodic(at: d.hypervisor.services.monotonicNanoseconds() &+ period)
    }

    private func armPeriodic(at when: UInt64) {
        domain.timers.arm(periodicKey, at: when) { [weak self] in
            guard let self else { return }
            let period = self.state.withLock { $0.periodicPeriod }
            guard period > 0 else { return }
            self.timerFired()
            // Next tick from the deadline, not from now, so the period does not drift; skip
            // ticks the guest slept through rather than firing them in a burst.
            let now = self.domain.hypervisor.services.monotonicNanoseconds()
            var next = when &+ period
            if next <= now { next = now &+ period }
            self.armPeriodic(at: next)
        }
    }

    /// `send_timer_event`: VIRQ_TIMER to this vCPU, with fresh time.
    func timerFired() {
        let d = domain
        guard !d.isShutDown else { return }
        XenTime.updateVCPUTime(self)
        d.evtchn.raiseVIRQ(.timer, on: id)
    }
}

/// The armed one-shot timer: its host monotonic deadline and a token naming this arming.
struct SingleshotTimer: Equatable {
    var deadline: UInt64
    var token: UInt64
}
