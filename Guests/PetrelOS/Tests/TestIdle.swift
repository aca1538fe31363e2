// test=idle: a guest that stays up until the toolstack ends it: prints `idle up`, then
// sleeps in 50 ms steps (singleshot timer + SCHEDOP_block) and prints `idle tick N` each
// second (`ticks=N` ends it after N ticks with PASS; default never). For daemon tests:
// pause, destroy, other domains crashing around it.

enum TestIdle {
    static func run(_ t: inout TestContext) {
        guard t.startRuntime() else { return }
        t.expectRC("bind VIRQ_TIMER on vCPU 0", Timer.bindVirq(cpu: 0), 0)
        guard t.ok, let ticks = TestRunner.parameter(&t, "ticks", default: UInt64.max) else { return }
        CPU.enableInterrupts()
        out.s("idle up").end()
        var n: UInt64 = 0
        var next = Clock.now() + nsPerSec
        while n < ticks {
            Timer.sleep(50 * nsPerMs)
            if Clock.now() >= next {
                n += 1
                next += nsPerSec
                out.s("idle tick ").dec(n).end()
            }
        }
        CPU.disableInterrupts()
    }
}
