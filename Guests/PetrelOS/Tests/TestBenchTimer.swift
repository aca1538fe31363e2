// test=bench-timer [n=1000]: n one-shot timers 1 ms apart (TimerSeries); prints
//   bench timer n=N p50_ns=… p99_ns=…
// lateness in pvclock ns (handler time - deadline).

enum TestBenchTimer {
    static func run(_ t: inout TestContext) {
        guard let n = TestRunner.parameter(&t, "n", default: 1000, range: 1...UInt64(Samples.capacity)) else { return }
        guard let r = TimerSeries.run(&t, n: Int(n), period: nsPerMs) else { return }
        out.s("bench timer n=").dec(n).s(" p50_ns=").dec(UInt64(Samples.percentile(50, of: r.samples)))
            .s(" p99_ns=").dec(UInt64(Samples.percentile(99, of: r.samples))).end()
        t.expectEqual("timers lost", r.lost, 0)
    }
}
