// test=evtchn [maxport=1023]: event channels, 2-level ABI, one vCPU, following
// xen/common/event_channel.c and event_2l.c:
//   loopback: alloc_unbound(DOMID_SELF, remote DOMID_SELF) then bind_interdomain to
//   it; status reports unbound (remote = our domid), then interdomain both ways;
//   send on one end runs the other end's handler exactly once;
//   a masked port collects sends (pending, no upcall, two sends coalesce) until
//   unmask (EVTCHNOP_unmask re-delivers once);
//   bind_virq: status virq; twice for the same VIRQ -EEXIST; virq >= NR_VIRQS
//   -EINVAL; a global VIRQ on vCPU != 0 -EINVAL; vCPU out of range -ENOENT; send on a
//   VIRQ port -EINVAL; closing frees the VIRQ for a new bind;
//   bind_ipi: status ipi; send runs the handler once; vCPU out of range -ENOENT;
//   bind_vcpu: interdomain ok, IPI and per-vCPU VIRQ -EINVAL, vCPU out of range
//   -ENOENT (checked before the port), bad port -EINVAL;
//   close: the peer becomes unbound, send on the closed port -EINVAL, on the unbound
//   peer 0 (dropped), close twice -EINVAL, close clears the pending bit;
//   port 0 reads closed (reserved); ports 4096 and 0xffffffff are -EINVAL for send,
//   close, status, unmask; dom 12345 is -ESRCH (status, alloc_unbound, bind_interdomain);
//   bind_interdomain to a port that is not unbound-for-us -EINVAL;
//   every op with an unmapped argument -EFAULT; unknown op 99 -ENOSYS;
//   FIFO ops: init_control and expand_array -ENOSYS (or -EOPNOTSUPP: Xen built
//   without FIFO), set_priority -ENOSYS (2-level has no priorities);
//   port limit: alloc_unbound until -ENOSPC gives exactly maxport minus the ports
//   in use (Xen's default max_event_channels 1023: ports 1..1023);
//   reset(DOMID_SELF) closes everything; reset of dom 12345 -ESRCH.

enum TestEvtchn {
    /// Handler counters (one u64 each) in WorkArea.shared.
    static var counters: PhysRegion { WorkArea.shared.sub(0, 64) }
    static func count(_ i: Int) -> UInt64 { counters.load64(8 * i) }

    static let countA: EventHandler = { _ in TestEvtchn.counters.fetchAdd64(0, 1) }
    static let countB: EventHandler = { _ in TestEvtchn.counters.fetchAdd64(8, 1) }
    static let countIPI: EventHandler = { _ in TestEvtchn.counters.fetchAdd64(16, 1) }

    static let badPort: UInt32 = 4096          // EVTCHN_2L_NR_CHANNELS: beyond any 2-level port
    static let noDomain: UInt16 = 12345
    static let noVCPU: UInt32 = 5000

    static func run(_ t: inout TestContext) {
        guard t.startRuntime() else { return }
        counters.fill(0)
        CPU.enableInterrupts()
        defer { CPU.disableInterrupts() }

        guard let (a, b, ownDomid) = loopback(&t) else { return }
        masking(&t, a, b)
        virq(&t)
        ipi(&t)
        bindVcpu(&t, a)
        close(&t, a, b, ownDomid)
        badArguments(&t, a)
        fifo(&t, a)
        portLimit(&t)
        reset(&t, a)
    }

    /// Waits up to 1 s for counter `i` to reach `want`, 10 ms more for extras; it must equal `want`.
    private static func expectCount(_ t: inout TestContext, _ check: StaticString, _ i: Int, _ want: UInt64) {
        _ = Wait.spin(ns: nsPerSec) { count(i) >= want }
        Wait.delay(ns: 10 * nsPerMs)
        t.expectEqual(check, count(i), want)
    }

    private static func expectStatus(_ t: inout TestContext, _ check: StaticString, _ port: UInt32, _ state: Int32) {
        let (rc, st) = EventChannel.status(port)
        t.expectRC(check, rc, 0)
        t.expectEqual(check, UInt64(st.status), UInt64(state))
    }

    // MARK: loopback pair

    private static func loopback(_ t: inout TestContext) -> (UInt32, UInt32, UInt16)? {
        let (rcA, a) = EventChannel.allocUnbound()
        t.expectRC("alloc_unbound(DOMID_SELF, remote DOMID_SELF)", rcA, 0)
        t.expect("alloc_unbound port", a > 0 && a < badPort, expected: "a port in 1..4095", got: Int64(a))
        guard t.ok else { return nil }
        let (rcS, st) = EventChannel.status(a)
        t.expectRC("status(unbound)", rcS, 0)
        t.expectEqual("status(unbound).status", UInt64(st.status), UInt64(EVTCHNSTAT_unbound))
        t.expectEqual("status(unbound).vcpu", UInt64(st.vcpu), 0)
        // DOMID_SELF as remote means "this domain": Xen stores (and reports) our real id.
        let ownDomid = st.u.unbound.dom
        t.expect("status(unbound).u.unbound.dom is our domid", ownDomid < UInt16(PETREL_DOMID_FIRST_RESERVED),
                 expected: "a domid below DOMID_FIRST_RESERVED", got: Int64(ownDomid))

        // Ports start masked (Events.start) and have no handler yet: nothing is delivered.
        let (rcB, b) = EventChannel.bindInterdomain(remotePort: a)
        t.expectRC("bind_interdomain(DOMID_SELF, unbound port)", rcB, 0)
        t.expect("bind_interdomain local port", b != a && b > 0 && b < badPort, expected: "a new port", got: Int64(b))
        guard t.ok else { return nil }
        let (rcSA, sa) = EventChannel.status(a)
        t.expectRC("status(a) after bind", rcSA, 0)
        t.expectEqual("status(a).status after bind", UInt64(sa.status), UInt64(EVTCHNSTAT_interdomain))
        t.expectEqual("status(a).u.interdomain.port", UInt64(sa.u.interdomain.port), UInt64(b))
        t.expectEqual("status(a).u.interdomain.dom", UInt64(sa.u.interdomain.dom), UInt64(ownDomid))
        let (rcSB, sb) = EventChannel.status(b)
        t.expectRC("status(b)", rcSB, 0)
        t.expectEqual("status(b).status", UInt64(sb.status), UInt64(EVTCHNSTAT_interdomain))
        t.expectEqual("status(b).u.interdomain.port", UInt64(sb.u.interdomain.port), UInt64(a))

        // Xen marks the new local port pending ("we may have lost notifications on the
        // remote unbound port"); another hypervisor need not. Start both clean.
        Events.clearPending(a)
        Events.clearPending(b)
        t.expectRC("unmask a", Events.bind(a, cpu: 0, countA), 0)
        t.expectRC("unmask b", Events.bind(b, cpu: 0, countB), 0)
        guard t.ok else { return nil }

        t.expectRC("send(a)", EventChannel.send(a), 0)
        expectCount(&t, "handler of b after one send on a (exactly once)", 1, 1)
        t.expectEqual("handler of a after send on a", count(0), 0)
        t.expectRC("send(b)", EventChannel.send(b), 0)
        expectCount(&t, "handler of a after one send on b (exactly once)", 0, 1)
        t.expectEqual("unhandled events", PerCPU(0).get(.unhandled), 0)
        return t.ok ? (a, b, ownDomid) : nil
    }

    // MARK: mask / unmask

    private static func masking(_ t: inout TestContext, _ a: UInt32, _ b: UInt32) {
        Events.mask(b)
        t.expectRC("send(a) with b masked", EventChannel.send(a), 0)
        t.expectRC("second send(a) with b masked", EventChannel.send(a), 0)
        Wait.delay(ns: 10 * nsPerMs)
        t.expectEqual("handler of b while masked", count(1), 1)
        t.expect("b pending while masked", Events.isPending(b), expected: "pending bit set", got: 0)
        t.expectRC("unmask(b) (EVTCHNOP_unmask re-delivers)", Events.unmask(b), 0)
        expectCount(&t, "handler of b after unmask (two sends coalesce into one event)", 1, 2)
        t.expect("b pending after delivery", !Events.isPending(b), expected: "pending bit clear", got: 1)
        t.expect("b masked after unmask", !Events.isMasked(b), expected: "mask bit clear", got: 1)

        // EVTCHNOP_unmask on a port that is not masked is harmless.
        t.expectRC("EVTCHNOP_unmask(b) while unmasked", EventChannel.unmask(b), 0)
        t.expectEqual("handler of b after a redundant unmask", count(1), 2)
    }

    // MARK: VIRQ

    private static func virq(_ t: inout TestContext) {
        let (rc, v) = EventChannel.bindVirq(UInt32(VIRQ_DEBUG), vcpu: 0)
        t.expectRC("bind_virq(VIRQ_DEBUG, vcpu 0)", rc, 0)
        guard t.ok else { return }
        let (rcS, st) = EventChannel.status(v)
        t.expectRC("status(virq)", rcS, 0)
        t.expectEqual("status(virq).status", UInt64(st.status), UInt64(EVTCHNSTAT_virq))
        t.expectEqual("status(virq).u.virq", UInt64(st.u.virq), UInt64(VIRQ_DEBUG))
        t.expectEqual("status(virq).vcpu", UInt64(st.vcpu), 0)
        t.expectRC("bind_virq(VIRQ_DEBUG) again", EventChannel.bindVirq(UInt32(VIRQ_DEBUG), vcpu: 0).rc, -XenErrno.EEXIST)
        t.expectRC("bind_virq(NR_VIRQS)", EventChannel.bindVirq(UInt32(NR_VIRQS), vcpu: 0).rc, -XenErrno.EINVAL)
        t.expectRC("bind_virq(0xffffffff)", EventChannel.bindVirq(0xffff_ffff, vcpu: 0).rc, -XenErrno.EINVAL)
        // VIRQ_CON_RING is global: only vCPU 0 may take it.
        t.expectRC("bind_virq(global VIRQ_CON_RING, vcpu 1)", EventChannel.bindVirq(UInt32(VIRQ_CON_RING), vcpu: 1).rc,
                   -XenErrno.EINVAL)
        t.expectRC("bind_virq(VIRQ_TIMER, vcpu 5000)", EventChannel.bindVirq(UInt32(VIRQ_TIMER), vcpu: noVCPU).rc,
                   -XenErrno.ENOENT)
        t.expectRC("send on a VIRQ port", EventChannel.send(v), -XenErrno.EINVAL)
        t.expectRC("close(virq)", EventChannel.close(v), 0)
        expectStatus(&t, "status(virq) after close", v, EVTCHNSTAT_closed)
        let (rc2, v2) = EventChannel.bindVirq(UInt32(VIRQ_DEBUG), vcpu: 0)
        t.expectRC("bind_virq(VIRQ_DEBUG) after close", rc2, 0)
        t.expectRC("close(virq) again", EventChannel.close(v2), 0)
    }

    // MARK: IPI

    private static func ipi(_ t: inout TestContext) {
        let (rc, p) = EventChannel.bindIPI(vcpu: 0)
        t.expectRC("bind_ipi(vcpu 0)", rc, 0)
        guard t.ok else { return }
        let (rcS, st) = EventChannel.status(p)
        t.expectRC("status(ipi)", rcS, 0)
        t.expectEqual("status(ipi).status", UInt64(st.status), UInt64(EVTCHNSTAT_ipi))
        t.expectEqual("status(ipi).vcpu", UInt64(st.vcpu), 0)
        t.expectRC("unmask ipi", Events.bind(p, cpu: 0, countIPI), 0)
        t.expectRC("send(ipi)", EventChannel.send(p), 0)
        expectCount(&t, "IPI handler after one send (exactly once)", 2, 1)
        t.expectRC("bind_ipi(vcpu 5000)", EventChannel.bindIPI(vcpu: noVCPU).rc, -XenErrno.ENOENT)
        t.expectRC("bind_vcpu(ipi, 0)", EventChannel.bindVcpu(port: p, vcpu: 0), -XenErrno.EINVAL)
        Events.unbind(p)
        t.expectRC("close(ipi)", EventChannel.close(p), 0)
    }

    // MARK: bind_vcpu

    private static func bindVcpu(_ t: inout TestContext, _ a: UInt32) {
        t.expectRC("bind_vcpu(interdomain, vcpu 0)", EventChannel.bindVcpu(port: a, vcpu: 0), 0)
        t.expectRC("bind_vcpu(interdomain, vcpu 5000)", EventChannel.bindVcpu(port: a, vcpu: noVCPU), -XenErrno.ENOENT)
        t.expectRC("bind_vcpu(port 4096, vcpu 0)", EventChannel.bindVcpu(port: badPort, vcpu: 0), -XenErrno.EINVAL)
        t.expectRC("bind_vcpu(port 4096, vcpu 5000): the vCPU is checked first",
                   EventChannel.bindVcpu(port: badPort, vcpu: noVCPU), -XenErrno.ENOENT)
        let (rc, timer) = EventChannel.bindVirq(UInt32(VIRQ_TIMER), vcpu: 0)
        t.expectRC("bind_virq(VIRQ_TIMER, vcpu 0)", rc, 0)
        t.expectRC("bind_vcpu(per-vCPU VIRQ_TIMER, 0)", EventChannel.bindVcpu(port: timer, vcpu: 0), -XenErrno.EINVAL)
        t.expectRC("close(VIRQ_TIMER)", EventChannel.close(timer), 0)
    }

    // MARK: close

    private static func close(_ t: inout TestContext, _ a: UInt32, _ b: UInt32, _ ownDomid: UInt16) {
        Events.unbind(b)
        t.expectRC("close(b)", EventChannel.close(b), 0)
        expectStatus(&t, "status(b) after close", b, EVTCHNSTAT_closed)
        let (rc, st) = EventChannel.status(a)
        t.expectRC("status(a) after its peer closed", rc, 0)
        t.expectEqual("status(a) after its peer closed: unbound", UInt64(st.status), UInt64(EVTCHNSTAT_unbound))
        t.expectEqual("status(a) after its peer closed: remote", UInt64(st.u.unbound.dom), UInt64(ownDomid))
        t.expectRC("send on a closed port", EventChannel.send(b), -XenErrno.EINVAL)
        t.expectRC("send on an unbound port (dropped)", EventChannel.send(a), 0)
        t.expectRC("close(b) twice", EventChannel.close(b), -XenErrno.EINVAL)
        t.expectRC("close(0) (reserved)", EventChannel.close(0), -XenErrno.EINVAL)

        // Rebind a new peer, make it pending while masked, close it: the bit goes.
        let (rcB, b2) = EventChannel.bindInterdomain(remotePort: a)
        t.expectRC("bind_interdomain again", rcB, 0)
        guard t.ok else { return }
        Events.mask(b2)
        t.expectRC("send(a) to the masked new peer", EventChannel.send(a), 0)
        t.expect("new peer pending", Events.isPending(b2), expected: "pending bit set", got: 0)
        t.expectRC("close(new peer)", EventChannel.close(b2), 0)
        t.expect("close clears the pending bit", !Events.isPending(b2), expected: "pending bit clear", got: 1)
    }

    // MARK: bad arguments

    private static func badArguments(_ t: inout TestContext, _ a: UInt32) {
        // Port 0 exists and is reserved: status says closed.
        expectStatus(&t, "status(port 0)", 0, EVTCHNSTAT_closed)
        checkBadPort(&t, badPort)
        checkBadPort(&t, 0xffff_ffff)
        t.expectRC("send(port 0)", EventChannel.send(0), -XenErrno.EINVAL)
        t.expectRC("status of dom 12345", EventChannel.status(a, dom: noDomain).rc, -XenErrno.ESRCH)
        t.expectRC("alloc_unbound in dom 12345", EventChannel.allocUnbound(dom: noDomain).rc, -XenErrno.ESRCH)
        t.expectRC("bind_interdomain to dom 12345", EventChannel.bindInterdomain(remoteDom: noDomain, remotePort: 1).rc,
                   -XenErrno.ESRCH)
        t.expectRC("bind_interdomain to port 0", EventChannel.bindInterdomain(remotePort: 0).rc, -XenErrno.EINVAL)
        t.expectRC("bind_interdomain to port 4096", EventChannel.bindInterdomain(remotePort: badPort).rc, -XenErrno.EINVAL)
        // a is unbound for us, b2 was closed: bind to a, then a second bind to a must fail.
        let (rc, b3) = EventChannel.bindInterdomain(remotePort: a)
        t.expectRC("bind_interdomain to a", rc, 0)
        t.expectRC("bind_interdomain to a port already connected", EventChannel.bindInterdomain(remotePort: a).rc,
                   -XenErrno.EINVAL)
        t.expectRC("bind_interdomain to an interdomain port", EventChannel.bindInterdomain(remotePort: b3).rc,
                   -XenErrno.EINVAL)
        t.expectRC("close(b3)", EventChannel.close(b3), 0)

        // Every op copies its argument in first.
        var cmd: Int32 = 0
        while cmd <= EVTCHNOP_reset {
            if cmd != EVTCHNOP_bind_pirq {
                let rc = EventChannel.op(cmd, unmappedAddress)
                if rc != -XenErrno.EFAULT {
                    t.expectRC("EVTCHNOP with unmapped argument", rc, -XenErrno.EFAULT)
                    out.s("  (EVTCHNOP ").dec(Int(cmd)).s(")").end()
                    return
                }
            }
            cmd += 1
        }
        t.expectRC("event_channel_op unknown op 99", EventChannel.op(99, StaticPages.args.base), -XenErrno.ENOSYS)
    }

    private static func checkBadPort(_ t: inout TestContext, _ port: UInt32) {
        t.expectRC("send(bad port)", EventChannel.send(port), -XenErrno.EINVAL)
        t.expectRC("close(bad port)", EventChannel.close(port), -XenErrno.EINVAL)
        t.expectRC("status(bad port)", EventChannel.status(port).rc, -XenErrno.EINVAL)
        t.expectRC("EVTCHNOP_unmask(bad port)", EventChannel.unmask(port), -XenErrno.EINVAL)
    }

    // MARK: FIFO ABI (not offered)

    private static func fifo(_ t: inout TestContext, _ a: UInt32) {
        // Xen with FIFO support would accept init_control and switch ABIs; a Xen built
        // without it says -EOPNOTSUPP; Petrel offers 2-level only and says -ENOSYS.
        var ctl = evtchn_init_control()
        ctl.control_gfn = WorkArea.buffer(7).base / 4096
        ctl.offset = 0
        ctl.vcpu = 0
        let rcInit = withGuestAddress(of: &ctl) { EventChannel.op(EVTCHNOP_init_control, $0) }
        t.expectRC("EVTCHNOP_init_control", rcInit, -XenErrno.ENOSYS, or: -XenErrno.EOPNOTSUPP)
        var expand = evtchn_expand_array(array_gfn: WorkArea.buffer(7).base / 4096)
        let rcExpand = withGuestAddress(of: &expand) { EventChannel.op(EVTCHNOP_expand_array, $0) }
        t.expectRC("EVTCHNOP_expand_array", rcExpand, -XenErrno.ENOSYS, or: -XenErrno.EOPNOTSUPP)
        var prio = evtchn_set_priority(port: a, priority: 3)
        let rcPrio = withGuestAddress(of: &prio) { EventChannel.op(EVTCHNOP_set_priority, $0) }
        t.expectRC("EVTCHNOP_set_priority (2-level)", rcPrio, -XenErrno.ENOSYS)
    }

    // MARK: port limit

    private static func portLimit(_ t: inout TestContext) {
        guard let maxPort = TestRunner.parameter(&t, "maxport", default: 1023, range: 1...4095) else { return }
        var used: UInt64 = 0
        var p: UInt32 = 1
        while UInt64(p) <= maxPort {
            let (rc, st) = EventChannel.status(p)
            if rc == 0 && st.status != UInt32(EVTCHNSTAT_closed) { used += 1 }
            p += 1
        }
        // Allocated ports go to two buffer pages (u32 each), to be closed again.
        let list = WorkArea.pages(16, 2)
        var allocated = 0
        var last: Int64 = 0
        while allocated < list.size / 4 {
            let (rc, port) = EventChannel.allocUnbound()
            last = rc
            if rc != 0 { break }
            list.store32(4 * allocated, port)
            allocated += 1
        }
        t.expectRC("alloc_unbound until the limit", last, -XenErrno.ENOSPC)
        t.expectEqual("ports allocated up to -ENOSPC (maxport - ports in use)", UInt64(allocated), maxPort - used)
        for i in 0..<allocated {
            let rc = EventChannel.close(list.load32(4 * i))
            if rc != 0 { return t.expectRC("close after the port-limit test", rc, 0) }
        }
        let (rcAgain, again) = EventChannel.allocUnbound()
        t.expectRC("alloc_unbound after closing them", rcAgain, 0)
        _ = EventChannel.close(again)
    }

    // MARK: reset

    private static func reset(_ t: inout TestContext, _ a: UInt32) {
        let (rc, p) = EventChannel.bindIPI(vcpu: 0)
        t.expectRC("bind_ipi before reset", rc, 0)
        t.expectRC("reset(dom 12345)", EventChannel.reset(dom: noDomain), -XenErrno.ESRCH)
        t.expectRC("reset(DOMID_SELF)", EventChannel.reset(), 0)
        expectStatus(&t, "status(unbound port) after reset", a, EVTCHNSTAT_closed)
        expectStatus(&t, "status(ipi) after reset", p, EVTCHNSTAT_closed)
        let (rc2, p2) = EventChannel.allocUnbound()
        t.expectRC("alloc_unbound after reset", rc2, 0)
        _ = EventChannel.close(p2)
    }
}
