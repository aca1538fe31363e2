import XenABI

/// vCPU timers (xen/common/sched/core.c: `vcpu_singleshot_timer_fn`, `vcpu_periodic_timer_fn`):
/// each fires VIRQ_TIMER on its vCPU. They run on the domain's one timer thread.
extension VCPU {
    var singleshotKey: TimerKey { TimerKey(vcpu: id, kind: .singleshot) }
    var periodicKey: TimerKey { TimerKey(vcpu: id, kind: .periodic) }
    var pollKey: TimerKey { TimerKey(vcpu: id, kind: .poll) }

    /// Host monotonic time of system time `t`.
    func monotonic(ofSystemTime t: UInt64) -> UInt64 { domain.systemTimeBase &+ t }

    /// Arms the one-shot timer at absolute system time `deadline` (ns).
    public func setSingleshotTimer(_ deadline: UInt64) {
        let d = domain
        d.timers.arm(singleshotKey, at: monotonic(ofSystemTime: deadline)) { [weak self] in
            self?.timerFired()
        }
    }

    public func stopSingleshotTimer() { domain.timers.cancel(singleshotKey) }

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
