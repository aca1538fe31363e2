// test=pcpu mode=load and mode=bench (see TestPCPU.swift): a guest whose vCPU threads the
// host moves, and the guest's side of `petrel bench pcpu`.

enum TestPCPULoad {
    /// The sleep step of every vCPU (`tick=` ms, default 5); APs read it once they run.
    nonisolated(unsafe) static var tick: UInt64 = 5 * nsPerMs

    /// Every vCPU up and sleeping in `tick` steps (so each vCPU thread runs, and shows where,
    /// 1/tick times a second), until the domain is destroyed.
    static func load(_ t: inout TestContext) {
        guard let ms = TestRunner.parameter(&t, "tick", default: 5, range: 1...10_000) else { return }
        tick = ms * nsPerMs
        t.expectRC("bind VIRQ_TIMER on vCPU 0", Timer.bindVirq(cpu: 0), 0)
        let (n, _) = SMP.probeCount()
        guard t.ok else { return }
        for ap in 1..<max(n, 1) {
            if let f = SMP.start(ap, work: sleeper) { return t.fail(f) }
        }
        out.s("pcpu load up vcpus=").dec(n).end()
        while true { Timer.sleep(tick) }
    }

    static let sleeper: APWork = { cpu in
        guard Timer.bindVirq(cpu: cpu) == 0 else { return }
        while true { Timer.sleep(TestPCPULoad.tick) }
    }

    /// `n` full enumerations (PCPU.sync: every XENPF_get_cpuinfo, compare, commit), `n`
    /// xen_version round trips and `n` bare XENPF_get_cpuinfo(0) calls, timed by the pvclock;
    /// then watches quietly for the host's offline/online cycles.
    static func bench(_ t: inout TestContext) {
        guard let n = TestRunner.parameter(&t, "n", default: 200, range: 1...1_000_000) else { return }
        do { try PCPU.start() } catch { return t.expectRC("pcpu start (bind VIRQ_PCPU_STATE, enumerate)", -error.errno, 0) }
        let cpus = UInt64(PCPU.maxPresent) + 1
        var i: UInt64 = 0
        let t0 = Clock.now()
        while i < n {
            do { try PCPU.sync() } catch { return t.expectRC("enumeration", -error.errno, 0) }
            i += 1
        }
        let enumNs = Clock.now() &- t0
        i = 0
        let t1 = Clock.now()
        while i < n {
            _ = Xen.version(XENVER_version)
            i += 1
        }
        let callNs = Clock.now() &- t1
        i = 0
        let t2 = Clock.now()
        while i < n {
            _ = PlatformOp.getCPUInfo(0)
            i += 1
        }
        let infoNs = Clock.now() &- t2
        out.s("bench pcpu-enum n=").dec(n).s(" cpus=").dec(cpus).s(" ns_per_cpu=").dec(enumNs / n / cpus)
            .s(" hypercall_ns=").dec(callNs / n).s(" getcpuinfo_ns=").dec(infoNs / n).end()
        TestPCPU.watch(&t, quiet: true)
    }
}
