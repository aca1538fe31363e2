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
        if name.equals("version") { return needXen("version", TestVersion.run) }
        if name.equals("hvmparam") { return needXen("hvmparam", TestHVMParam.run) }
        if name.equals("memory") { return needXen("memory", TestMemory.run) }
        if name.equals("enosys") { return needXen("enosys", TestEnosys.run) }
        if name.equals("sched") { return needXen("sched", TestSched.run) }
        if name.equals("bench-hypercall") { return TestBenchHypercall.run() }

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
}
