import GuestMemory
import XenABI

/// One side of a `GNTTABOP_copy`: a grant in some domain's table, or a frame of the caller's own.
public enum GrantCopyEndpoint: Sendable {
    /// `GNTCOPY_*_gref`: grant `ref` of `domain`, which must grant the caller access.
    case grant(GrantRef, in: Domain, offset: UInt16)
    /// A gmfn of the caller's own (only `DOMID_SELF` may name a frame).
    case frame(GFN, in: Domain, offset: UInt16)

    var offset: UInt16 {
        switch self {
        case .grant(_, _, let o), .frame(_, _, let o): o
        }
    }
}

extension GrantTable {
    /// A claimed side of a copy (`struct gnttab_copy_buf`): the memory and frame to copy with,
    /// and the pin to drop afterwards when it is a grant.
    private struct CopyBuffer {
        var memory: GuestPhysicalMemory
        var frame: GFN
        var pinned: (table: GrantTable, ref: GrantRef, readonly: Bool)?

        func release() {
            if let p = pinned { p.table.unpin(p.ref, readonly: p.readonly) }
        }
    }

    /// `gnttab_copy_one` after the domains are resolved: copies `length` bytes between two pages,
    /// each a grant to `caller` or a frame of the caller's. A source grant is pinned read-only,
    /// a destination grant writable (so a `GTF_readonly` grant cannot be written), each for the
    /// duration of the copy, as Xen's `acquire_grant_for_copy` does. Errors in Xen's order:
    /// source, destination, then `GNTST_bad_copy_arg` if either side crosses its page.
    /// The bytes move host memory to host memory in one memmove, no intermediate buffer.
    public static func copy(from source: GrantCopyEndpoint, to dest: GrantCopyEndpoint, length: UInt16,
                            by caller: DomainID) throws(GrantStatus) {
        let src = try claim(source, by: caller, readonly: true)
        let dst: CopyBuffer
        do {
            dst = try claim(dest, by: caller, readonly: false)
        } catch {
            src.release()
            throw error
        }
        defer {
            src.release()
            dst.release()
        }
        let pageSize = Int(xenPageSize)
        guard Int(source.offset) + Int(length) <= pageSize, Int(dest.offset) + Int(length) <= pageSize else {
            throw .badCopyArg
        }
        do {
            try dst.memory.copy(Int(length), from: src.memory,
                                at: src.frame.address.advanced(by: UInt64(source.offset)),
                                to: dst.frame.address.advanced(by: UInt64(dest.offset)))
        } catch {
            throw .generalError
        }
    }

    /// `gnttab_copy_claim_buf`.
    private static func claim(_ endpoint: GrantCopyEndpoint, by caller: DomainID,
                              readonly: Bool) throws(GrantStatus) -> CopyBuffer {
        switch endpoint {
        case .grant(let ref, let domain, _):
            let table = domain.grantTable
            let pinned = try table.pin(ref, for: caller, readonly: readonly, mapping: false)
            return CopyBuffer(memory: domain.memory, frame: pinned.frame, pinned: (table, ref, readonly))
        case .frame(let gfn, let domain, _):
            // get_paged_frame: the gmfn must be a page the domain has (not one mapped from a grant).
            guard page(gfn, in: domain.memory) != nil else { throw .badPage }
            return CopyBuffer(memory: domain.memory, frame: gfn, pinned: nil)
        }
    }
}
