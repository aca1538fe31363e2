import GuestMemory
import Synchronization
import XenABI

/// Pages Xen owns and a guest places in its physical address space with `XENMEM_add_to_physmap`:
/// shared_info and the grant-table frames (Xen's P2M for `XENMAPSPACE_shared_info` and
/// `XENMAPSPACE_grant_table`).
///
/// Each page starts as a host page of its own. Placed over a gfn the guest already has (RAM),
/// the page's contents move there and that gfn is the page from then on; placed at a gfn with
/// nothing behind it (the usual choice, just above RAM), the host page itself is mapped there.
/// Moving a page again unmaps a dedicated mapping at the old place.
///
/// Locking: one mutex over the locations; it is held across the memory change so two vCPUs
/// moving the same page serialise.
public final class Physmap: Sendable {
    public enum Page: Hashable, Sendable {
        case sharedInfo
        case grantFrame(Int)
        public var name: String {
            switch self {
            case .sharedInfo: "shared_info"
            case .grantFrame(let i): "grant_frame_\(i)"
            }
        }
    }

    private struct Placement {
        var gfn: GFN
        /// True when a region of its own maps the page (it was placed over nothing).
        var dedicated: Bool
    }

    /// Where each placed page is (a list: at most 1 + `maxGrantFrames` entries, searched only
    /// by XENMEM_add_to_physmap; a dictionary's first instantiation costs a runtime metadata
    /// lookup on every boot).
    private let locations = Mutex<[(page: Page, placement: Placement)]>([])
    public let maxGrantFrames: Int
    /// Guest frames must fit the guest's physical address width (Xen: `paddr_bits`).
    public static let maxGFN: UInt64 = (1 << 40) - 1

    init(maxGrantFrames: Int) throws {
        self.maxGrantFrames = maxGrantFrames
    }

    /// Where `page` is mapped now, if anywhere.
    public func location(of page: Page) -> GFN? {
        locations.withLock { loc in loc.first { $0.page == page }?.placement.gfn }
    }

    /// Maps `page` at `gfn` in `memory`.
    public func place(_ page: Page, at gfn: GFN, in memory: GuestPhysicalMemory) throws(XenErrno) {
        guard gfn.raw <= Self.maxGFN else { throw .EINVAL }
        if case .grantFrame(let i) = page, i < 0 || i >= maxGrantFrames { throw .EINVAL }
        try locations.withLock { (loc: inout [(page: Page, placement: Placement)]) throws(XenErrno) in
            let index = loc.firstIndex { $0.page == page }
            let old = index.map { loc[$0].placement }
            if old?.gfn == gfn { return }
            // Another Xen page already sits at this gfn: Xen would replace it; we refuse to
            // alias two hypervisor pages onto one frame.
            if loc.contains(where: { $0.page != page && $0.placement.gfn == gfn }) { throw .EBUSY }
            // Over a grant mapping: Xen's guest_physmap_add_entry refuses (-EINVAL) rather
            // than unmap a grant this way (and would write into the granter's page here).
            if memory.region(containing: gfn.address)?.kind == GrantTable.mappingKind { throw .EINVAL }
            do {
                let contents: [UInt8]
                if let old {
                    contents = try memory.read(at: old.gfn.address, count: Int(xenPageSize))
                } else {
                    contents = [UInt8](repeating: 0, count: Int(xenPageSize))
                }
                let placed: Placement
                if memory.isBacked(gfn.address) {
                    try memory.write(contents, at: gfn.address)
                    placed = Placement(gfn: gfn, dedicated: false)
                } else {
                    try memory.addRegion(at: gfn.address, size: xenPageSize, kind: .special(page.name))
                    try memory.write(contents, at: gfn.address)
                    placed = Placement(gfn: gfn, dedicated: true)
                }
                if let index { loc[index].placement = placed } else { loc.append((page, placed)) }
                if let old, old.dedicated { try memory.removeRegion(at: old.gfn.address) }
            } catch {
                throw .ENOMEM
            }
        }
    }
}
