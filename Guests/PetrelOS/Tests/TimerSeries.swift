// A chain of one-shot timers on vCPU 0 for test=timeraccuracy and test=bench-timer:
// timer k+1 is armed by the VIRQ_TIMER handler of timer k, one period after that handler
// ran (so deadlines are at least a period apart, and a guest whose own handling takes
// most of a period, as here, does not fall ever further behind a fixed schedule). The handler records lateness = pvclock when the upcall began (its entry
// TSC, Clock.atUpcallEntry) - deadline in Samples: when the event reached the guest,
// not counting the guest's own dispatching (each guest instruction costs ~1 µs on this
// host). An event before its deadline counts as early, with lateness 0; so does a
// handler that runs before its deadline. The handler's own clock minus the entry's is
// summed too (dispatch, the guest's part). The vCPU idles in
// SCHEDOP_poll on the timer port (Sched.poll with the IF window) with a timeout of
// deadline + 100 ms; a timer that has not fired by then is lost and the chain goes
// on from now.

enum TimerSeries {
    /// State in WorkArea.shared: 0 deadline, 8 next index, 16 n, 24 early, 32 period, 40 stray,
    /// 48 samples, 56 dispatch ns (sum of handler clock - upcall entry).
    static var state: PhysRegion { WorkArea.shared.sub(1024, 64) }
    static let lostAfter: UInt64 = 100 * nsPerMs

    static let handler: EventHandler = { _ in
        let arrived = Clock.atUpcallEntry()
        let now = Clock.now()
        let s = TimerSeries.state
        let i = s.load64(8)
        let n = s.load64(16)
        guard i < n else {
            s.fetchAdd64(40, 1)
            return
        }
        let deadline = s.load64(0)
        let filled = Int(s.load64(48))
        if arrived < deadline || now < deadline {
            s.fetchAdd64(24, 1)
            Samples.store(filled, 0)
        } else {
            Samples.store(filled, UInt32(clamping: arrived - deadline))
        }
        if now > arrived { s.fetchAdd64(56, now - arrived) }
        s.store64(48, UInt64(filled + 1))
        s.store64(8, i + 1)
        let next = now + s.load64(32)
        s.store64(0, next)
        // set_timer_op: the same one-shot timer as VCPUOP_set_singleshot_timer, with the
        // deadline in a register (no argument struct to build here or to copy in on the host).
        if i + 1 < n { _ = Timer.setTimerOp(next) }
    }

    struct Result {
        var samples: Int
        var early: UInt64
        var lost: UInt64
        var stray: UInt64
        /// Mean ns from the upcall's entry to the handler's clock read (guest dispatch).
        var dispatchNs: UInt64
    }

    /// Binds VIRQ_TIMER on vCPU 0 to the series handler and runs `n` timers.
    static func run(_ t: inout TestContext, n: Int, period: UInt64) -> Result? {
        precondition(n <= Samples.capacity)
        guard t.startRuntime() else { return nil }
        t.expectRC("VCPUOP_stop_periodic_timer", Timer.stopPeriodic(), 0)
        t.expectRC("bind VIRQ_TIMER on vCPU 0", Timer.bindVirq(cpu: 0, handler), 0)
        guard t.ok else { return nil }
        let port = PerCPU(0).timerPort
        let s = state
        s.fill(0)
        s.store64(16, UInt64(n))
        s.store64(32, period)
        CPU.disableInterrupts()
        s.store64(0, Clock.now() + period)
        t.expectRC("VCPUOP_set_singleshot_timer", Timer.setSingleshot(s.load64(0)), 0)
        guard t.ok else { return nil }
        var lost: UInt64 = 0
        while s.load64(8) < UInt64(n) {
            let deadline = s.load64(0)
            let now = Clock.now()
            if now > deadline + lostAfter {
                // A vCPU the host preempted past the window may find the event pending but
                // not yet handled (interrupts are off here): let it in before calling it lost.
                let before = s.load64(8)
                Wait.delay(ns: 2 * nsPerMs)
                CPU.disableInterrupts()
                if s.load64(8) != before { continue }
                lost += 1
                let i = s.load64(8) + 1
                s.store64(8, i)
                s.store64(0, now + period)
                if i < UInt64(n) { _ = Timer.setSingleshot(now + period) }
                continue
            }
            _ = Sched.poll(port: port, timeout: deadline + lostAfter + 1, window: true)
        }
        _ = Timer.stopSingleshot()
        let samples = Int(s.load64(48))
        Samples.sort(samples)
        return Result(samples: samples, early: s.load64(24), lost: lost, stray: s.load64(40),
                      dispatchNs: samples > 0 ? s.load64(56) / UInt64(samples) : 0)
    }
}
