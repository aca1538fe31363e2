// `test=NAME` dispatch and the check helper every test uses.
//
// Protocol: a test prints exactly one verdict line, `PASS NAME` or
// `FAIL NAME: <check>: expected <x> got <y>`, then the kernel powers off
// (SHUTDOWN_poweroff). shutdown/crash/fault/triplefault end the domain themselves.

struct TestContext {
    let name: StaticString
    private(set) var failed = false

    init(_ name: StaticString) { self.name = name }

    var ok: Bool { !failed }

    /// Fails with "check: why" (no values).
    @inline(never)
    mutating func fail(_ check: StaticString, _ why: StaticString = "") {
        guard !failed else { return }
        failed = true
        let o = out.s("FAIL ").s(name).s(": ").s(check)
        if why.utf8CodeUnitCount > 0 { o.s(": ").s(why) }
        o.end()
    }

    /// Checks a hypercall result (signed, errnos named).
    @inline(never)
    mutating func expectRC(_ check: StaticString, _ got: Int64, _ expected: Int64) {
        guard !failed, got != expected else { return }
        failed = true
        out.s("FAIL ").s(name).s(": ").s(check).s(": expected ").rc(expected).s(" got ").rc(got).end()
    }

    /// Checks an unsigned value (printed in hex).
    @inline(never)
    mutating func expectEqual(_ check: StaticString, _ got: UInt64, _ expected: UInt64) {
        guard !failed, got != expected else { return }
        failed = true
        out.s("FAIL ").s(name).s(": ").s(check).s(": expected ").hex(expected).s(" got ").hex(got).end()
    }

    /// Checks a condition; `expected` describes it, `got` is the value that broke it.
    @inline(never)
    mutating func expect(_ check: StaticString, _ condition: Bool, expected: StaticString, got: Int64) {
        guard !failed, !condition else { return }
        failed = true
        out.s("FAIL ").s(name).s(": ").s(check).s(": expected ").s(expected).s(" got ").int(got).end()
    }

    /// Checks a hypercall result that may legitimately be one of two values.
    @inline(never)
    mutating func expectRC(_ check: StaticString, _ got: Int64, _ expected: Int64, or alternative: Int64) {
        guard !failed, got != expected, got != alternative else { return }
        failed = true
        out.s("FAIL ").s(name).s(": ").s(check).s(": expected ").rc(expected).s(" or ").rc(alternative)
            .s(" got ").rc(got).end()
    }

    /// Checks an unsigned value against a range [low, high] (printed in decimal).
    @inline(never)
    mutating func expectRange(_ check: StaticString, _ got: UInt64, _ low: UInt64, _ high: UInt64) {
        guard !failed, got < low || got > high else { return }
        failed = true
        out.s("FAIL ").s(name).s(": ").s(check).s(": expected ").dec(low).s("..").dec(high).s(" got ").dec(got).end()
    }

    /// Reports a failed SMP.start.
    mutating func fail(_ f: SMPFailure) {
        if f.rc != 0 { expectRC(f.check, f.rc, 0) } else { fail(f.check) }
    }

    /// Starts the Xen runtime (shared_info, event upcall): Events.start().
    mutating func startRuntime() -> Bool {
        expectRC("runtime start (shared_info, HVM_PARAM_CALLBACK_IRQ)", Events.start(), 0)
        return ok
    }

    /// Prints the verdict line if no check failed.
    func finish() {
        if !failed { out.s("PASS ").s(name).end() }
    }
}

/// An address no PetrelOS page table maps (only the first 4 GiB are mapped), for
/// -EFAULT checks: the hypervisor's walk of our page tables fails there.
let unmappedAddress: UInt64 = 0x7fff_ffff_f000

enum TestRunner {
    static func run(_ name: CmdlineWord) {
        if name.equals("boot") { return TestBoot.run() }
        if name.equals("shutdown") { return TestShutdown.run() }
        if name.equals("crash") { return TestCrash.run() }
        if name.equals("fault") { return TestFault.run() }
        if name.equals("triplefault") { return TestTripleFault.run() }

        // Everything below talks to Xen.
        if name.equals("console") { return needXen("console", TestConsole.run) }
        if name.equals("ring") { return needXen("ring", TestRing.run) }
        if name.equals("echo") { return needXen("echo", TestEcho.run) }
        if name.equals("consoleread") { return needXen("consoleread", TestConsoleRead.run) }
        if name.equals("version") { return needXen("version", TestVersion.run) }
        if name.equals("hvmparam") { return needXen("hvmparam", TestHVMParam.run) }
        if name.equals("memory") { return needXen("memory", TestMemory.run) }
        if name.equals("enosys") { return needXen("enosys", TestEnosys.run) }
        if name.equals("sched") { return needXen("sched", TestSched.run) }
        if name.equals("bench-hypercall") { return TestBenchHypercall.run() }

        // The Xen runtime: events, time, timers, SMP, grant tables.
        if name.equals("evtchn") { return needXen("evtchn", TestEvtchn.run) }
        if name.equals("timer") { return needXen("timer", TestTimer.run) }
        if name.equals("smp") { return needXen("smp", TestSMP.run) }
        if name.equals("ipi") { return needXen("ipi", TestIPI.run) }
        if name.equals("grant") { return needXen("grant", TestGrant.run) }
        if name.equals("storm") { return needXen("storm", TestStorm.run) }
        if name.equals("timeraccuracy") { return needXen("timeraccuracy", TestTimerAccuracy.run) }
        if name.equals("bench-evtchn") { return needXen("bench-evtchn", TestBenchEvtchn.run) }
        if name.equals("bench-timer") { return needXen("bench-timer", TestBenchTimer.run) }
        if name.equals("idle") { return needXen("idle", TestIdle.run) }
        if name.equals("bench-gntcopy") { return needXen("bench-gntcopy", TestBenchGntcopy.run) }
        if name.equals("xenstore") { return needXen("xenstore", TestXenStore.run) }
        if name.equals("xsshutdown") { return needXen("xsshutdown", TestXsShutdown.run) }
        if name.equals("grantro") { return needXen("grantro", TestGrantRO.run) }
        if name.equals("ringfront") { return needXen("ringfront", TestRingFront.run) }
        if name.equals("ringback") { return needXen("ringback", TestRingBack.run) }
        if name.equals("ringspy") { return needXen("ringspy", TestRingSpy.run) }
        if name.equals("bench-xenstore") { return needXen("bench-xenstore", TestBenchXenStore.run) }
        if name.equals("pcpu") { return needXen("pcpu", TestPCPU.run) }

        out.s("FAIL ").bytes(name.region, count: name.count).s(": unknown test").end()
    }

    private static func needXen(_ name: StaticString, _ body: (inout TestContext) -> Void) {
        var t = TestContext(name)
        if !Xen.present {
            t.fail("Xen not found", "no XenVMMXenVMM CPUID signature")
            return
        }
        body(&t)
        t.finish()
    }

    /// `key=N` from the command line, `fallback` if absent; nil (after a FAIL line) if malformed.
    static func parameter(_ t: inout TestContext, _ key: StaticString, default fallback: UInt64,
                          range: ClosedRange<UInt64> = 1...UInt64.max) -> UInt64? {
        guard let word = Boot.cmdline.value(key) else { return fallback }
        guard let v = word.integer, range.contains(v) else {
            t.fail("bad command-line value", "")
            out.s("bad ").s(key).s("=").bytes(word.region, count: word.count).end()
            return nil
        }
        return v
    }
}
