// test=ringspy peer=<frontend domid> [ref=16]: a third domain tries to use the frontend's ring
// grant, which names the backend, while it is live (the frontend, started with spy=<our
// domid>, keeps its grants until we are done). As Xen's grant_table.c answers:
//   GNTTABOP_map_grant_ref of it, writable or read-only: GNTST_general_error (the entry names
//   another domain: _set_status_v1; Xen has no per-grant GNTST_permission_denied);
//   GNTTABOP_copy from it: GNTST_general_error (acquire_grant_for_copy, the same check);
//   GNTTABOP_copy naming the frontend's frame directly (a gmfn of another domain):
//   GNTST_permission_denied (only DOMID_SELF may name frames);
//   reading the frontend's data/ring/ring-ref: EACCES (shared with the backend only).
// Then sets its own data/ringspy/state = 6, readable by the frontend, and prints
// `ringspy map=… map_ro=… copy=… copy_frame=…` (the statuses) and PASS.

enum TestRingSpy {
    static func run(_ t: inout TestContext) {
        guard let peer = TestRunner.parameter(&t, "peer", default: 0, range: 1...0x7fef),
              let ref = TestRunner.parameter(&t, "ref", default: UInt64(RingPair.firstRef), range: 0...0xffff_ffff) else { return }
        if peer == 0 { return t.fail("peer=<frontend domid> is required") }
        guard t.startRuntime(), let me = RingStore.start(&t) else { return }
        let at = (Physmap.holeGfn + 16) * 4096

        let (rcMap, map) = GrantTable.map(ref: UInt32(ref), dom: UInt16(peer), hostAddr: at)
        let (rcRO, mapRO) = GrantTable.map(ref: UInt32(ref), dom: UInt16(peer), hostAddr: at, readonly: true)
        t.expectRC("GNTTABOP_map_grant_ref", rcMap, 0)
        t.expectRC("GNTTABOP_map_grant_ref(readonly)", rcRO, 0)
        let buffer = WorkArea.buffer(2)
        let copy = GrantTable.copy(GrantTable.copyOp(source: ref, sourceDomid: UInt16(peer), sourceOffset: 0,
                                                      dest: buffer.base / 4096, destOffset: 0, length: 64,
                                                      flags: UInt16(GNTCOPY_source_gref)))
        t.expectRC("GNTTABOP_copy", copy.rc, 0)
        // Any frame of the frontend's (its kernel image at 1 MiB): only DOMID_SELF may name frames.
        let frame: UInt64 = 0x100
        let copyFrame = GrantTable.copy(GrantTable.copyOp(source: frame, sourceDomid: UInt16(peer), sourceOffset: 0,
                                                           dest: buffer.base / 4096, destOffset: 0, length: 64))
        t.expectRC("GNTTABOP_copy (frame)", copyFrame.rc, 0)
        out.s("ringspy map=").int(Int64(map.status)).s(" map_ro=").int(Int64(mapRO.status))
            .s(" copy=").int(Int64(copy.status)).s(" copy_frame=").int(Int64(copyFrame.status)).end()
        t.expectRC("map of a grant naming another domain: status", Int64(map.status), Int64(GNTST_general_error))
        t.expectRC("read-only map of it: status", Int64(mapRO.status), Int64(GNTST_general_error))
        t.expectRC("copy from it: status", Int64(copy.status), Int64(GNTST_general_error))
        t.expectRC("copy from the granter's frame: status", Int64(copyFrame.status), Int64(GNTST_permission_denied))

        let path = XsText(WorkArea.buffer(7).sub(0, 128), "/local/domain/", decimal: peer, "/data/ring/ring-ref")
        do {
            _ = try XenBus.read(path.bytes)
            t.fail("read the frontend's ring-ref", "allowed")
        } catch {
            t.expectRC("read the frontend's ring-ref", -error.errno, -XenBusError.EACCES.errno)
        }
        _ = RingStore.publish(&t, dir: "data/ringspy", me: me, reader: peer, state: RingPair.stateClosed)
    }
}
