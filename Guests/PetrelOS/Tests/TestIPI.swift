// test=ipi [n=10000] (vcpus >= 2): vCPU 0 and vCPU 1 each send n IPIs to the other
// at the same time (EVTCHNOP_bind_ipi per vCPU, EVTCHNOP_send to the peer's port).
//
// Events coalesce, so a sender keeps one message in flight per direction: it writes
// sequence number k to the mailbox, sends, and waits until the receiver's handler
// acknowledges k before sending k+1. The handler counts every invocation and
// compares the mailbox with the last acknowledgement: the same number again is a
// duplicate event, a jump is a protocol error; a send whose ack never comes (5 s) is
// a lost event. Both sides must end with n deliveries, n acks, no duplicates.

enum TestIPI {
    /// Mailbox of direction d (d = sender's vCPU) at WorkArea.shared + 64 * d:
    /// 0 seq, 8 ack, 16 received, 24 duplicates, 32 gaps, 40 sender done (0 running, 1 ok, 2 lost).
    static func box(_ d: Int) -> PhysRegion { WorkArea.shared.sub(64 * d, 64) }
    static let seq = 0, ack = 8, received = 16, duplicates = 24, gaps = 32, done = 40

    /// n for the AP (the BSP writes it before starting vCPU 1).
    static var messages: UInt64 { WorkArea.shared.load64(256) }

    /// Runs on the receiving vCPU r for direction 1 - r.
    static let handler: EventHandler = { _ in
        let b = TestIPI.box(1 - CPU.index)
        b.fetchAdd64(TestIPI.received, 1)
        let s = b.load64(TestIPI.seq)
        let a = b.load64(TestIPI.ack)
        if s == a {
            b.fetchAdd64(TestIPI.duplicates, 1)
        } else if s != a &+ 1 {
            b.fetchAdd64(TestIPI.gaps, 1)
        }
        b.store64(TestIPI.ack, s)
    }

    /// Sender loop of vCPU `me`: n messages to the peer's IPI port, one in flight.
    static func send(from me: Int) {
        let b = box(me)
        let peerPort = PerCPU(1 - me).ipiPort
        let n = messages
        var k: UInt64 = 1
        while k <= n {
            b.store64(seq, k)
            if EventChannel.send(peerPort) != 0 {
                b.store64(done, 3)
                return
            }
            if !Wait.spin(ns: 5 * nsPerSec, { b.load64(ack) == k }) {
                b.store64(done, 2)
                return
            }
            k += 1
        }
        b.store64(done, 1)
    }

    static let apWork: APWork = { cpu in TestIPI.send(from: cpu) }

    static func run(_ t: inout TestContext) {
        guard t.startRuntime() else { return }
        guard let n = TestRunner.parameter(&t, "n", default: 10_000) else { return }
        let (count, _) = SMP.probeCount()
        t.expect("vCPU count", count >= 2, expected: "at least 2 vCPUs (run with --vcpus 2)", got: Int64(count))
        guard t.ok else { return }

        WorkArea.shared.fill(0, count: 512)
        WorkArea.shared.store64(256, n)
        for cpu in 0..<2 {
            let (rc, port) = EventChannel.bindIPI(vcpu: UInt32(cpu))
            t.expectRC("bind_ipi", rc, 0)
            guard t.ok else { return }
            PerCPU(cpu).ipiPort = port
            t.expectRC("unmask ipi", Events.bind(port, cpu: cpu, handler), 0)
        }
        guard t.ok else { return }

        let start = Clock.now()
        if let f = SMP.start(1, work: apWork) { return t.fail(f) }
        CPU.enableInterrupts()
        send(from: 0)
        let peerFinished = Wait.spin(ns: 60 * nsPerSec) { box(1).load64(done) != 0 }
        Wait.delay(ns: 20 * nsPerMs)            // late duplicates
        CPU.disableInterrupts()
        let elapsed = Clock.now() - start

        for d in 0..<2 {
            let b = box(d)
            out.s("ipi: vCPU ").dec(d).s(" -> vCPU ").dec(1 - d).s(": sent ").dec(b.load64(seq))
                .s(" acked ").dec(b.load64(ack)).s(" received ").dec(b.load64(received))
                .s(" duplicates ").dec(b.load64(duplicates)).s(" gaps ").dec(b.load64(gaps)).end()
        }
        out.s("ipi: ").dec(2 * n).s(" IPIs in ").dec(elapsed / 1000).s(" us").end()
        t.expect("vCPU 1 finished sending", peerFinished, expected: "within 60 s", got: 0)
        for d in 0..<2 {
            let b = box(d)
            t.expectEqual("sender result (1 ok, 2 an IPI was lost: no ack in 5 s, 3 send failed)", b.load64(done), 1)
            t.expectEqual("IPIs acknowledged", b.load64(ack), n)
            t.expectEqual("IPI handler runs (one per IPI)", b.load64(received), n)
            t.expectEqual("duplicate IPI deliveries", b.load64(duplicates), 0)
            t.expectEqual("out-of-order IPI deliveries", b.load64(gaps), 0)
        }
        t.expectEqual("IPI events on vCPU 0 with no handler", PerCPU(0).get(.unhandled), 0)
        t.expectEqual("IPI events on vCPU 1 with no handler", PerCPU(1).get(.unhandled), 0)
        _ = VCPU.down(1)
    }
}
