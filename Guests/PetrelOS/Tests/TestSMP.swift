// test=smp (domain with vcpus >= 2; `vcpus=N` on our command line makes the probe
// expect exactly N): secondary vCPUs through xen/vcpu.h, following
// xen/common/domain.c do_vcpu_op and xen/arch/x86/hvm/domain.c:
//   the vCPU count is where VCPUOP_is_up turns -ENOENT; vCPU 0 is up, APs are down
//   and their runstate is offline; VCPUOP_up before VCPUOP_initialise -EINVAL;
//   VCPUOP_initialise rejects a bad mode and a 64-bit context without CR0.PG
//   (-EINVAL), then starts each AP in long mode with every general register as given
//   (rax..rdi, rsp, IF clear); initialise again -EEXIST (also vCPU 0); an unmapped
//   context -EFAULT; vCPU ids >= the count -ENOENT for initialise/up/is_up/runstate;
//   VCPUOP_register_vcpu_info moves vCPU 1's vcpu_info while it is down (a bad offset
//   -EINVAL, a second registration -EINVAL); each AP takes VIRQ_TIMER from its own
//   singleshot timer and an IPI from vCPU 0; set/stop_singleshot_timer for another
//   vCPU -EINVAL; get_runstate_info of a busy AP shows running time; a registered
//   runstate area of vCPU 0 is filled at once and updated after a sleep;
//   VCPUOP_down stops an AP (is_up 0, runstate offline, its counter stops) and
//   VCPUOP_up resumes it where it was; at the end every AP is brought down.

enum TestSMP {
    static func run(_ t: inout TestContext) {
        guard t.startRuntime() else { return }
        let (n, rcProbe) = SMP.probeCount()
        t.expectRC("VCPUOP_is_up past the last vCPU", rcProbe, -XenErrno.ENOENT)
        if let word = Boot.cmdline.value("vcpus"), let want = word.integer {
            t.expectEqual("vCPUs probed vs vcpus= on the command line", UInt64(n), want)
        }
        t.expect("vCPU count", n >= 2, expected: "at least 2 vCPUs (run with --vcpus 2)", got: Int64(n))
        guard t.ok else { return }
        out.s("smp: ").dec(n).s(" vCPUs").end()
        t.expectRC("VCPUOP_is_up(0)", VCPU.isUp(0), 1)
        t.expectRC("bind VIRQ_TIMER on vCPU 0", Timer.bindVirq(cpu: 0), 0)

        beforeStart(&t, n)
        guard t.ok else { return }
        for ap in 1..<n {
            if let f = SMP.start(ap, work: apWork) { return t.fail(f) }
            var again = SMP.context(ap)
            t.expectRC("VCPUOP_initialise of a running vCPU", withGuestAddress(of: &again) { VCPU.initialise(ap, context: $0) },
                       -XenErrno.EEXIST)
        }
        out.s("smp: vCPUs 1..").dec(n - 1).s(" online").end()
        for ap in 1..<n { checkAP(&t, ap) }
        guard t.ok else { return }

        afterStart(&t, n)
        ipis(&t, n)
        runstate(&t, n)
        downUp(&t)
        for ap in 1..<n {
            PerCPU(ap).set(.stop, 1)
            t.expectRC("VCPUOP_down(ap) at the end", VCPU.down(ap), 0)
        }
        Wait.delay(ns: 10 * nsPerMs)
        for ap in 1..<n { t.expectRC("VCPUOP_is_up(ap) after down", VCPU.isUp(ap), 0) }
    }

    /// On each AP: VIRQ_TIMER from its own singleshot timer (scratch 0 = 1 ok, 2 no
    /// event, 3 bind failed), then spin on the heartbeat until told to stop.
    static let apWork: APWork = { cpu in
        let pc = PerCPU(cpu)
        if Timer.bindVirq(cpu: cpu) != 0 {
            pc.setScratch(0, 3)
        } else {
            let before = pc.get(.timerEvents)
            _ = Timer.setSingleshot(Clock.now() + 2 * nsPerMs)
            pc.setScratch(0, Wait.spin(ns: nsPerSec) { pc.get(.timerEvents) > before } ? 1 : 2)
        }
        pc.set(.workDone, 1)
        CPU.enableInterrupts()
        while pc.get(.stop) == 0 {
            pc.add(.heartbeat)
            CPU.pause()
        }
    }

    // MARK: before the APs run

    private static func beforeStart(_ t: inout TestContext, _ n: Int) {
        t.expectRC("VCPUOP_is_up(1) before start", VCPU.isUp(1), 0)
        let area = WorkArea.buffer(0)
        area.fill(0xaa, count: 64)
        t.expectRC("VCPUOP_get_runstate_info(1) before start", VCPU.getRunstateInfo(1, into: area.base), 0)
        t.expectEqual("runstate of a vCPU never started", UInt64(Runstate(region: area).state), UInt64(RUNSTATE_offline))
        t.expectRC("VCPUOP_up before VCPUOP_initialise", VCPU.up(1), -XenErrno.EINVAL)

        var bad = SMP.context(1)
        bad.mode = 7
        t.expectRC("VCPUOP_initialise with mode 7", withGuestAddress(of: &bad) { VCPU.initialise(1, context: $0) },
                   -XenErrno.EINVAL)
        var noPaging = SMP.context(1)
        noPaging.cpu_regs.x86_64.cr0 &= ~(UInt64(1) << 31)
        t.expectRC("VCPUOP_initialise 64-bit without CR0.PG", withGuestAddress(of: &noPaging) { VCPU.initialise(1, context: $0) },
                   -XenErrno.EINVAL)
        t.expectRC("VCPUOP_is_up(1) after refused initialise", VCPU.isUp(1), 0)
        t.expectRC("VCPUOP_up after refused initialise", VCPU.up(1), -XenErrno.EINVAL)

        // vcpu_info of vCPU 1 moves into our memory while it is down (Linux does this
        // for each AP); the offset must leave room for the whole struct.
        let info = SMP.registeredVcpuInfo(1)
        t.expectRC("VCPUOP_register_vcpu_info(1) at offset 4090",
                   VCPU.registerVcpuInfo(1, gfn: info.base / 4096, offset: 4090), -XenErrno.EINVAL)
        t.expectRC("VCPUOP_register_vcpu_info(1)", SMP.registerVcpuInfo(1), 0)
        t.expectRC("VCPUOP_register_vcpu_info(1) twice", SMP.registerVcpuInfo(1), -XenErrno.EINVAL)
    }

    private static func checkAP(_ t: inout TestContext, _ ap: Int) {
        let pc = PerCPU(ap)
        t.expectEqual("AP registers vs vcpu_hvm_context (mismatch bits: 0-6 gprs, 7 rdi, 8 index, 9 IF, 10 rsp)",
                      pc.get(.contextCheck), 0)
        t.expect("AP work done", Wait.spin(ns: 5 * nsPerSec) { pc.get(.workDone) != 0 },
                 expected: "within 5 s", got: Int64(ap))
        t.expectEqual("AP VIRQ_TIMER from its own singleshot timer (1 ok, 2 no event, 3 bind failed)", pc.scratch(0), 1)
        t.expectRC("VCPUOP_is_up(ap)", VCPU.isUp(ap), 1)
    }

    // MARK: after

    private static func afterStart(_ t: inout TestContext, _ n: Int) {
        var ctx = SMP.context(0)
        t.expectRC("VCPUOP_initialise(0)", withGuestAddress(of: &ctx) { VCPU.initialise(0, context: $0) }, -XenErrno.EEXIST)
        t.expectRC("VCPUOP_initialise(count)", withGuestAddress(of: &ctx) { VCPU.initialise(n, context: $0) }, -XenErrno.ENOENT)
        t.expectRC("VCPUOP_initialise(1) with an unmapped context", VCPU.initialise(1, context: unmappedAddress),
                   -XenErrno.EFAULT)
        t.expectRC("VCPUOP_up(count)", VCPU.up(n), -XenErrno.ENOENT)
        t.expectRC("VCPUOP_is_up(count)", VCPU.isUp(n), -XenErrno.ENOENT)
        t.expectRC("VCPUOP_is_up(0xffffffff)", VCPU.isUp(-1), -XenErrno.ENOENT)
        t.expectRC("VCPUOP_up of a running vCPU", VCPU.up(1), 0)
        t.expectRC("VCPUOP_register_vcpu_info(1) while up", SMP.registerVcpuInfo(1), -XenErrno.EINVAL)
        var sst = vcpu_set_singleshot_timer(timeout_abs_ns: Clock.now() + nsPerSec, flags: 0)
        t.expectRC("VCPUOP_set_singleshot_timer for another vCPU",
                   withGuestAddress(of: &sst) { VCPU.op(VCPUOP_set_singleshot_timer, 1, $0) }, -XenErrno.EINVAL)
        t.expectRC("VCPUOP_stop_singleshot_timer for another vCPU", VCPU.op(VCPUOP_stop_singleshot_timer, 1), -XenErrno.EINVAL)
        t.expectRC("vcpu_op unknown op 99", VCPU.op(99, 0), -XenErrno.ENOSYS)
    }

    private static func ipis(_ t: inout TestContext, _ n: Int) {
        for ap in 1..<n {
            let (rc, port) = EventChannel.bindIPI(vcpu: UInt32(ap))
            t.expectRC("bind_ipi(ap)", rc, 0)
            guard t.ok else { return }
            let (rcS, st) = EventChannel.status(port)
            t.expectRC("status(ipi of ap)", rcS, 0)
            t.expectEqual("status(ipi of ap).vcpu", UInt64(st.vcpu), UInt64(ap))
            PerCPU(ap).ipiPort = port
            t.expectRC("unmask ipi of ap", Events.bind(port, cpu: ap, SMP.ipiHandler), 0)
            let before = PerCPU(ap).get(.ipiEvents)
            t.expectRC("send IPI to ap", EventChannel.send(port), 0)
            t.expect("IPI handled on the AP", Wait.spin(ns: nsPerSec) { PerCPU(ap).get(.ipiEvents) > before },
                     expected: "within 1 s", got: Int64(ap))
            Wait.delay(ns: 5 * nsPerMs)
            t.expectEqual("IPI events on the AP for one send", PerCPU(ap).get(.ipiEvents), before + 1)
            t.expectEqual("IPI events on vCPU 0 (must stay on the AP)", PerCPU(0).get(.ipiEvents), 0)
        }
    }

    // MARK: runstate

    private static func runstate(_ t: inout TestContext, _ n: Int) {
        let info = Runstate(region: WorkArea.buffer(1).sub(0, Int(PETREL_RUNSTATE_SIZE)))
        let now = Clock.now()
        t.expectRC("VCPUOP_get_runstate_info(1)", VCPU.getRunstateInfo(1, into: info.region.base), 0)
        t.expect("runstate of a busy AP", info.state == RUNSTATE_running || info.state == RUNSTATE_runnable,
                 expected: "running or runnable", got: Int64(info.state))
        t.expect("runstate of a busy AP: time running", info.time(RUNSTATE_running) > 0, expected: "> 0 ns", got: 0)
        t.expectRange("runstate of a busy AP: state_entry_time", info.entryTime, 1, now + nsPerSec)
        t.expectRange("runstate of a busy AP: sum of times", info.total, 1, now + nsPerSec)
        t.expectRC("VCPUOP_get_runstate_info(0)", VCPU.getRunstateInfo(0, into: info.region.base), 0)
        t.expectEqual("runstate of the calling vCPU", UInt64(info.state), UInt64(RUNSTATE_running))
        t.expectRC("VCPUOP_get_runstate_info(count)", VCPU.getRunstateInfo(n, into: info.region.base),
                   -XenErrno.ENOENT)
        t.expectRC("VCPUOP_get_runstate_info to unmapped memory", VCPU.getRunstateInfo(0, into: unmappedAddress),
                   -XenErrno.EFAULT)

        // Registered area: written at once, then kept current across a sleep.
        let area = Runstate(region: PerCPU(0).runstateArea)
        area.region.fill(0xaa)
        t.expectRC("VCPUOP_register_runstate_memory_area(0)",
                   VCPU.registerRunstateMemoryArea(0, area: area.region.base), 0)
        t.expectEqual("registered runstate area: state", UInt64(area.state), UInt64(RUNSTATE_running))
        t.expectRange("registered runstate area: state_entry_time", area.entryTime, 1, Clock.now() + nsPerSec)
        guard t.ok else { return }
        let entry0 = area.entryTime
        let blocked0 = area.time(RUNSTATE_blocked)
        Timer.sleep(5 * nsPerMs)
        t.expect("registered runstate area: state_entry_time after a sleep", area.entryTime > entry0,
                 expected: "later than before the sleep", got: Int64(bitPattern: area.entryTime))
        t.expect("registered runstate area: time blocked after a sleep", area.time(RUNSTATE_blocked) > blocked0,
                 expected: "more than before the sleep", got: Int64(bitPattern: area.time(RUNSTATE_blocked)))
    }

    // MARK: down / up

    private static func downUp(_ t: inout TestContext) {
        let pc = PerCPU(1)
        let h0 = pc.get(.heartbeat)
        t.expect("AP 1 busy", Wait.spin(ns: nsPerSec) { pc.get(.heartbeat) > h0 }, expected: "heartbeat advancing", got: 0)
        t.expectRC("VCPUOP_down(1)", VCPU.down(1), 0)
        t.expectRC("VCPUOP_is_up(1) after down", VCPU.isUp(1), 0)
        // Down takes effect asynchronously (as in Xen): the AP stops within 1 s, then stays stopped.
        var h1 = pc.get(.heartbeat)
        _ = Wait.spin(ns: nsPerSec) {
            let before = h1
            Wait.delay(ns: 20 * nsPerMs)
            h1 = pc.get(.heartbeat)
            return h1 == before
        }
        Wait.delay(ns: 50 * nsPerMs)
        t.expectEqual("AP 1 heartbeat while down", pc.get(.heartbeat), h1)
        let info = Runstate(region: WorkArea.buffer(1).sub(0, Int(PETREL_RUNSTATE_SIZE)))
        t.expectRC("VCPUOP_get_runstate_info(1) while down", VCPU.getRunstateInfo(1, into: info.region.base), 0)
        t.expectEqual("runstate of a vCPU that is down", UInt64(info.state), UInt64(RUNSTATE_offline))
        t.expectRC("VCPUOP_up(1) again", VCPU.up(1), 0)
        t.expectRC("VCPUOP_is_up(1) after up", VCPU.isUp(1), 1)
        t.expect("AP 1 resumes where it was", Wait.spin(ns: nsPerSec) { pc.get(.heartbeat) > h1 },
                 expected: "heartbeat advancing within 1 s", got: 0)
    }
}
