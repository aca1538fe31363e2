// test=storm, grant-table operations: random GNTTABOP_* commands and structs (see
// TestStorm.swift for the storm itself).

extension TestStorm {
    // MARK: grant tables

    static func gnttabOp(_ rng: inout SplitMix64) -> (UInt64, Int64, Bool) {
        var cmd: UInt64
        switch rng.below(20) {
        case 0...15: cmd = rng.below(13)
        case 16, 17: cmd = 13 + rng.below(20)
        case 18: cmd = rng.below(13) | (rng.below(16) << 12)          // continuation bits
        default: cmd = rng.next() & 0xffff_ffff
        }
        let stride = structStride(cmd)
        var count: UInt64
        switch rng.below(20) {
        case 0...14: count = 1
        case 15...17: count = rng.below(9)
        case 18: count = 0x8000_0000 | rng.below(0x8000_0000)         // negative as int
        default: count = 9 + rng.below(0x7fff_fff0)                    // only with an unreadable pointer
        }
        let s = structs
        let n = Int(min(count, 8))
        for i in 0..<n { fillGrantStruct(&rng, cmd, s, i * stride) }
        var target = pointer(&rng, s.base)
        // Large counts only with a pointer Xen cannot read: it would walk past the structs.
        if count > 8 && count < 0x8000_0000 { target = unmapped }
        let rc = GrantTable.op(Int32(truncatingIfNeeded: cmd), target, UInt32(truncatingIfNeeded: count))
        var statusOK = true
        if rc == 0 && target == s.base {
            for i in 0..<n where !statusInRange(cmd, s, i * stride) { statusOK = false }
        }
        return (cmd, rc, statusOK)
    }

    static func structStride(_ cmd: UInt64) -> Int {
        switch Int32(truncatingIfNeeded: cmd) {
        case GNTTABOP_map_grant_ref: return MemoryLayout<gnttab_map_grant_ref>.stride
        case GNTTABOP_unmap_grant_ref: return MemoryLayout<gnttab_unmap_grant_ref>.stride
        case GNTTABOP_setup_table: return MemoryLayout<gnttab_setup_table>.stride
        case GNTTABOP_transfer: return MemoryLayout<gnttab_transfer>.stride
        case GNTTABOP_copy: return MemoryLayout<gnttab_copy>.stride
        case GNTTABOP_query_size: return MemoryLayout<gnttab_query_size>.stride
        case GNTTABOP_unmap_and_replace: return MemoryLayout<gnttab_unmap_and_replace>.stride
        case GNTTABOP_swap_grant_ref: return MemoryLayout<gnttab_swap_grant_ref>.stride
        case GNTTABOP_cache_flush: return MemoryLayout<gnttab_cache_flush>.stride
        default: return 64
        }
    }

    /// Random but safe fields: frame lists go to `lists`, copies write only `copyTarget`.
    static func fillGrantStruct(_ rng: inout SplitMix64, _ cmd: UInt64, _ s: PhysRegion, _ at: Int) {
        let hole = state.load64(holeGfnOffset) * 4096
        switch Int32(truncatingIfNeeded: cmd) {
        case GNTTABOP_map_grant_ref:
            var m = gnttab_map_grant_ref()
            m.host_addr = rng.chance(50) ? hole : (rng.next() | (1 << 40))
            m.flags = rng.chance(80) ? UInt32(rng.below(32)) : UInt32(truncatingIfNeeded: rng.next())
            m.ref = rng.chance(80) ? UInt32(rng.below(2048)) : UInt32(truncatingIfNeeded: rng.next())
            m.dom = randomDomid(&rng)
            s.storeStruct(m, at: at)
        case GNTTABOP_unmap_grant_ref:
            var u = gnttab_unmap_grant_ref()
            u.host_addr = rng.chance(50) ? hole : rng.next()
            u.dev_bus_addr = rng.next()
            u.handle = rng.chance(50) ? UInt32(rng.below(64)) : UInt32(truncatingIfNeeded: rng.next())
            s.storeStruct(u, at: at)
        case GNTTABOP_setup_table:
            let list = pointer(&rng, lists.base)
            // A readable list gets at most 256 frames (2 KiB) written to it.
            let frames = list == lists.base ? UInt32(rng.below(257)) : UInt32(truncatingIfNeeded: rng.next())
            s.storeStruct(gnttab_setup_table(dom: randomDomid(&rng), nr_frames: frames, status: 0,
                                       frame_list: __guest_handle_xen_pfn_t(p: typedHandle(list))), at: at)
        case GNTTABOP_dump_table:
            s.storeStruct(gnttab_dump_table(dom: randomDomid(&rng), status: 0), at: at)
        case GNTTABOP_transfer:
            s.storeStruct(gnttab_transfer(mfn: xen_pfn_t(badGfn(&rng)), domid: randomDomid(&rng),
                                    ref: UInt32(rng.below(4096)), status: 0), at: at)
        case GNTTABOP_copy:
            s.storeStruct(randomCopy(&rng), at: at)
        case GNTTABOP_query_size:
            s.storeStruct(gnttab_query_size(dom: randomDomid(&rng), nr_frames: 0, max_nr_frames: 0, status: 0), at: at)
        case GNTTABOP_unmap_and_replace:
            s.storeStruct(gnttab_unmap_and_replace(host_addr: hole, new_addr: rng.chance(50) ? hole : rng.next(),
                                             handle: UInt32(truncatingIfNeeded: rng.next()), status: 0), at: at)
        case GNTTABOP_set_version:
            let v: UInt32 = rng.chance(30) ? 1 : rng.chance(50) ? UInt32(rng.below(4)) : UInt32(truncatingIfNeeded: rng.next())
            s.storeStruct(gnttab_set_version(version: v), at: at)
        case GNTTABOP_get_status_frames:
            let list = pointer(&rng, lists.base)
            let frames = list == lists.base ? UInt32(rng.below(17)) : UInt32(truncatingIfNeeded: rng.next())
            s.storeStruct(gnttab_get_status_frames(nr_frames: frames, dom: randomDomid(&rng), status: 0,
                                             frame_list: __guest_handle_uint64_t(p: typedHandle(list))), at: at)
        case GNTTABOP_get_version:
            s.storeStruct(gnttab_get_version(dom: randomDomid(&rng), pad: 0, version: 0), at: at)
        case GNTTABOP_swap_grant_ref:
            // Never the reserved entries (console, xenstore) the toolstack set up.
            let a = UInt32(8 + rng.below(4000)), b = UInt32(8 + rng.below(4000))
            s.storeStruct(gnttab_swap_grant_ref(ref_a: a, ref_b: b, status: 0), at: at)
        default:
            randomBytes(&rng, s.sub(at, 64), 64)             // unknown op: random bytes
        }
    }

    /// A copy that can only write to `copyTarget` (or fail): the destination is that
    /// page, a frame with no memory, or a random grant of another domain.
    static func randomCopy(_ rng: inout SplitMix64) -> gnttab_copy {
        let flags = UInt16(rng.below(4))
        let ramGfns = state.load64(ramGfnsOffset)
        let source: UInt64
        if flags & UInt16(GNTCOPY_source_gref) != 0 {
            source = rng.chance(80) ? rng.below(4096) : rng.next() & 0xffff_ffff
        } else {
            source = rng.chance(70) ? rng.below(ramGfns) : badGfn(&rng)     // reading our own RAM is harmless
        }
        let dest: UInt64
        if flags & UInt16(GNTCOPY_dest_gref) != 0 {
            dest = rng.chance(80) ? rng.below(4096) : rng.next() & 0xffff_ffff
        } else {
            dest = rng.chance(70) ? copyTarget.base / 4096 : badGfn(&rng)
        }
        func offset(_ rng: inout SplitMix64) -> UInt16 { rng.chance(70) ? UInt16(rng.below(4096)) : UInt16(truncatingIfNeeded: rng.next()) }
        let len: UInt16 = rng.chance(70) ? UInt16(rng.below(4097)) : UInt16(truncatingIfNeeded: rng.next())
        // Grant refs name other domains (or ourselves); frames must be DOMID_SELF to be useful.
        let sourceDomid = flags & UInt16(GNTCOPY_source_gref) != 0 ? randomDomid(&rng) : (rng.chance(85) ? domidSelf : randomDomid(&rng))
        let destDomid = flags & UInt16(GNTCOPY_dest_gref) != 0 ? randomDomid(&rng) : (rng.chance(85) ? domidSelf : randomDomid(&rng))
        return GrantTable.copyOp(source: source, sourceDomid: sourceDomid, sourceOffset: offset(&rng),
                                 dest: dest, destDomid: destDomid, destOffset: offset(&rng),
                                 length: len, flags: flags)
    }

    /// The per-op status Xen wrote must be a GNTST_* value (0 down to GNTST_no_space).
    static func statusInRange(_ cmd: UInt64, _ s: PhysRegion, _ at: Int) -> Bool {
        let status: Int16
        switch Int32(truncatingIfNeeded: cmd) {
        case GNTTABOP_map_grant_ref: status = s.loadStruct(gnttab_map_grant_ref.self, at: at).status
        case GNTTABOP_unmap_grant_ref: status = s.loadStruct(gnttab_unmap_grant_ref.self, at: at).status
        case GNTTABOP_setup_table: status = s.loadStruct(gnttab_setup_table.self, at: at).status
        case GNTTABOP_copy: status = s.loadStruct(gnttab_copy.self, at: at).status
        case GNTTABOP_query_size: status = s.loadStruct(gnttab_query_size.self, at: at).status
        case GNTTABOP_swap_grant_ref: status = s.loadStruct(gnttab_swap_grant_ref.self, at: at).status
        default: return true
        }
        return status <= 0 && status >= Int16(GNTST_no_space)
    }
}
