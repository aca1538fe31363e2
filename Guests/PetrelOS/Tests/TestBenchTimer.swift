// test=bench-timer [n=1000]: n one-shot timers 1 ms apart (TimerSeries); prints
//   bench timer n=N p50_ns=… p99_ns=… dispatch_ns=…
// lateness in pvclock ns (upcall entry - deadline: when the event reached the guest);
// dispatch_ns is the mean further delay to the handler's clock read (guest code).

enum TestBenchTimer {
    static func run(_ t: inout TestContext) {
        guard let n = TestRunner.parameter(&t, "n", default: 1000, range: 1...UInt64(Samples.capacity)) else { return }
        guard let r = TimerSeries.run(&t, n: Int(n), period: nsPerMs) else { return }
        out.s("bench timer n=").dec(n).s(" p50_ns=").dec(UInt64(Samples.percentile(50, of: r.samples)))
            .s(" p99_ns=").dec(UInt64(Samples.percentile(99, of: r.samples)))
            .s(" dispatch_ns=").dec(r.dispatchNs).end()
        t.expectEqual("timers lost", r.lost, 0)
    }
}
