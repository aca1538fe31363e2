// test=storm [n=100000] [seed=S]: a deterministic PRNG (splitmix64) drives n random
// event-channel, grant-table, sched and timer hypercalls: valid and invalid commands
// (incl. unknown numbers and continuation bits), random arguments (ports, refs,
// domids, vCPUs, counts, offsets) and random argument pointers (valid scratch,
// unmapped, non-canonical, a gfn with no memory). Every result must be >= 0 or minus
// an errno of xen/errno.h, and every grant op status within GNTST_*. Afterwards an
// IPI must still be delivered. Prints `storm n=… seed=… ok=… positive=… EINVAL=… …`.
//
// Kept out, because they legitimately end or stall the domain: SCHEDOP_shutdown and
// shutdown_code (only with an unmapped argument), remote_shutdown of ourselves, a new
// watchdog (id 0), VCPUOP_down/initialise/up, block or poll without a bound (block
// only with an event already pending, poll always with a timeout <= 200 us), copies
// into our own memory other than one scratch page, closing the storm's own IPI and
// timer ports (EVTCHNOP_reset does close them: they are bound again after it).

struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (bound > 0; the tiny modulo bias does not matter here).
    mutating func below(_ bound: UInt64) -> UInt64 { next() % bound }

    /// True with probability percent/100.
    mutating func chance(_ percent: UInt64) -> Bool { below(100) < percent }
}

/// EVTCHNOP_reset_cont (14): event_channel.h defines it for Xen itself only.
let evtchnopResetCont: Int32 = 14

enum TestStorm {
    // Scratch pages: argument structs, port/frame lists, the one page copies may write.
    static var structs: PhysRegion { WorkArea.buffer(4) }
    static var lists: PhysRegion { WorkArea.buffer(5) }
    static var copyTarget: PhysRegion { WorkArea.buffer(6) }
    /// Outcome counters: [0] ok, [1] positive, [2 + errno] -errno.
    static var outcomes: PhysRegion { WorkArea.buffer(7) }
    /// Recently returned ports (8), storm state.
    static var state: PhysRegion { WorkArea.shared.sub(512, 256) }
    static let kickPortOffset = 64, kicksOffset = 72, ownDomidOffset = 80, vcpusOffset = 88, recentNext = 96
    static let ramGfnsOffset = 104, holeGfnOffset = 112

    static let kickHandler: EventHandler = { _ in TestStorm.state.fetchAdd64(TestStorm.kicksOffset, 1) }

    static var kickPort: UInt32 { UInt32(state.load64(kickPortOffset)) }
    static var timerPort: UInt32 { PerCPU(0).timerPort }
    static var ownDomid: UInt16 { UInt16(state.load64(ownDomidOffset)) }

    enum Family: UInt64 { case evtchn = 0, gnttab = 1, sched = 2, timer = 3 }

    static func run(_ t: inout TestContext) {
        guard t.startRuntime() else { return }
        guard let n = TestRunner.parameter(&t, "n", default: 100_000),
              let seed = TestRunner.parameter(&t, "seed", default: 1, range: 0...UInt64.max) else { return }
        state.fill(0)
        outcomes.fill(0)
        let (rcA, a) = EventChannel.allocUnbound()
        t.expectRC("alloc_unbound (own domid)", rcA, 0)
        guard t.ok else { return }
        state.store64(ownDomidOffset, UInt64(EventChannel.status(a).status.u.unbound.dom))
        _ = EventChannel.close(a)
        state.store64(vcpusOffset, UInt64(SMP.probeCount().count))
        state.store64(ramGfnsOffset, max(UInt64(1), (Boot.startInfo?.ramEnd ?? 0) / 4096))
        state.store64(holeGfnOffset, Physmap.holeGfn)
        t.expectRC("bind the storm's own ports", protect(), 0)
        guard t.ok else { return }

        var rng = SplitMix64(state: seed)
        var perFamily: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let start = Clock.now()
        CPU.enableInterrupts()
        defer { CPU.disableInterrupts() }
        var i: UInt64 = 0
        while i < n {
            let pick = rng.below(100)
            let family: Family = pick < 40 ? .evtchn : pick < 75 ? .gnttab : pick < 90 ? .sched : .timer
            var cmd: UInt64 = 0
            var rc: Int64 = 0
            var statusOK = true
            switch family {
            case .evtchn:
                perFamily.0 += 1
                (cmd, rc) = evtchnOp(&rng)
            case .gnttab:
                perFamily.1 += 1
                (cmd, rc, statusOK) = gnttabOp(&rng)
            case .sched:
                perFamily.2 += 1
                (cmd, rc) = schedOp(&rng)
            case .timer:
                perFamily.3 += 1
                (cmd, rc) = timerOp(&rng)
            }
            if !XenErrno.isHypercallResult(rc) || !statusOK {
                t.fail("a result outside Xen's errno/GNTST values")
                out.s("storm: op ").dec(i).s(" family ").dec(family.rawValue).s(" cmd ").hex(cmd)
                    .s(": rc ").rc(rc).s(statusOK ? "" : " (bad GNTST status)").end()
                return
            }
            let slot = rc == 0 ? 0 : rc > 0 ? 1 : Int(2 - rc)
            outcomes.fetchAdd64(8 * min(slot, 511), 1)
            i += 1
        }
        let elapsed = Clock.now() - start

        // Still alive: a fresh IPI reaches its handler.
        let before = state.load64(kicksOffset)
        t.expectRC("send after the storm", EventChannel.send(kickPort), 0)
        t.expect("IPI delivered after the storm", Wait.spin(ns: nsPerSec) { state.load64(kicksOffset) > before },
                 expected: "within 1 s", got: 0)
        _ = Timer.stopSingleshot()

        let line = out.s("storm n=").dec(n).s(" seed=").dec(seed).s(" evtchn=").dec(perFamily.0)
            .s(" gnttab=").dec(perFamily.1).s(" sched=").dec(perFamily.2).s(" timer=").dec(perFamily.3)
            .s(" ok=").dec(outcomes.load64(0)).s(" positive=").dec(outcomes.load64(8))
        for e in 1..<510 {
            let c = outcomes.load64(8 * (2 + e))
            if c != 0, let name = XenErrno.name(Int64(e)) { line.s(" ").s(name).s("=").dec(c) }
        }
        line.s(" ms=").dec(elapsed / nsPerMs).end()
    }

    /// (Re)binds the storm's IPI (for SCHEDOP_block) and VIRQ_TIMER ports.
    static func protect() -> Int64 {
        let (rc, port) = EventChannel.bindIPI(vcpu: 0)
        if rc != 0 { return rc }
        state.store64(kickPortOffset, UInt64(port))
        Events.bind(port, cpu: 0, kickHandler)
        return Timer.bindVirq(cpu: 0)
    }

    // MARK: argument generators

    static let unmapped: UInt64 = 0x7fff_ffff_f000

    /// A pointer for a hypercall argument: mostly `valid`, sometimes one Xen must refuse.
    static func pointer(_ rng: inout SplitMix64, _ valid: UInt64) -> UInt64 {
        switch rng.below(20) {
        case 0: return unmapped
        case 1: return 0x8000_0000_0000_0000 | (rng.next() & 0xffff_ffff_f000)     // non-canonical
        case 2: return state.load64(holeGfnOffset) * 4096 + (rng.below(512) * 8)               // no memory behind it
        default: return valid
        }
    }

    static func randomPort(_ rng: inout SplitMix64) -> UInt32 {
        switch rng.below(10) {
        case 0, 1, 2: return UInt32(rng.below(32))
        case 3, 4: return recentPort(&rng)
        case 5:
            switch rng.below(6) {
            case 0: return 1023
            case 1: return 1024
            case 2: return 4095
            case 3: return 4096
            case 4: return 0xffff_ffff
            default: return UInt32(truncatingIfNeeded: rng.next())
            }
        default: return UInt32(rng.below(1100))
        }
    }

    /// A port for an op that may destroy it: never the storm's own ports.
    static func destructivePort(_ rng: inout SplitMix64) -> UInt32 {
        let p = randomPort(&rng)
        return p == kickPort || p == timerPort ? 0xffff_ffff : p
    }

    static func recentPort(_ rng: inout SplitMix64) -> UInt32 {
        state.load32(4 * Int(rng.below(8)))
    }

    static func remember(_ port: UInt32) {
        let i = Int(state.load64(recentNext) % 8)
        state.store32(4 * i, port)
        state.store64(recentNext, state.load64(recentNext) &+ 1)
    }

    static func randomDomid(_ rng: inout SplitMix64) -> UInt16 {
        switch rng.below(10) {
        case 0, 1, 2, 3: return domidSelf
        case 4, 5: return ownDomid
        case 6: return 0
        case 7: return 12345
        case 8: return UInt16(0x7ff0 + rng.below(16))            // reserved ids
        default: return UInt16(truncatingIfNeeded: rng.next())
        }
    }

    static func randomVCPU(_ rng: inout SplitMix64) -> UInt32 {
        switch rng.below(8) {
        case 0, 1, 2, 3: return 0
        case 4: return 1
        case 5: return UInt32(state.load64(vcpusOffset))
        case 6: return UInt32(rng.below(64))
        default: return UInt32(truncatingIfNeeded: rng.next())
        }
    }

    /// A frame number Xen must not find usable memory at.
    static func badGfn(_ rng: inout SplitMix64) -> UInt64 {
        rng.chance(50) ? state.load64(holeGfnOffset) : (rng.next() | (1 << 40))
    }

    static func randomBytes(_ rng: inout SplitMix64, _ region: PhysRegion, _ count: Int) {
        var i = 0
        while i + 8 <= count {
            region.store(rng.next(), at: i)
            i += 8
        }
    }

    // MARK: event channels

    static func evtchnOp(_ rng: inout SplitMix64) -> (UInt64, Int64) {
        var cmd: UInt32
        switch rng.below(20) {
        case 0...14: cmd = UInt32(rng.below(15))
        case 15...18: cmd = UInt32(15 + rng.below(20))
        default: cmd = UInt32(truncatingIfNeeded: rng.next())
        }
        // EVTCHNOP_reset closes everything: keep it rare.
        if (cmd == UInt32(EVTCHNOP_reset) || cmd == UInt32(evtchnopResetCont)) && !rng.chance(5) {
            cmd = UInt32(EVTCHNOP_status)
        }
        let s = structs
        switch Int32(bitPattern: cmd) {
        case EVTCHNOP_bind_interdomain:
            s.storeStruct(evtchn_bind_interdomain(remote_dom: randomDomid(&rng), remote_port: randomPort(&rng), local_port: 0), at: 0)
        case EVTCHNOP_bind_virq:
            let virq = rng.chance(80) ? UInt32(rng.below(26)) : UInt32(truncatingIfNeeded: rng.next())
            s.storeStruct(evtchn_bind_virq(virq: virq, vcpu: randomVCPU(&rng), port: 0), at: 0)
        case EVTCHNOP_bind_pirq:
            s.storeStruct(evtchn_bind_pirq(pirq: UInt32(rng.below(300)), flags: UInt32(rng.below(4)), port: 0), at: 0)
        case EVTCHNOP_close:
            s.storeStruct(evtchn_close(port: destructivePort(&rng)), at: 0)
        case EVTCHNOP_send:
            s.storeStruct(evtchn_send(port: randomPort(&rng)), at: 0)
        case EVTCHNOP_status:
            var st = evtchn_status()
            st.dom = randomDomid(&rng)
            st.port = randomPort(&rng)
            s.storeStruct(st, at: 0)
        case EVTCHNOP_alloc_unbound:
            s.storeStruct(evtchn_alloc_unbound(dom: randomDomid(&rng), remote_dom: randomDomid(&rng), port: 0), at: 0)
        case EVTCHNOP_bind_ipi:
            s.storeStruct(evtchn_bind_ipi(vcpu: randomVCPU(&rng), port: 0), at: 0)
        case EVTCHNOP_bind_vcpu:
            s.storeStruct(evtchn_bind_vcpu(port: randomPort(&rng), vcpu: randomVCPU(&rng)), at: 0)
        case EVTCHNOP_unmask:
            s.storeStruct(evtchn_unmask(port: randomPort(&rng)), at: 0)
        case EVTCHNOP_reset, evtchnopResetCont:
            s.storeStruct(evtchn_reset(dom: randomDomid(&rng)), at: 0)
        case EVTCHNOP_init_control:
            var c = evtchn_init_control()
            c.control_gfn = badGfn(&rng)
            c.offset = UInt32(rng.below(4096))
            c.vcpu = randomVCPU(&rng)
            s.storeStruct(c, at: 0)
        case EVTCHNOP_expand_array:
            s.storeStruct(evtchn_expand_array(array_gfn: badGfn(&rng)), at: 0)
        case EVTCHNOP_set_priority:
            s.storeStruct(evtchn_set_priority(port: randomPort(&rng), priority: UInt32(rng.below(20))), at: 0)
        default:
            randomBytes(&rng, s, 32)                    // unknown: random bytes
        }
        let rc = EventChannel.op(Int32(bitPattern: cmd), pointer(&rng, s.base))
        if rc == 0 {
            switch Int32(bitPattern: cmd) {
            case EVTCHNOP_bind_interdomain: remember(s.loadStruct(evtchn_bind_interdomain.self, at: 0).local_port)
            case EVTCHNOP_bind_virq: remember(s.loadStruct(evtchn_bind_virq.self, at: 0).port)
            case EVTCHNOP_alloc_unbound: remember(s.loadStruct(evtchn_alloc_unbound.self, at: 0).port)
            case EVTCHNOP_bind_ipi: remember(s.loadStruct(evtchn_bind_ipi.self, at: 0).port)
            case EVTCHNOP_reset, evtchnopResetCont:
                if protect() != 0 { return (UInt64(cmd), -9999) }   // reported as not a Xen errno
            default: break
            }
        }
        return (UInt64(cmd), rc)
    }

    // MARK: sched_op

    static func schedOp(_ rng: inout SplitMix64) -> (UInt64, Int64) {
        let s = structs
        switch rng.below(16) {
        case 0, 1, 2:
            return (UInt64(SCHEDOP_yield), Xen.yield())
        case 3, 4:
            // SCHEDOP_block with an event already pending: it must return.
            CPU.disableInterrupts()
            _ = EventChannel.send(kickPort)
            let rc = Sched.block()
            CPU.enableInterrupts()
            return (UInt64(SCHEDOP_block), rc)
        case 5, 6, 7, 8:
            let count: UInt32
            switch rng.below(10) {
            case 0: count = 129
            case 1: count = UInt32(truncatingIfNeeded: rng.next())
            default: count = UInt32(rng.below(5))
            }
            for i in 0..<8 { lists.store32(4 * i, rng.chance(20) ? kickPort : randomPort(&rng)) }
            let ports = pointer(&rng, lists.base)
            let arg = sched_poll(ports: __guest_handle_evtchn_port_t(p: typedHandle(ports)), nr_ports: count,
                                 timeout: Clock.now() + rng.below(200_000) + 1)
            s.storeStruct(arg, at: 0)
            let target = pointer(&rng, s.base)
            CPU.disableInterrupts()
            let rc = rng.chance(50) ? petrel_sched_op_window(UInt64(SCHEDOP_poll), target)
                                    : Xen.schedOp(SCHEDOP_poll, target)
            CPU.enableInterrupts()
            return (UInt64(SCHEDOP_poll), rc)
        case 9:
            // Shutdown-class ops only with an argument Xen cannot read.
            let cmd = rng.chance(50) ? SCHEDOP_shutdown : SCHEDOP_shutdown_code
            return (UInt64(cmd), Xen.schedOp(cmd, rng.chance(50) ? unmapped : 0x8000_0000_0000_0000))
        case 10:
            var id = UInt16(truncatingIfNeeded: rng.next())
            if id == ownDomid || id == domidSelf { id = 12345 }
            s.storeStruct(sched_remote_shutdown(domain_id: id, reason: UInt32(rng.below(8))), at: 0)
            return (UInt64(SCHEDOP_remote_shutdown), Xen.schedOp(SCHEDOP_remote_shutdown, pointer(&rng, s.base)))
        case 11:
            // Destroying a watchdog that does not exist (id != 0, timeout 0); id 0 would create one.
            s.storeStruct(sched_watchdog(id: UInt32(1 + rng.below(1000)), timeout: 0), at: 0)
            return (UInt64(SCHEDOP_watchdog), Xen.schedOp(SCHEDOP_watchdog, pointer(&rng, s.base)))
        case 12:
            s.storeStruct(rng.next(), at: 0)
            return (UInt64(SCHEDOP_pin_override), Xen.schedOp(SCHEDOP_pin_override, pointer(&rng, s.base)))
        default:
            let cmd = rng.chance(80) ? Int32(8 + rng.below(24)) : Int32(truncatingIfNeeded: rng.next() | 0x100)
            randomBytes(&rng, s, 64)
            return (UInt64(UInt32(bitPattern: cmd)), Xen.schedOp(cmd, pointer(&rng, s.base)))
        }
    }

    // MARK: timers and harmless vcpu_ops

    static func timerOp(_ rng: inout SplitMix64) -> (UInt64, Int64) {
        let s = structs
        switch rng.below(8) {
        case 0, 1:
            let deadline: UInt64 = rng.chance(20) ? 0 : rng.chance(80) ? Clock.now() + rng.below(500_000) : rng.next()
            return (15, Timer.setTimerOp(deadline))
        case 2, 3:
            let deadline = rng.chance(80) ? Clock.now() &+ rng.below(500_000) &- 100_000 : rng.next()
            s.storeStruct(vcpu_set_singleshot_timer(timeout_abs_ns: deadline, flags: UInt32(rng.below(4))), at: 0)
            return (UInt64(VCPUOP_set_singleshot_timer), VCPU.op(VCPUOP_set_singleshot_timer, Int(randomVCPU(&rng) & 0xff), pointer(&rng, s.base)))
        case 4:
            return (UInt64(VCPUOP_stop_singleshot_timer), VCPU.op(VCPUOP_stop_singleshot_timer, Int(randomVCPU(&rng) & 0xff)))
        case 5:
            return (UInt64(VCPUOP_is_up), VCPU.isUp(Int(randomVCPU(&rng))))
        case 6:
            return (UInt64(VCPUOP_get_runstate_info), VCPU.getRunstateInfo(Int(randomVCPU(&rng)), into: pointer(&rng, lists.base)))
        default:
            // Unknown vcpu_ops, and get_physid / register_vcpu_time_memory_area with bad
            // pointers (not VCPUOP_send_nmi: it ignores its argument and sends the NMI).
            let cmd = rng.chance(50) ? Int32(14 + rng.below(40)) : Int32(12 + rng.below(2))
            return (UInt64(cmd), VCPU.op(cmd, Int(randomVCPU(&rng) & 0xff), rng.chance(50) ? unmapped : 0x8000_0000_0000_0000))
        }
    }
}
