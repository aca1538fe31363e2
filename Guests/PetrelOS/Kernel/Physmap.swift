// Where PetrelOS places the pages Xen lends it (XENMEM_add_to_physmap): shared_info
// at the first free gfn above RAM, then the grant-table frames at the free gfns after
// it. "Free" means outside every memmap entry and not a console/xenstore ring pfn.
// All of them lie below 4 GiB, inside the boot identity map.

enum Physmap {
    static let pageSize: UInt64 = 4096
    /// Grant-table frames PetrelOS maps (XENMAPSPACE_grant_table idx 0..<grantFrames).
    static let grantFrames = 4

    /// Cached layout: [shared_info, grant frame 0, ..., grant frame n-1, hole]; 0 = not computed.
    nonisolated(unsafe) private static var layout: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)

    static var sharedInfoGfn: UInt64 { computeLayout(); return layout.0 }

    static func grantFrameGfn(_ i: Int) -> UInt64 {
        precondition(i >= 0 && i < grantFrames)
        computeLayout()
        switch i {
        case 0: return layout.1
        case 1: return layout.2
        case 2: return layout.3
        default: return layout.4
        }
    }

    /// A free gfn above everything PetrelOS maps, with nothing behind it: guest
    /// accesses there have no memory (for -EFAULT and GNTST_bad_page checks).
    static var holeGfn: UInt64 { computeLayout(); return layout.5 }

    private static func computeLayout() {
        guard layout.0 == 0 else { return }
        // Without a memory map (no start info) assume 3 GiB: still below the 4 GiB map.
        let ramTop = Boot.startInfo.map { $0.ramEnd } ?? 0xC000_0000
        let shared = freeGfn(above: (ramTop + pageSize - 1) / pageSize)
        let g0 = freeGfn(above: shared + 1)
        let g1 = freeGfn(above: g0 + 1)
        let g2 = freeGfn(above: g1 + 1)
        let g3 = freeGfn(above: g2 + 1)
        let hole = freeGfn(above: g3 + 16)
        precondition((hole + 1) * pageSize <= identityMappedLimit, "no free gfns above RAM below 4 GiB")
        layout = (shared, g0, g1, g2, g3, hole)
    }

    /// The first gfn >= `start` outside every memmap entry and not a ring page we know of.
    static func freeGfn(above start: UInt64) -> UInt64 {
        let consolePfn = Xen.present ? Xen.hvmGetParam(HVM_PARAM_CONSOLE_PFN).1 : 0
        let storePfn = Xen.present ? Xen.hvmGetParam(HVM_PARAM_STORE_PFN).1 : 0
        var gfn = start
        var moved = true
        while moved {
            moved = false
            if let info = Boot.startInfo {
                for i in 0..<info.memmapCount {
                    let e = info.memmap(i)
                    if gfn * pageSize >= e.address && gfn * pageSize < e.end {
                        gfn = (e.end + pageSize - 1) / pageSize
                        moved = true
                    }
                }
            }
            if gfn == consolePfn || gfn == storePfn {
                gfn += 1
                moved = true
            }
        }
        return gfn
    }

    /// The page at `gfn` (identity-mapped).
    static func page(_ gfn: UInt64) -> PhysRegion {
        PhysRegion(base: gfn * pageSize, size: Int(pageSize))
    }
}
