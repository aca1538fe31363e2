// test=grantro: a read-only grant mapping (GNTMAP_readonly) is enforced. Xen maps it as
// p2m_grant_map_ro, a write-discard type: the guest's writes to it are dropped.
//   The domain grants one of its pages to itself (its real domid; Xen allows self-mapping)
//   read-only (GTF_readonly) and maps it with GNTMAP_host_map|GNTMAP_readonly at a free gfn
//   above RAM: the mapping shows the page; 8-, 4- and 1-byte stores, a `rep stosq`
//   and a compare-exchange through the mapping leave both the page and the mapping unchanged;
//   the page's own writes show through; the entry has GTF_reading but not GTF_writing and
//   gnttab_end_foreign_access fails while mapped; a writable map of the read-only grant is
//   GNTST_general_error; after GNTTABOP_unmap_grant_ref access ends.

enum TestGrantRO {
    static let ref: UInt32 = 40

    static func run(_ t: inout TestContext) {
        guard t.startRuntime(), let me = RingStore.start(&t) else { return }
        t.expectRC("map grant frames", GrantTable.mapFrames(Physmap.grantFrames), 0)
        guard t.ok else { return }
        let page = WorkArea.buffer(5)
        for i in 0..<(page.size / 8) { page.store(UInt64(i) &* 0x0101_0101_0101_0101, at: 8 * i) }
        GrantTable.grantAccess(ref, domid: UInt16(me), frame: UInt32(page.base / 4096), readonly: true)

        let at = (Physmap.holeGfn + 1) * 4096
        let (rcRW, rw) = GrantTable.map(ref: ref, dom: UInt16(me), hostAddr: at)
        t.expectRC("GNTTABOP_map_grant_ref of a GTF_readonly grant, writable", rcRW, 0)
        t.expectRC("GNTTABOP_map_grant_ref of a GTF_readonly grant, writable: status", Int64(rw.status),
                   Int64(GNTST_general_error))
        let (rc, op) = GrantTable.map(ref: ref, dom: UInt16(me), hostAddr: at, readonly: true)
        t.expectRC("GNTTABOP_map_grant_ref(GNTMAP_readonly)", rc, 0)
        t.expectRC("GNTTABOP_map_grant_ref(GNTMAP_readonly) status", Int64(op.status), Int64(GNTST_okay))
        guard t.ok else { return }
        let mapped = PhysRegion(base: at, size: 4096)

        t.expectEqual("the mapping shows the page", mapped.load64(8 * 7), 7 &* 0x0101_0101_0101_0101)
        t.expectEqual("flags while mapped read-only", UInt64(GrantTable.flags(ref)),
                      UInt64(GTF_permit_access | GTF_readonly | GTF_reading))
        t.expect("end access while mapped", !GrantTable.endAccess(ref), expected: "refused", got: 1)

        // Writes through the mapping: each exits to Petrel, which drops it.
        mapped.store64(0, 0xDEAD_BEEF_DEAD_BEEF)
        mapped.store32(64, 0xFFFF_FFFF)
        mapped.store8(129, 0x55)
        petrel_zero_qwords(mapped.checkedAddress(512, 64), 8)
        _ = mapped.compareExchange16(1024, expected: mapped.load16(1024), desired: 0x1234)
        var unchanged = true
        for i in 0..<(page.size / 8) {
            let expected = UInt64(i) &* 0x0101_0101_0101_0101
            if page.load64(8 * i) != expected || mapped.load64(8 * i) != expected { unchanged = false }
        }
        t.expect("writes through a read-only mapping are discarded", unchanged, expected: "page unchanged", got: 0)

        // The granter's own writes show through.
        page.store64(256, 0x600D_F00D)
        t.expectEqual("the page's writes show through the mapping", mapped.load64(256), 0x600D_F00D)

        let (rcU, status) = GrantTable.unmap(handle: op.handle, hostAddr: at)
        t.expectRC("GNTTABOP_unmap_grant_ref", rcU, 0)
        t.expectRC("GNTTABOP_unmap_grant_ref status", Int64(status), Int64(GNTST_okay))
        t.expectEqual("flags after unmap", UInt64(GrantTable.flags(ref)), UInt64(GTF_permit_access | GTF_readonly))
        t.expect("end access after unmap", GrantTable.endAccess(ref), expected: "ended", got: 0)
    }
}
