// test=memory: HYPERVISOR_memory_op (xen/memory.h), following xen/common/memory.c
// and xen/arch/x86/mm.c:
//   XENMEM_memory_map (9) returns the start info memmap (20-byte E820 entries);
//   with nr_entries = 1 it returns 0, sets nr_entries = 1 and writes one entry only;
//   XENMEM_current_reservation / maximum_reservation (DOMID_SELF) are > 0,
//   current <= maximum, and current is within 1/16 (+256 pages) of the memmap's RAM;
//   XENMEM_add_to_physmap: shared_info (idx 0) and grant_table frame 0 at free gfns
//   above RAM; both pages then read (not all 0xFF) and write back from the guest;
//   an unknown space (99) is -EINVAL (x86 xenmem_add_to_physmap_one leaves the mfn
//   invalid and returns -EINVAL; Arm would say -ENOSYS);
//   unmapped arguments are -EFAULT; unknown cmds 60 and 200 are -ENOSYS
//   (200 = op 8, the removed translate_gpfn_list, with continuation bits set).

enum TestMemory {
    static let pageSize: UInt64 = 4096

    static func run(_ t: inout TestContext) {
        guard let info = Boot.startInfo, info.memmapCount > 0 else {
            return t.fail("start info", "no memory map to compare with")
        }
        memoryMap(&t, info)
        reservations(&t, info)
        physmap(&t)

        t.expectRC("XENMEM_memory_map with unmapped argument",
                   Xen.memoryOp(XENMEM_memory_map, unmappedAddress), -XenErrno.EFAULT)
        t.expectRC("XENMEM_add_to_physmap with unmapped argument",
                   Xen.memoryOp(XENMEM_add_to_physmap, unmappedAddress), -XenErrno.EFAULT)
        t.expectRC("memory_op unknown cmd 60", Xen.memoryOp(60, StaticPages.args.base), -XenErrno.ENOSYS)
        t.expectRC("memory_op unknown cmd 200", Xen.memoryOp(200, StaticPages.args.base), -XenErrno.ENOSYS)
    }

    // MARK: XENMEM_memory_map

    private static func memoryMap(_ t: inout TestContext, _ info: StartInfo) {
        let entrySize = Int(PETREL_E820_ENTRY_SIZE)
        let buffer = StaticPages.data
        let capacity = buffer.size / entrySize
        buffer.fill(0xaa)
        var map = xen_memory_map(nr_entries: UInt32(capacity), buffer: __guest_handle_void(p: guestHandle(buffer.base)))
        let rc = withGuestAddress(of: &map) { Xen.memoryOp(XENMEM_memory_map, $0) }
        t.expectRC("XENMEM_memory_map", rc, 0)
        t.expectEqual("XENMEM_memory_map nr_entries vs start info", UInt64(map.nr_entries), UInt64(info.memmapCount))
        guard t.ok else { return }
        for i in 0..<info.memmapCount {
            let e = info.memmap(i)
            let o = i * entrySize
            t.expectEqual("XENMEM_memory_map entry addr", buffer.u64(o), e.address)
            t.expectEqual("XENMEM_memory_map entry size", buffer.u64(o + 8), e.size)
            t.expectEqual("XENMEM_memory_map entry type", UInt64(buffer.u32(o + 16)), UInt64(e.type))
        }

        guard info.memmapCount >= 2 else { return }
        buffer.fill(0xaa)
        var small = xen_memory_map(nr_entries: 1, buffer: __guest_handle_void(p: guestHandle(buffer.base)))
        let rcSmall = withGuestAddress(of: &small) { Xen.memoryOp(XENMEM_memory_map, $0) }
        t.expectRC("XENMEM_memory_map with nr_entries=1", rcSmall, 0)
        t.expectEqual("XENMEM_memory_map nr_entries after nr_entries=1", UInt64(small.nr_entries), 1)
        t.expectEqual("XENMEM_memory_map nr_entries=1 entry addr", buffer.u64(0), info.memmap(0).address)
        t.expect("XENMEM_memory_map nr_entries=1 wrote past entry 0", buffer.all(0xaa, from: entrySize, count: entrySize),
                 expected: "untouched bytes at offset", got: Int64(entrySize))
    }

    // MARK: reservations

    private static func reservations(_ t: inout TestContext, _ info: StartInfo) {
        let current = Xen.reservation(XENMEM_current_reservation)
        let maximum = Xen.reservation(XENMEM_maximum_reservation)
        t.expect("XENMEM_current_reservation", current > 0, expected: "> 0 pages", got: current)
        t.expect("XENMEM_maximum_reservation", maximum >= current, expected: ">= current_reservation", got: maximum)
        let ram = Int64(info.ramBytes / pageSize)
        let slack = ram / 16 + 256
        t.expect("XENMEM_current_reservation vs memmap RAM pages", current >= ram - slack && current <= ram + slack,
                 expected: "about the memmap's RAM pages", got: current)
    }

    // MARK: XENMEM_add_to_physmap

    private static func physmap(_ t: inout TestContext) {
        // Physmap's layout: shared_info at the first free gfn above RAM, grant frames after it.
        let sharedGfn = Physmap.sharedInfoGfn
        let grantGfn = Physmap.grantFrameGfn(0)

        let rcShared = Xen.addToPhysmap(space: UInt32(XENMAPSPACE_shared_info), index: 0, gfn: sharedGfn)
        t.expectRC("XENMAPSPACE_shared_info", rcShared, 0)
        if rcShared == 0 { mappedPage(&t, "shared_info page", gfn: sharedGfn) }

        let rcGrant = Xen.addToPhysmap(space: UInt32(XENMAPSPACE_grant_table), index: 0, gfn: grantGfn)
        t.expectRC("XENMAPSPACE_grant_table frame 0", rcGrant, 0)
        if rcGrant == 0 { mappedPage(&t, "grant table frame 0", gfn: grantGfn) }

        t.expectRC("XENMEM_add_to_physmap space 99",
                   Xen.addToPhysmap(space: 99, index: 0, gfn: grantGfn + 1), -XenErrno.EINVAL)
    }

    /// The page must read as something other than all-0xFF (no backing memory) and
    /// keep what we write into its last 8 bytes (unused in shared_info; grant entry
    /// 511 with flags 0, i.e. GTF_invalid, in the grant table).
    private static func mappedPage(_ t: inout TestContext, _ check: StaticString, gfn: UInt64) {
        let page = PhysRegion(base: gfn * pageSize, size: Int(pageSize))
        // Reads the whole page, vcpu_info[0] / the first grant entries included.
        t.expect(check, !page.all(0xff), expected: "readable memory, not all 0xFF at gfn", got: Int64(gfn))
        let saved = page.u64(4088)
        let pattern: UInt64 = 0x5045_5452_0000_0000
        page.store(pattern, at: 4088)
        petrel_barrier()
        t.expectEqual(check, page.u64(4088), pattern)
        page.store(saved, at: 4088)
    }
}
