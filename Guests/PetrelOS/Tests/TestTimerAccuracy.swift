// test=timeraccuracy [n=1000]: n one-shot timers 1 ms apart, each armed when the
// previous one is delivered (deadline = previous deadline + 1 ms; TimerSeries).
// Prints `timer p50_us=… p99_us=… max_us=… early=E lost=L` (lateness = pvclock at the
// VIRQ_TIMER upcall's entry - deadline; a handler clock before the deadline also counts
// as early) and passes only with no early and no lost timer.

enum TestTimerAccuracy {
    static func run(_ t: inout TestContext) {
        guard let n = TestRunner.parameter(&t, "n", default: 1000, range: 1...UInt64(Samples.capacity)) else { return }
        guard let r = TimerSeries.run(&t, n: Int(n), period: nsPerMs) else { return }
        let p50 = UInt64(Samples.percentile(50, of: r.samples))
        let p99 = UInt64(Samples.percentile(99, of: r.samples))
        let maxLate = r.samples > 0 ? UInt64(Samples.load(r.samples - 1)) : 0
        out.s("timer p50_us=").dec(p50 / 1000).s(" p99_us=").dec(p99 / 1000).s(" max_us=").dec(maxLate / 1000)
            .s(" early=").dec(r.early).s(" lost=").dec(r.lost).end()
        t.expectEqual("timers that fired before their deadline", r.early, 0)
        t.expectEqual("timers lost (no VIRQ_TIMER within 100 ms of the deadline)", r.lost, 0)
        t.expectEqual("VIRQ_TIMER events beyond the series", r.stray, 0)
    }
}
