// test=ringfront peer=<backend domid> [bytes=N] [spy=<domid>]: the frontend of a shared ring
// between two domains (RingPair.swift), the way a split driver meets its backend in xenstore:
//   grants the ring's 1 + 2*D pages (top of RAM) to the backend, allocates an unbound event
//   channel for it, writes data/ring/{ring-ref,event-channel} under its home, readable by the
//   backend (XS_SET_PERMS n<self> r<peer>), then data/ring/state = 3 (Initialised);
//   streams `bytes` (default 64 MiB, a multiple of 16 KiB) each way with the backend, concurrently, checking every
//   word it receives; while the backend has the ring mapped, the control page's entry shows
//   GTF_reading|GTF_writing and gnttab_end_foreign_access fails; the control page word the
//   backend wrote through a read-only mapping is still 0;
//   with spy=N, waits for domain N's data/ringspy/state = 6 (the spy tried to use our grants);
//   waits for the backend's data/ringback/state = 6 (it unmapped), then ends access to every
//   page (now possible) and closes the port. Prints
//   `ring role=front bytes_tx=… bytes_rx=… tx_checksum=… rx_checksum=… ms=…` and PASS.

enum TestRingFront {
    static func run(_ t: inout TestContext) {
        guard let peer = TestRunner.parameter(&t, "peer", default: 0, range: 1...0x7fef),
              let total = TestRunner.parameter(&t, "bytes", default: RingPair.defaultBytes, range: 8...(1 << 40)),
              let spy = TestRunner.parameter(&t, "spy", default: 0, range: 0...0x7fef) else { return }
        if peer == 0 { return t.fail("peer=<backend domid> is required") }
        guard RingPair.checkTotal(&t, total), t.startRuntime(), let me = RingStore.start(&t) else { return }
        t.expectRC("map grant frames", GrantTable.mapFrames(Physmap.grantFrames), 0)
        guard t.ok else { return }

        // The ring: the top 1 MiB of RAM holds its pages; the pool is below.
        guard let top = RingPair.ramTop, let poolRegion = RingPair.poolRegion() else {
            return t.fail("no start info (memory map)")
        }
        let pool = RingPool(poolRegion)
        let pages = PhysRegion(base: top - (1 << 20), size: RingPair.totalPages * RingPair.pageSize)
        let control = pages.sub(0, RingPair.pageSize)
        control.zero()
        control.store64(RingPair.pagesOffset, UInt64(RingPair.dataPages))
        let firstFrame = UInt32(pages.base / 4096)
        for i in 0..<RingPair.totalPages {
            GrantTable.grantAccess(RingPair.firstRef + UInt32(i), domid: UInt16(peer), frame: firstFrame + UInt32(i))
            if i > 0 { control.store32(RingPair.refsOffset + 4 * (i - 1), RingPair.firstRef + UInt32(i)) }
        }
        control.store64(RingPair.magicOffset, RingPair.magic)
        let (rcPort, port) = EventChannel.allocUnbound(remote: UInt16(peer))
        t.expectRC("EVTCHNOP_alloc_unbound for the backend", rcPort, 0)
        guard t.ok else { return }

        // Meet in xenstore: data/ring, readable by the backend, state last.
        guard RingStore.publish(&t, dir: "data/ring", me: me, reader: peer, state: "1") else { return }
        let ref = XsText(WorkArea.buffer(7).sub(0, 32), .empty, decimal: UInt64(RingPair.firstRef))
        let evtchn = XsText(WorkArea.buffer(7).sub(32, 32), .empty, decimal: UInt64(port))
        guard RingStore.ok(&t, "write ring-ref", { () throws(XenBusError) in try XenBus.write("data/ring/ring-ref", ref.bytes) }) != nil,
              RingStore.ok(&t, "write event-channel", { () throws(XenBusError) in
                  try XenBus.write("data/ring/event-channel", evtchn.bytes) }) != nil,
              RingStore.ok(&t, "write state", { () throws(XenBusError) in
                  try XenBus.write("data/ring/state", RingPair.stateInitialised) }) != nil else { return }
        out.s("ring front: domid ").dec(me).s(" granted refs ").dec(UInt64(RingPair.firstRef)).s("..")
            .dec(UInt64(RingPair.firstRef) + UInt64(RingPair.totalPages) - 1).s(" to domain ").dec(peer)
            .s(", port ").dec(UInt64(port)).end()

        var session = RingSession(control: control, pages: pages, pool: pool, side: 0, port: port, total: total)
        var pinSeen = false, endRefused = true
        let start = Clock.now()
        let finished = session.run(deadline: start + 240 * nsPerSec) { s in
            // Once the backend has sent something, it has the ring mapped (writable).
            guard !pinSeen, s.rx.position > 0 else { return }
            pinSeen = true
            let flags = GrantTable.flags(RingPair.firstRef)
            if flags & UInt16(GTF_reading | GTF_writing) != UInt16(GTF_reading | GTF_writing) { endRefused = false }
            if GrantTable.endAccess(RingPair.firstRef) { endRefused = false }
        }
        let elapsed = Clock.now() - start
        if !finished { t.fail("the stream did not finish in 240 s") }
        session.report(role: "front", elapsed: elapsed)
        session.check(&t)
        t.expect("while mapped: GTF_reading|GTF_writing set and end access refused", pinSeen && endRefused,
                 expected: "refused", got: pinSeen ? 1 : 0)
        t.expectEqual("the word the backend wrote through its read-only mapping",
                      control.load64(RingPair.readOnlyProbeOffset), 0)
        guard t.ok else { return }

        if spy != 0 {
            let path = XsText(WorkArea.buffer(7).sub(64, 128), "/local/domain/", decimal: spy, "/data/ringspy/state")
            guard RingStore.waitFor(&t, path.bytes, RingPair.stateClosed, token: "spy", timeout: 60 * nsPerSec) else { return }
        }
        // The backend unmaps, then says so; only then can access end.
        let back = XsText(WorkArea.buffer(7).sub(256, 128), "/local/domain/", decimal: peer, "/data/ringback/state")
        guard RingStore.waitFor(&t, back.bytes, RingPair.stateClosed, token: "back", timeout: 60 * nsPerSec) else { return }
        var ended = 0
        for i in 0..<RingPair.totalPages where GrantTable.endAccess(RingPair.firstRef + UInt32(i)) { ended += 1 }
        t.expectEqual("grants ended after the backend unmapped", UInt64(ended), UInt64(RingPair.totalPages))
        t.expectRC("EVTCHNOP_close", EventChannel.close(port), 0)
        _ = try? XenBus.rm("data/ring")
    }
}
