// test=grant: the grant-table client in one domain (xen/grant_table.h), following
// xen/common/grant_table.c:
//   frames 0..3 map with XENMAPSPACE_grant_table; a frame index far beyond
//   max_grant_frames is -EINVAL;
//   query_size: okay, nr_frames >= 4, max_nr_frames >= nr_frames; count 2 -EINVAL;
//   dom 12345 GNTST_bad_domain;
//   set_version(1) 0 (writes back 1); set_version(2) -ENOSYS (v1-only, as Xen with
//   max_grant_version 1) writing back 1; set_version(3) -EINVAL; get_version 1, dom
//   12345 -ESRCH;
//   setup_table(4 frames) okay; count 0 -EINVAL; nr_frames 0x10000 (> max)
//   GNTST_general_error; an unmapped frame list GNTST_bad_virt_addr; dom 12345
//   GNTST_bad_domain;
//   grant entries are plain memory in the mapped frames (v1: flags, domid, frame);
//   GNTTABOP_copy between two local frames (gmfn, DOMID_SELF): full page, sub-page
//   at offsets (bytes outside untouched), len 0; offset+len past the page
//   GNTST_bad_copy_arg (source or destination); a gmfn with no memory
//   GNTST_bad_page; a foreign domid with a gmfn GNTST_permission_denied (only
//   DOMID_SELF may name frames); a gref of dom 12345 GNTST_bad_domain; a gref beyond
//   the table GNTST_bad_gntref; a gref whose entry is GTF_invalid GNTST_general_error;
//   several ops in one call each get their own status;
//   map_grant_ref of a DOMID_SELF grant GNTST_bad_domain (a domain cannot map its
//   own grants through DOMID_SELF); unmap of handle 0xffffffff GNTST_bad_handle;
//   an unmapped op array -EFAULT; unknown op 99 -ENOSYS.

enum TestGrant {
    static let noDomain: UInt16 = 12345

    static func run(_ t: inout TestContext) {
        frames(&t)
        guard t.ok else { return }
        query(&t)
        versions(&t)
        setup(&t)
        entries(&t)
        copies(&t)
        copyErrors(&t)
        mapping(&t)
        t.expectRC("GNTTABOP_copy with an unmapped op", GrantTable.op(GNTTABOP_copy, unmappedAddress, 1), -XenErrno.EFAULT)
        t.expectRC("grant_table_op unknown op 99", GrantTable.op(99, StaticPages.args.base, 1), -XenErrno.ENOSYS)
    }

    // MARK: frames

    private static func frames(_ t: inout TestContext) {
        t.expectRC("XENMAPSPACE_grant_table frames 0..3", GrantTable.mapFrames(Physmap.grantFrames), 0)
        t.expectRC("XENMAPSPACE_grant_table idx 0x10000",
                   Xen.addToPhysmap(space: UInt32(XENMAPSPACE_grant_table), index: 0x10000, gfn: Physmap.holeGfn),
                   -XenErrno.EINVAL)
    }

    private static func query(_ t: inout TestContext) {
        let (rc, q) = GrantTable.querySize()
        t.expectRC("GNTTABOP_query_size", rc, 0)
        t.expectRC("GNTTABOP_query_size status", Int64(q.status), Int64(GNTST_okay))
        t.expectRange("GNTTABOP_query_size nr_frames", UInt64(q.nr_frames), UInt64(Physmap.grantFrames), 0xffff)
        t.expectRange("GNTTABOP_query_size max_nr_frames", UInt64(q.max_nr_frames), UInt64(q.nr_frames), 0xffff)
        t.expectRC("GNTTABOP_query_size with count 2", GrantTable.querySize(count: 2).rc, -XenErrno.EINVAL)
        let (rcBad, qBad) = GrantTable.querySize(dom: noDomain)
        t.expectRC("GNTTABOP_query_size(dom 12345)", rcBad, 0)
        t.expectRC("GNTTABOP_query_size(dom 12345) status", Int64(qBad.status), Int64(GNTST_bad_domain))
    }

    private static func versions(_ t: inout TestContext) {
        let (rc1, v1) = GrantTable.setVersion(1)
        t.expectRC("GNTTABOP_set_version(1)", rc1, 0)
        t.expectEqual("GNTTABOP_set_version(1) version", UInt64(v1), 1)
        let (rc2, v2) = GrantTable.setVersion(2)
        t.expectRC("GNTTABOP_set_version(2)", rc2, -XenErrno.ENOSYS)
        t.expectEqual("GNTTABOP_set_version(2) writes back the current version", UInt64(v2), 1)
        t.expectRC("GNTTABOP_set_version(3)", GrantTable.setVersion(3).rc, -XenErrno.EINVAL)
        let (rcG, g) = GrantTable.getVersion()
        t.expectRC("GNTTABOP_get_version", rcG, 0)
        t.expectEqual("GNTTABOP_get_version version", UInt64(g), 1)
        t.expectRC("GNTTABOP_get_version(dom 12345)", GrantTable.getVersion(dom: noDomain).rc, -XenErrno.ESRCH)
    }

    private static func setup(_ t: inout TestContext) {
        let list = WorkArea.buffer(0)
        list.fill(0xff, count: 64)
        let (rc, status) = GrantTable.setupTable(nrFrames: UInt32(Physmap.grantFrames), frameList: list.base)
        t.expectRC("GNTTABOP_setup_table(4 frames)", rc, 0)
        t.expectRC("GNTTABOP_setup_table status", Int64(status), Int64(GNTST_okay))
        t.expectRC("GNTTABOP_setup_table with count 0",
                   GrantTable.setupTable(nrFrames: 1, frameList: list.base, count: 0).rc, -XenErrno.EINVAL)
        let (rcBig, big) = GrantTable.setupTable(nrFrames: 0x10000, frameList: list.base)
        t.expectRC("GNTTABOP_setup_table(0x10000 frames)", rcBig, 0)
        t.expectRC("GNTTABOP_setup_table(0x10000 frames) status", Int64(big), Int64(GNTST_general_error))
        let (rcList, badList) = GrantTable.setupTable(nrFrames: 1, frameList: unmappedAddress)
        t.expectRC("GNTTABOP_setup_table to an unmapped list", rcList, 0)
        t.expectRC("GNTTABOP_setup_table to an unmapped list: status", Int64(badList), Int64(GNTST_bad_virt_addr))
        let (rcDom, badDom) = GrantTable.setupTable(dom: noDomain, nrFrames: 1, frameList: list.base)
        t.expectRC("GNTTABOP_setup_table(dom 12345)", rcDom, 0)
        t.expectRC("GNTTABOP_setup_table(dom 12345) status", Int64(badDom), Int64(GNTST_bad_domain))
    }

    // MARK: entries

    static let ref: UInt32 = 10     // above the GNTTAB_NR_RESERVED_ENTRIES (console, xenstore, ...)
    static let invalidRef: UInt32 = 11

    private static func entries(_ t: inout TestContext) {
        let page = WorkArea.buffer(1)
        GrantTable.grantAccess(ref, domid: 0, frame: UInt32(page.base / 4096))
        let e = GrantTable.entry(ref)
        t.expectEqual("grant entry flags", UInt64(e.load16(Int(PETREL_GRANT_ENTRY_FLAGS))), UInt64(GTF_permit_access))
        t.expectEqual("grant entry frame", UInt64(e.load32(Int(PETREL_GRANT_ENTRY_FRAME))), page.base / 4096)
        t.expect("end access of an unmapped grant", GrantTable.endAccess(ref), expected: "revoked", got: 0)
        t.expectEqual("grant entry flags after end access", UInt64(e.load16(Int(PETREL_GRANT_ENTRY_FLAGS))), 0)
        // The last entry of the last frame is memory too.
        let lastRef = UInt32(Physmap.grantFrames * GrantTable.entriesPerFrame - 1)
        GrantTable.grantAccess(lastRef, domid: 0, frame: 1, readonly: true)
        t.expectEqual("last grant entry flags", UInt64(GrantTable.entry(lastRef).load16(0)),
                      UInt64(GTF_permit_access | GTF_readonly))
        _ = GrantTable.endAccess(lastRef)
        GrantTable.entry(invalidRef).store64(0, 0)
    }

    // MARK: GNTTABOP_copy

    private static func copies(_ t: inout TestContext) {
        let src = WorkArea.buffer(1)
        let dst = WorkArea.buffer(2)
        for i in 0..<4096 { src.store(UInt8(truncatingIfNeeded: i &* 7 &+ 3), at: i) }
        dst.fill(0)
        let srcGfn = src.base / 4096
        let dstGfn = dst.base / 4096

        let (rc, status) = GrantTable.copy(GrantTable.copyOp(source: srcGfn, sourceOffset: 0, dest: dstGfn,
                                                             destOffset: 0, length: 4096))
        t.expectRC("GNTTABOP_copy of a page", rc, 0)
        t.expectRC("GNTTABOP_copy of a page: status", Int64(status), Int64(GNTST_okay))
        t.expect("GNTTABOP_copy of a page: data", same(src, 0, dst, 0, 4096), expected: "identical pages", got: 0)

        dst.fill(0xee)
        let (rc2, status2) = GrantTable.copy(GrantTable.copyOp(source: srcGfn, sourceOffset: 100, dest: dstGfn,
                                                               destOffset: 200, length: 1000))
        t.expectRC("GNTTABOP_copy at offsets", rc2, 0)
        t.expectRC("GNTTABOP_copy at offsets: status", Int64(status2), Int64(GNTST_okay))
        t.expect("GNTTABOP_copy at offsets: data", same(src, 100, dst, 200, 1000), expected: "copied bytes", got: 0)
        t.expect("GNTTABOP_copy at offsets: bytes around", dst.all(0xee, from: 0, count: 200) &&
                 dst.all(0xee, from: 1200, count: 4096 - 1200), expected: "untouched", got: 0)

        let (rc3, status3) = GrantTable.copy(GrantTable.copyOp(source: srcGfn, sourceOffset: 4095, dest: dstGfn,
                                                               destOffset: 4095, length: 1))
        t.expectRC("GNTTABOP_copy of the last byte", rc3, 0)
        t.expectRC("GNTTABOP_copy of the last byte: status", Int64(status3), Int64(GNTST_okay))
        let (rc4, status4) = GrantTable.copy(GrantTable.copyOp(source: srcGfn, sourceOffset: 0, dest: dstGfn,
                                                               destOffset: 0, length: 0))
        t.expectRC("GNTTABOP_copy of 0 bytes", rc4, 0)
        t.expectRC("GNTTABOP_copy of 0 bytes: status", Int64(status4), Int64(GNTST_okay))

        // Three ops in one call: ok, bad_copy_arg, ok.
        let ops = WorkArea.buffer(3)
        let size = GrantTable.copySize
        ops.storeStruct(GrantTable.copyOp(source: srcGfn, sourceOffset: 0, dest: dstGfn, destOffset: 0, length: 8), at: 0)
        ops.storeStruct(GrantTable.copyOp(source: srcGfn, sourceOffset: 4000, dest: dstGfn, destOffset: 0, length: 200), at: size)
        ops.storeStruct(GrantTable.copyOp(source: srcGfn, sourceOffset: 8, dest: dstGfn, destOffset: 8, length: 8), at: 2 * size)
        t.expectRC("GNTTABOP_copy of 3 ops", GrantTable.op(GNTTABOP_copy, ops.base, 3), 0)
        t.expectRC("GNTTABOP_copy of 3 ops: status 0", Int64(ops.loadStruct(gnttab_copy.self, at: 0).status), Int64(GNTST_okay))
        t.expectRC("GNTTABOP_copy of 3 ops: status 1", Int64(ops.loadStruct(gnttab_copy.self, at: size).status),
                   Int64(GNTST_bad_copy_arg))
        t.expectRC("GNTTABOP_copy of 3 ops: status 2", Int64(ops.loadStruct(gnttab_copy.self, at: 2 * size).status),
                   Int64(GNTST_okay))
    }

    private static func same(_ a: PhysRegion, _ ao: Int, _ b: PhysRegion, _ bo: Int, _ n: Int) -> Bool {
        for i in 0..<n where a.u8(ao + i) != b.u8(bo + i) { return false }
        return true
    }

    private static func copyStatus(_ t: inout TestContext, _ check: StaticString, _ op: gnttab_copy, _ want: Int32) {
        let (rc, status) = GrantTable.copy(op)
        t.expectRC(check, rc, 0)
        t.expectRC(check, Int64(status), Int64(want))
    }

    private static func copyErrors(_ t: inout TestContext) {
        let srcGfn = WorkArea.buffer(1).base / 4096
        let dstGfn = WorkArea.buffer(2).base / 4096
        let hole = Physmap.holeGfn
        copyStatus(&t, "GNTTABOP_copy: source offset+len past the page",
                   GrantTable.copyOp(source: srcGfn, sourceOffset: 4000, dest: dstGfn, destOffset: 0, length: 200),
                   GNTST_bad_copy_arg)
        copyStatus(&t, "GNTTABOP_copy: dest offset+len past the page",
                   GrantTable.copyOp(source: srcGfn, sourceOffset: 0, dest: dstGfn, destOffset: 3000, length: 2000),
                   GNTST_bad_copy_arg)
        copyStatus(&t, "GNTTABOP_copy: 4097 bytes",
                   GrantTable.copyOp(source: srcGfn, sourceOffset: 0, dest: dstGfn, destOffset: 0, length: 4097),
                   GNTST_bad_copy_arg)
        copyStatus(&t, "GNTTABOP_copy: source gmfn with no memory",
                   GrantTable.copyOp(source: hole, sourceOffset: 0, dest: dstGfn, destOffset: 0, length: 16),
                   GNTST_bad_page)
        copyStatus(&t, "GNTTABOP_copy: dest gmfn with no memory",
                   GrantTable.copyOp(source: srcGfn, sourceOffset: 0, dest: hole, destOffset: 0, length: 16),
                   GNTST_bad_page)
        copyStatus(&t, "GNTTABOP_copy: gmfn of another domain (not DOMID_SELF)",
                   GrantTable.copyOp(source: srcGfn, sourceDomid: 0, sourceOffset: 0, dest: dstGfn, destOffset: 0, length: 16),
                   GNTST_permission_denied)
        copyStatus(&t, "GNTTABOP_copy: gref of dom 12345",
                   GrantTable.copyOp(source: UInt64(ref), sourceDomid: noDomain, sourceOffset: 0, dest: dstGfn,
                                     destOffset: 0, length: 16, flags: UInt16(GNTCOPY_source_gref)),
                   GNTST_bad_domain)
        copyStatus(&t, "GNTTABOP_copy: gref beyond the table",
                   GrantTable.copyOp(source: 0xff_ffff, sourceOffset: 0, dest: dstGfn, destOffset: 0, length: 16,
                                     flags: UInt16(GNTCOPY_source_gref)),
                   GNTST_bad_gntref)
        copyStatus(&t, "GNTTABOP_copy: dest gref beyond the table",
                   GrantTable.copyOp(source: srcGfn, sourceOffset: 0, dest: 0xff_ffff, destOffset: 0, length: 16,
                                     flags: UInt16(GNTCOPY_dest_gref)),
                   GNTST_bad_gntref)
        copyStatus(&t, "GNTTABOP_copy: gref with a GTF_invalid entry",
                   GrantTable.copyOp(source: UInt64(invalidRef), sourceOffset: 0, dest: dstGfn, destOffset: 0, length: 16,
                                     flags: UInt16(GNTCOPY_source_gref)),
                   GNTST_general_error)
    }

    // MARK: map / unmap

    private static func mapping(_ t: inout TestContext) {
        let page = WorkArea.buffer(4)
        GrantTable.grantAccess(ref, domid: domidSelf, frame: UInt32(page.base / 4096))
        var map = gnttab_map_grant_ref()
        map.host_addr = Physmap.holeGfn * 4096
        map.flags = UInt32(GNTMAP_host_map)
        map.ref = ref
        map.dom = domidSelf
        map.status = 0x7fff
        let rc = withGuestAddress(of: &map) { GrantTable.op(GNTTABOP_map_grant_ref, $0, 1) }
        t.expectRC("GNTTABOP_map_grant_ref(DOMID_SELF)", rc, 0)
        t.expectRC("GNTTABOP_map_grant_ref(DOMID_SELF) status", Int64(map.status), Int64(GNTST_bad_domain))
        _ = GrantTable.endAccess(ref)

        var unmap = gnttab_unmap_grant_ref()
        unmap.host_addr = Physmap.holeGfn * 4096
        unmap.handle = 0xffff_ffff
        unmap.status = 0x7fff
        let rcU = withGuestAddress(of: &unmap) { GrantTable.op(GNTTABOP_unmap_grant_ref, $0, 1) }
        t.expectRC("GNTTABOP_unmap_grant_ref(handle 0xffffffff)", rcU, 0)
        t.expectRC("GNTTABOP_unmap_grant_ref(handle 0xffffffff) status", Int64(unmap.status), Int64(GNTST_bad_handle))
    }
}
