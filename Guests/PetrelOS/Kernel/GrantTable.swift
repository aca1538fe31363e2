// Grant-table client (xen/grant_table.h), version 1. The shared frames are placed
// with XENMEM_add_to_physmap(XENMAPSPACE_grant_table, idx i) at Physmap's gfns; entry
// `ref` is grant_entry_v1 number ref across them (512 per frame).

enum GrantTable {
    static let entrySize = Int(PETREL_GRANT_ENTRY_V1_SIZE)
    static let entriesPerFrame = 4096 / entrySize
    static let copySize = Int(PETREL_GNTTAB_COPY_SIZE)

    /// Frames mapped so far (0..<mappedFrames).
    nonisolated(unsafe) private(set) static var mappedFrames = 0

    /// HYPERVISOR_grant_table_op(cmd, uop, count).
    @inline(__always)
    static func op(_ cmd: Int32, _ uop: UInt64, _ count: UInt32) -> Int64 {
        Xen.call(__HYPERVISOR_grant_table_op, UInt64(UInt32(bitPattern: cmd)), uop, UInt64(count))
    }

    /// Maps frames mappedFrames..<count. Returns 0 or the failing add_to_physmap rc.
    static func mapFrames(_ count: Int) -> Int64 {
        precondition(count <= Physmap.grantFrames)
        while mappedFrames < count {
            let rc = Xen.addToPhysmap(space: UInt32(XENMAPSPACE_grant_table), index: UInt64(mappedFrames),
                                      gfn: Physmap.grantFrameGfn(mappedFrames))
            if rc != 0 { return rc }
            mappedFrames += 1
        }
        return 0
    }

    /// The 8-byte grant_entry_v1 for `ref` (in a mapped frame).
    static func entry(_ ref: UInt32) -> PhysRegion {
        let frame = Int(ref) / entriesPerFrame
        precondition(frame < mappedFrames, "grant ref beyond the mapped frames")
        return Physmap.page(Physmap.grantFrameGfn(frame)).sub((Int(ref) % entriesPerFrame) * entrySize, entrySize)
    }

    /// Grants `domid` access to `frame` through `ref`, as Linux's gnttab_update_entry_v1:
    /// domid and frame first, a write barrier, then the flags that make it valid.
    static func grantAccess(_ ref: UInt32, domid: UInt16, frame: UInt32, readonly: Bool = false) {
        let e = entry(ref)
        e.store16(Int(PETREL_GRANT_ENTRY_DOMID), domid)
        e.store32(Int(PETREL_GRANT_ENTRY_FRAME), frame)
        petrel_barrier()
        e.store16(Int(PETREL_GRANT_ENTRY_FLAGS), UInt16(GTF_permit_access) | (readonly ? UInt16(GTF_readonly) : 0))
    }

    /// Revokes `ref` unless the grantee has it mapped (GTF_reading/GTF_writing): a
    /// cmpxchg of the flags to 0, as Linux's gnttab_end_foreign_access_ref_v1.
    static func endAccess(_ ref: UInt32) -> Bool {
        let e = entry(ref)
        let offset = Int(PETREL_GRANT_ENTRY_FLAGS)
        var flags = e.load16(offset)
        while true {
            if flags & UInt16(GTF_reading | GTF_writing) != 0 { return false }
            let old = e.compareExchange16(offset, expected: flags, desired: 0)
            if old == flags { return true }
            flags = old
        }
    }

    /// GNTTABOP_map_grant_ref of `count` ops already built at `ops` (an array of
    /// gnttab_map_grant_ref); each op's status, handle and dev_bus_addr come back in place.
    static func mapGrantRefs(_ ops: PhysRegion, count: Int) -> Int64 {
        precondition(count * MemoryLayout<gnttab_map_grant_ref>.stride <= ops.size)
        return op(GNTTABOP_map_grant_ref, ops.base, UInt32(count))
    }

    /// A GNTTABOP_map_grant_ref op: `dom`'s grant `ref` at guest-physical `hostAddr`
    /// (GNTMAP_host_map, plus GNTMAP_readonly if `readonly`).
    static func mapOp(ref: UInt32, dom: UInt16, hostAddr: UInt64, readonly: Bool = false) -> gnttab_map_grant_ref {
        var m = gnttab_map_grant_ref()
        m.host_addr = hostAddr
        m.flags = UInt32(GNTMAP_host_map) | (readonly ? UInt32(GNTMAP_readonly) : 0)
        m.ref = ref
        m.dom = dom
        m.status = 0x7fff
        m.handle = 0xffff_ffff
        return m
    }

    /// One GNTTABOP_map_grant_ref; returns rc and the op as Xen wrote it back.
    static func map(ref: UInt32, dom: UInt16, hostAddr: UInt64, readonly: Bool = false) -> (rc: Int64, op: gnttab_map_grant_ref) {
        var m = mapOp(ref: ref, dom: dom, hostAddr: hostAddr, readonly: readonly)
        let rc = withGuestAddress(of: &m) { op(GNTTABOP_map_grant_ref, $0, 1) }
        return (rc, m)
    }

    /// One GNTTABOP_unmap_grant_ref; returns rc and the op's status.
    static func unmap(handle: UInt32, hostAddr: UInt64) -> (rc: Int64, status: Int16) {
        var u = gnttab_unmap_grant_ref()
        u.host_addr = hostAddr
        u.handle = handle
        u.status = 0x7fff
        let rc = withGuestAddress(of: &u) { op(GNTTABOP_unmap_grant_ref, $0, 1) }
        return (rc, u.status)
    }

    /// The flags of entry `ref` (GTF_reading/GTF_writing show the grantee's pins).
    static func flags(_ ref: UInt32) -> UInt16 { entry(ref).load16(Int(PETREL_GRANT_ENTRY_FLAGS)) }

    /// GNTTABOP_query_size.
    static func querySize(dom: UInt16 = domidSelf, count: UInt32 = 1) -> (rc: Int64, result: gnttab_query_size) {
        var arg = gnttab_query_size(dom: dom, nr_frames: 0xdead, max_nr_frames: 0xdead, status: 0x7fff)
        let rc = withGuestAddress(of: &arg) { op(GNTTABOP_query_size, $0, count) }
        return (rc, arg)
    }

    /// GNTTABOP_set_version; returns rc and the version Xen wrote back.
    static func setVersion(_ version: UInt32) -> (rc: Int64, version: UInt32) {
        var arg = gnttab_set_version(version: version)
        let rc = withGuestAddress(of: &arg) { op(GNTTABOP_set_version, $0, 1) }
        return (rc, arg.version)
    }

    /// GNTTABOP_get_version.
    static func getVersion(dom: UInt16 = domidSelf) -> (rc: Int64, version: UInt32) {
        var arg = gnttab_get_version(dom: dom, pad: 0, version: 0xdead)
        let rc = withGuestAddress(of: &arg) { op(GNTTABOP_get_version, $0, 1) }
        return (rc, arg.version)
    }

    /// GNTTABOP_setup_table: frame numbers go to `frameList` (nrFrames xen_pfn_t).
    static func setupTable(dom: UInt16 = domidSelf, nrFrames: UInt32, frameList: UInt64,
                           count: UInt32 = 1) -> (rc: Int64, status: Int16) {
        var arg = gnttab_setup_table(dom: dom, nr_frames: nrFrames, status: 0x7fff,
                                     frame_list: __guest_handle_xen_pfn_t(p: typedHandle(frameList)))
        let rc = withGuestAddress(of: &arg) { op(GNTTABOP_setup_table, $0, count) }
        return (rc, arg.status)
    }

    /// One gnttab_copy: source and destination are (gmfn or ref, domid, offset);
    /// `flags` GNTCOPY_source_gref / GNTCOPY_dest_gref say which are refs.
    static func copyOp(source: UInt64, sourceDomid: UInt16 = domidSelf, sourceOffset: UInt16,
                       dest: UInt64, destDomid: UInt16 = domidSelf, destOffset: UInt16,
                       length: UInt16, flags: UInt16 = 0) -> gnttab_copy {
        var c = gnttab_copy()
        if flags & UInt16(GNTCOPY_source_gref) != 0 {
            c.source.u.ref = UInt32(truncatingIfNeeded: source)
        } else {
            c.source.u.gmfn = xen_pfn_t(source)
        }
        c.source.domid = sourceDomid
        c.source.offset = sourceOffset
        if flags & UInt16(GNTCOPY_dest_gref) != 0 {
            c.dest.u.ref = UInt32(truncatingIfNeeded: dest)
        } else {
            c.dest.u.gmfn = xen_pfn_t(dest)
        }
        c.dest.domid = destDomid
        c.dest.offset = destOffset
        c.len = length
        c.flags = flags
        c.status = 0x7fff
        return c
    }

    /// GNTTABOP_copy of one op; returns rc and the op's status.
    static func copy(_ c: gnttab_copy) -> (rc: Int64, status: Int16) {
        var arg = c
        let rc = withGuestAddress(of: &arg) { op(GNTTABOP_copy, $0, 1) }
        return (rc, arg.status)
    }
}
