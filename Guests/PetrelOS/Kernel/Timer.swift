// vCPU timers (xen/vcpu.h, xen.h): the singleshot timer (VCPUOP_set_singleshot_timer,
// or set_timer_op, hypercall 15), the periodic timer, both raising VIRQ_TIMER on the
// vCPU they belong to; sleep() on top of them and SCHEDOP_block.
// Deadlines are absolute Xen system time in ns (Clock.now()).

enum Timer {
    /// VCPUOP_set_singleshot_timer for `vcpu` (Xen only allows the calling vCPU).
    static func setSingleshot(_ deadline: UInt64, flags: UInt32 = 0, vcpu: Int = CPU.index) -> Int64 {
        var arg = vcpu_set_singleshot_timer(timeout_abs_ns: deadline, flags: flags)
        return withGuestAddress(of: &arg) { VCPU.op(VCPUOP_set_singleshot_timer, vcpu, $0) }
    }

    /// VCPUOP_stop_singleshot_timer.
    static func stopSingleshot(vcpu: Int = CPU.index) -> Int64 {
        VCPU.op(VCPUOP_stop_singleshot_timer, vcpu)
    }

    /// HYPERVISOR_set_timer_op(deadline): the same singleshot timer; 0 stops it.
    static func setTimerOp(_ deadline: UInt64) -> Int64 {
        Xen.call(__HYPERVISOR_set_timer_op, deadline)
    }

    /// VCPUOP_set_periodic_timer (Xen requires period >= 1 ms).
    static func setPeriodic(_ period: UInt64, vcpu: Int = CPU.index) -> Int64 {
        var arg = vcpu_set_periodic_timer(period_ns: period)
        return withGuestAddress(of: &arg) { VCPU.op(VCPUOP_set_periodic_timer, vcpu, $0) }
    }

    /// VCPUOP_stop_periodic_timer.
    static func stopPeriodic(vcpu: Int = CPU.index) -> Int64 {
        VCPU.op(VCPUOP_stop_periodic_timer, vcpu)
    }

    /// Counts VIRQ_TIMER events and records the pvclock at each (PerCPU timerEvents/timerLast).
    static let standardHandler: EventHandler = { _ in
        let pc = PerCPU.current
        pc.set(.timerLast, Clock.now())
        pc.add(.timerEvents)
    }

    /// Binds VIRQ_TIMER for `cpu` (EVTCHNOP_bind_virq) to `handler`; the port goes to
    /// PerCPU.timerPort. Returns the bind result.
    static func bindVirq(cpu: Int, _ handler: EventHandler = standardHandler) -> Int64 {
        let (rc, port) = EventChannel.bindVirq(UInt32(VIRQ_TIMER), vcpu: UInt32(cpu))
        guard rc == 0 else { return rc }
        PerCPU(cpu).timerPort = port
        Events.bind(port, cpu: cpu, handler)
        return 0
    }

    /// Sleeps `ns` on the running vCPU: singleshot timer + SCHEDOP_block until the
    /// deadline passes. Needs VIRQ_TIMER bound on this vCPU. Returns with IF as it was.
    static func sleep(_ ns: UInt64) {
        let deadline = Clock.now() &+ ns
        CPU.withInterruptsDisabled {
            while Clock.now() < deadline {
                // Re-armed each time: an early or unrelated wakeup must not strand us.
                _ = setSingleshot(deadline)
                Sched.block()
            }
        }
    }
}
