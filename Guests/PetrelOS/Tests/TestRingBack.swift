// test=ringback peer=<frontend domid> [bytes=N]: the backend of the shared ring
// (RingPair.swift, TestRingFront.swift):
//   watches the frontend's data/ring/state until it is 3 (Initialised), reads ring-ref and
//   event-channel there; maps the control page with GNTTABOP_map_grant_ref (host_map) at a
//   free gfn above RAM and the data pages (their refs are in the control page) in one batch
//   right after it; maps the control page once more read-only (GNTMAP_readonly) and writes
//   through it: the write is discarded (both views still read 0); binds the frontend's port (EVTCHNOP_bind_interdomain); publishes its own
//   data/ringback/state = 4 (Connected), readable by the frontend;
//   streams `bytes` (default 64 MiB, a multiple of 16 KiB) each way, concurrently, checking every word it receives;
//   unmaps every page (each GNTST_okay), closes the port and sets data/ringback/state = 6.
//   Prints `ring role=back bytes_tx=… bytes_rx=… tx_checksum=… rx_checksum=… ms=…` and PASS.

enum TestRingBack {
    static func run(_ t: inout TestContext) {
        guard let peer = TestRunner.parameter(&t, "peer", default: 0, range: 1...0x7fef),
              let total = TestRunner.parameter(&t, "bytes", default: RingPair.defaultBytes, range: 8...(1 << 40)) else { return }
        if peer == 0 { return t.fail("peer=<frontend domid> is required") }
        guard RingPair.checkTotal(&t, total), t.startRuntime(), let me = RingStore.start(&t) else { return }
        guard let poolRegion = RingPair.poolRegion() else { return t.fail("no start info (memory map)") }
        let pool = RingPool(poolRegion)

        // Wait for the frontend in xenstore.
        let home = XsText(WorkArea.buffer(7).sub(0, 64), "/local/domain/", decimal: peer, "/data/ring")
        var statePath = XsText(WorkArea.buffer(7).sub(64, 128), home.bytes)
        statePath.append("/state")
        guard RingStore.waitFor(&t, statePath.bytes, RingPair.stateInitialised, token: "front",
                                timeout: 60 * nsPerSec) else { return }
        var refPath = XsText(WorkArea.buffer(7).sub(192, 128), home.bytes)
        refPath.append("/ring-ref")
        var portPath = XsText(WorkArea.buffer(7).sub(320, 128), home.bytes)
        portPath.append("/event-channel")
        guard let ref = RingStore.ok(&t, "read ring-ref", { () throws(XenBusError) in try XenBus.read(refPath.bytes).decimal }),
              let remotePort = RingStore.ok(&t, "read event-channel", { () throws(XenBusError) in
                  try XenBus.read(portPath.bytes).decimal }) else { return }
        guard let ref, let remotePort, ref <= UInt64(UInt32.max), remotePort <= UInt64(UInt32.max) else {
            return t.fail("ring-ref / event-channel", "not numbers")
        }

        // Map the control page, then the data pages after it (free gfns above RAM).
        let base = (Physmap.holeGfn + 16) * 4096
        let (rcMap, op) = GrantTable.map(ref: UInt32(ref), dom: UInt16(peer), hostAddr: base)
        t.expectRC("GNTTABOP_map_grant_ref (control page)", rcMap, 0)
        t.expectRC("GNTTABOP_map_grant_ref (control page) status", Int64(op.status), Int64(GNTST_okay))
        guard t.ok else { return }
        let pages = PhysRegion(base: base, size: RingPair.totalPages * RingPair.pageSize)
        let control = pages.sub(0, RingPair.pageSize)
        t.expectEqual("control page magic", control.load64(RingPair.magicOffset), RingPair.magic)
        t.expectEqual("data pages per direction", control.load64(RingPair.pagesOffset), UInt64(RingPair.dataPages))
        guard t.ok else { return unmapAll(&t, op.handle, base, mapped: 0) }
        readOnlyProbe(&t, ref: UInt32(ref), peer: UInt16(peer), control: control,
                      at: base + UInt64(RingPair.totalPages * RingPair.pageSize))
        guard t.ok else { return unmapAll(&t, op.handle, base, mapped: 0) }
        let n = RingPair.totalPages - 1
        let ops = WorkArea.buffer(0)
        let stride = MemoryLayout<gnttab_map_grant_ref>.stride
        for i in 0..<n {
            let r = control.load32(RingPair.refsOffset + 4 * i)
            ops.storeStruct(GrantTable.mapOp(ref: r, dom: UInt16(peer), hostAddr: base + UInt64(4096 * (i + 1))), at: i * stride)
        }
        t.expectRC("GNTTABOP_map_grant_ref (data pages, one batch)", GrantTable.mapGrantRefs(ops, count: n), 0)
        var mapped = 0
        for i in 0..<n {
            let m = ops.loadStruct(gnttab_map_grant_ref.self, at: i * stride)
            if Int64(m.status) != Int64(GNTST_okay) { break }
            mapped += 1
        }
        t.expectEqual("data pages mapped", UInt64(mapped), UInt64(n))
        guard t.ok else { return unmapAll(&t, op.handle, base, mapped: mapped) }

        let (rcBind, port) = EventChannel.bindInterdomain(remoteDom: UInt16(peer), remotePort: UInt32(remotePort))
        t.expectRC("EVTCHNOP_bind_interdomain", rcBind, 0)
        guard t.ok, RingStore.publish(&t, dir: "data/ringback", me: me, reader: peer, state: RingPair.stateConnected) else {
            return unmapAll(&t, op.handle, base, mapped: mapped)
        }
        out.s("ring back: domid ").dec(me).s(" mapped ").dec(UInt64(RingPair.totalPages)).s(" pages of domain ")
            .dec(peer).s(" at ").hex(base).s(", port ").dec(UInt64(port)).end()

        var session = RingSession(control: control, pages: pages, pool: pool, side: 1, port: port, total: total)
        let start = Clock.now()
        let finished = session.run(deadline: start + 240 * nsPerSec) { _ in }
        let elapsed = Clock.now() - start
        if !finished { t.fail("the stream did not finish in 240 s") }
        session.report(role: "back", elapsed: elapsed)
        session.check(&t)

        unmapAll(&t, op.handle, base, mapped: mapped)
        t.expectRC("EVTCHNOP_close", EventChannel.close(port), 0)
        _ = RingStore.ok(&t, "write state 6") { () throws(XenBusError) in
            try XenBus.write("data/ringback/state", RingPair.stateClosed)
        }
    }

    /// Maps the control page a second time, read-only (GNTMAP_readonly of a writable grant),
    /// and writes through that mapping: the write is discarded, so the writable view (and the
    /// frontend, which checks the word at the end) still sees zero.
    private static func readOnlyProbe(_ t: inout TestContext, ref: UInt32, peer: UInt16, control: PhysRegion, at: UInt64) {
        let (rc, op) = GrantTable.map(ref: ref, dom: peer, hostAddr: at, readonly: true)
        t.expectRC("GNTTABOP_map_grant_ref(GNTMAP_readonly) of the control page", rc, 0)
        t.expectRC("GNTTABOP_map_grant_ref(GNTMAP_readonly) of the control page: status", Int64(op.status), Int64(GNTST_okay))
        guard t.ok else { return }
        let readOnly = PhysRegion(base: at, size: RingPair.pageSize)
        t.expectEqual("the read-only mapping shows the control page", readOnly.load64(RingPair.magicOffset), RingPair.magic)
        readOnly.store64(RingPair.readOnlyProbeOffset, 0xBAD0_BAD0_BAD0_BAD0)
        t.expectEqual("a write through the read-only mapping (writable view)",
                      control.load64(RingPair.readOnlyProbeOffset), 0)
        t.expectEqual("a write through the read-only mapping (read-only view)",
                      readOnly.load64(RingPair.readOnlyProbeOffset), 0)
        let (rcU, status) = GrantTable.unmap(handle: op.handle, hostAddr: at)
        t.expectRC("GNTTABOP_unmap_grant_ref of the read-only mapping", rcU, 0)
        t.expectRC("GNTTABOP_unmap_grant_ref of the read-only mapping: status", Int64(status), Int64(GNTST_okay))
    }

    /// Unmaps the control page (`handle`) and the first `mapped` data pages (their handles are
    /// still in the batch's ops); each must be GNTST_okay.
    private static func unmapAll(_ t: inout TestContext, _ handle: UInt32, _ base: UInt64, mapped: Int) {
        let ops = WorkArea.buffer(0)
        let stride = MemoryLayout<gnttab_map_grant_ref>.stride
        var bad = 0
        for i in 0..<mapped {
            let m = ops.loadStruct(gnttab_map_grant_ref.self, at: i * stride)
            let (rc, status) = GrantTable.unmap(handle: m.handle, hostAddr: m.host_addr)
            if rc != 0 || Int64(status) != Int64(GNTST_okay) { bad += 1 }
        }
        let (rc, status) = GrantTable.unmap(handle: handle, hostAddr: base)
        if rc != 0 || Int64(status) != Int64(GNTST_okay) { bad += 1 }
        t.expectEqual("unmaps that failed", UInt64(bad), 0)
    }
}
