import GuestMemory
import XenABI

extension Hypervisor {
    /// `grant_table_op(cmd, uop, count)` (xen/common/grant_table.c: `do_grant_table_op`).
    /// `uop` points at `count` op structs. Per-op failures go into each op's `status` and the
    /// call returns 0, as in Xen; the call itself fails with -EFAULT for an op it cannot read or
    /// write back, -EINVAL for a negative count (Xen's `(int)count < 0`) or continuation bits in
    /// `cmd`, or count != 1 for the single-struct ops, and -ENOSYS for other commands.
    /// Batches run to completion: there are no continuations here.
    func grantTableOp(_ call: HypercallArgs, _ ctx: HypercallContext) throws(XenErrno) -> UInt64 {
        let cmd = UInt32(truncatingIfNeeded: call.a0)
        let uop = GVA(call.a1)
        let count = UInt32(truncatingIfNeeded: call.a2)
        guard Int32(bitPattern: count) >= 0 else { throw .EINVAL }
        // Only cache_flush carries continuation state above the command bits.
        guard cmd & ~gnttabopCmdMask == 0 || cmd & gnttabopCmdMask == GrantTableOpCmd.cacheFlush.rawValue else {
            throw .EINVAL
        }
        switch GrantTableOpCmd(rawValue: cmd & gnttabopCmdMask) {
        case .mapGrantRef: try gnttabMapGrantRef(uop, Int(count), ctx)
        case .unmapGrantRef: try gnttabUnmapGrantRef(uop, Int(count), ctx)
        case .setupTable: try gnttabSetupTable(uop, count, ctx)
        case .querySize: try gnttabQuerySize(uop, count, ctx)
        case .copy: try gnttabCopy(uop, Int(count), ctx)
        case .setVersion: try gnttabSetVersion(uop, ctx)
        case .getStatusFrames: try gnttabGetStatusFrames(uop, count, ctx)
        case .getVersion: try gnttabGetVersion(uop, ctx)
        default: throw unknownSubop(call, ctx)
        }
        return 0
    }

    /// `rcu_lock_domain_by_any_id` plus XSM_TARGET, as a grant status.
    private func grantTarget(_ domid: DomainID, _ ctx: HypercallContext) throws(GrantStatus) -> Domain {
        do { return try target(domid, from: ctx.domain) } catch {
            throw error == .ESRCH ? .badDomain : .permissionDenied
        }
    }

    // MARK: Single-struct ops

    /// `gnttab_setup_table`: grows the table and writes where its frames are. For a translated
    /// guest Xen answers each frame's gfn (`gnttab_shared_gmfn` → the M2P), so a frame the guest
    /// has not placed with `XENMEM_add_to_physmap` is `INVALID_GFN` (~0).
    private func gnttabSetupTable(_ uop: GVA, _ count: UInt32, _ ctx: HypercallContext) throws(XenErrno) {
        guard count == 1 else { throw .EINVAL }
        var op = try ctx.copyIn(GnttabSetupTable.self, from: uop)
        do {
            let d = try grantTarget(op.dom, ctx)
            try d.grantTable.grow(to: Int(op.nrFrames))
            op.status = .okay
            for i in 0..<Int(op.nrFrames) {
                let gfn = d.grantTable.frameGFN(i)?.raw ?? UInt64.max
                var b = [UInt8](repeating: 0, count: 8)
                b.setLE(gfn, at: 0)
                do { try ctx.copyOut(b, to: op.frameList.advanced(by: UInt64(i) * 8)) } catch { op.status = .badVirtAddr }
            }
        } catch {
            op.status = error
        }
        try ctx.copyOut(statusBytes(op.status), to: uop.advanced(by: UInt64(GnttabSetupTable.Offset.status)))
    }

    /// `gnttab_query_size`: the whole struct goes back.
    private func gnttabQuerySize(_ uop: GVA, _ count: UInt32, _ ctx: HypercallContext) throws(XenErrno) {
        guard count == 1 else { throw .EINVAL }
        var op = try ctx.copyIn(GnttabQuerySize.self, from: uop)
        do {
            let d = try grantTarget(op.dom, ctx)
            op.nrFrames = UInt32(d.grantTable.frameCount)
            op.maxNrFrames = UInt32(d.grantTable.maxFrames)
            op.status = .okay
        } catch {
            op.status = error
        }
        try ctx.copyOut(op, to: uop)
    }

    /// `gnttab_set_version`: version 1 only. 2 is -ENOSYS (Xen with `gnttab=max-ver:1`, and
    /// QEMU's Xen emulation); anything else -EINVAL. The current version is always written
    /// back, so a guest can learn it whatever it asked for.
    private func gnttabSetVersion(_ uop: GVA, _ ctx: HypercallContext) throws(XenErrno) {
        var op = try ctx.copyIn(GnttabSetVersion.self, from: uop)
        let result: XenErrno? = switch op.version {
        case 1: nil
        case 2: .ENOSYS
        default: .EINVAL
        }
        op.version = ctx.domain.grantTable.version
        try ctx.copyOut(op, to: uop)
        if let result { throw result }
    }

    /// `gnttab_get_status_frames`: v1 has no status frames, so asking for any is
    /// `GNTST_general_error` (Xen: `nr_frames > nr_status_frames`).
    private func gnttabGetStatusFrames(_ uop: GVA, _ count: UInt32, _ ctx: HypercallContext) throws(XenErrno) {
        guard count == 1 else { throw .EINVAL }
        var op = try ctx.copyIn(GnttabGetStatusFrames.self, from: uop)
        do {
            _ = try grantTarget(op.dom, ctx)
            op.status = op.nrFrames > 0 ? .generalError : .okay
        } catch {
            op.status = error
        }
        try ctx.copyOut(statusBytes(op.status), to: uop.advanced(by: UInt64(GnttabGetStatusFrames.Offset.status)))
    }

    /// `gnttab_get_version`: failures are errnos here (-ESRCH, -EPERM), not statuses.
    private func gnttabGetVersion(_ uop: GVA, _ ctx: HypercallContext) throws(XenErrno) {
        let op = try ctx.copyIn(GnttabGetVersion.self, from: uop)
        let d = try target(op.dom, from: ctx.domain)
        var b = [UInt8](repeating: 0, count: 4)
        b.setLE(d.grantTable.version, at: 0)
        try ctx.copyOut(b, to: uop.advanced(by: UInt64(GnttabGetVersion.Offset.version)))
    }

    // MARK: Batched ops

    /// `gnttab_map_grant_ref`: each op is read, done, and written back whole before the next.
    private func gnttabMapGrantRef(_ uop: GVA, _ count: Int, _ ctx: HypercallContext) throws(XenErrno) {
        for i in 0..<count {
            let at = uop.advanced(by: UInt64(i * GnttabMapGrantRef.size))
            var op = try ctx.copyIn(GnttabMapGrantRef.self, from: at)
            do {
                op.status = .okay
                let result = try mapOne(op, ctx)
                op.handle = result.handle
                op.devBusAddr = result.devBusAddr
            } catch {
                op.status = error
            }
            try ctx.copyOut(op, to: at)
        }
    }

    /// `map_grant_ref`'s checks in Xen's order: flags, then the granting domain (by id only:
    /// `rcu_lock_domain_by_id`, so DOMID_SELF is `GNTST_bad_domain`), then the grant itself.
    private func mapOne(_ op: GnttabMapGrantRef, _ ctx: HypercallContext) throws(GrantStatus) -> GrantTable.MapResult {
        guard !op.flags.isDisjoint(with: [.deviceMap, .hostMap]) else { throw .badGntref }
        guard op.flags.isDisjoint(with: [.deviceMap, .applicationMap, .containsPTE]) else { throw .generalError }
        guard let granter = domain(op.dom) else { throw .badDomain }
        return try ctx.domain.grantTable.mapGrantRef(op.ref, of: granter, flags: op.flags, hostAddr: op.hostAddr)
    }

    /// `gnttab_unmap_grant_ref`: only each op's status is written back.
    private func gnttabUnmapGrantRef(_ uop: GVA, _ count: Int, _ ctx: HypercallContext) throws(XenErrno) {
        for i in 0..<count {
            let at = uop.advanced(by: UInt64(i * GnttabUnmapGrantRef.size))
            let op = try ctx.copyIn(GnttabUnmapGrantRef.self, from: at)
            var status = GrantStatus.okay
            do {
                try ctx.domain.grantTable.unmapGrantRef(op.handle, hostAddr: op.hostAddr, devBusAddr: op.devBusAddr)
            } catch {
                status = error
            }
            try ctx.copyOut(statusBytes(status), to: at.advanced(by: UInt64(GnttabUnmapGrantRef.Offset.status)))
        }
    }

    /// `gnttab_copy`. Built for large batches: ops are read a chunk at a time (one page walk
    /// per page, one buffer per chunk), each status is stored through a cached translation of
    /// its page, and the bytes move with one memmove per op. If a chunk cannot be read whole,
    /// its ops are read one by one so every op before an unreadable one is still done (Xen
    /// stops at the first op it cannot read, with -EFAULT).
    private func gnttabCopy(_ uop: GVA, _ count: Int, _ ctx: HypercallContext) throws(XenErrno) {
        let chunk = 64
        let size = GnttabCopy.size
        var statuses = StatusWriter(ctx: ctx)
        var domains = CopyDomains(caller: ctx.domain)
        var done = 0
        while done < count {
            let n = min(chunk, count - done)
            let base = uop.advanced(by: UInt64(done * size))
            let ops = try? ctx.copyIn(base, count: n * size)
            for j in 0..<n {
                let at = base.advanced(by: UInt64(j * size))
                let op = if let ops { GnttabCopy(bytes: ops, at: j * size) } else { try ctx.copyIn(GnttabCopy.self, from: at) }
                let status = copyOne(op, &domains)
                try statuses.store(status, at: at.advanced(by: UInt64(GnttabCopy.Offset.status)))
            }
            done += n
        }
    }

    /// `gnttab_copy_one`: resolves both domains (`gnttab_copy_lock_domains`) and copies.
    private func copyOne(_ op: GnttabCopy, _ domains: inout CopyDomains) -> GrantStatus {
        do {
            let source = try copyEndpoint(op.source, gref: op.flags.contains(.sourceGref), &domains)
            let dest = try copyEndpoint(op.dest, gref: op.flags.contains(.destGref), &domains)
            try GrantTable.copy(from: source, to: dest, length: op.len, by: domains.caller.id)
            return .okay
        } catch {
            return error
        }
    }

    /// `gnttab_copy_lock_domain`: only DOMID_SELF may name a frame (even the caller's own id
    /// may not); a grant may be in any domain (`rcu_lock_domain_by_any_id`), since the grant
    /// itself says who may use it.
    private func copyEndpoint(_ p: GnttabCopyPtr, gref: Bool, _ domains: inout CopyDomains) throws(GrantStatus) -> GrantCopyEndpoint {
        guard gref || p.domid == .domidSelf else { throw .permissionDenied }
        let d = try domains.lookup(p.domid, in: self)
        return gref ? .grant(p.ref, in: d, offset: p.offset) : .frame(p.gmfn, in: d, offset: p.offset)
    }

    private func statusBytes(_ status: GrantStatus) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 2)
        b.setLE(UInt16(bitPattern: status.rawValue), at: 0)
        return b
    }
}

/// The domains a batch of copies names, looked up once per batch rather than once per op, as
/// Xen keeps the last source and destination domains locked across `gnttab_copy_one` calls.
private struct CopyDomains {
    let caller: Domain
    private var last: Domain?

    init(caller: Domain) { self.caller = caller }

    /// `rcu_lock_domain_by_any_id`: DOMID_SELF or the caller's id is the caller.
    mutating func lookup(_ id: DomainID, in hypervisor: Hypervisor) throws(GrantStatus) -> Domain {
        if id == .domidSelf || id == caller.id { return caller }
        if let last, last.id == id { return last }
        guard let d = hypervisor.domain(id) else { throw .badDomain }
        last = d
        return d
    }
}

/// Stores `int16_t status` fields of an op array (`__copy_field_to_guest`), translating each
/// page of the array once rather than walking the page tables for every op.
private struct StatusWriter {
    let ctx: HypercallContext
    private var page: UInt64 = .max
    private var pageGPA = GPA(0)

    init(ctx: HypercallContext) { self.ctx = ctx }

    mutating func store(_ status: GrantStatus, at gva: GVA) throws(XenErrno) {
        let value = UInt16(bitPattern: status.rawValue)
        let offset = gva.raw & (xenPageSize - 1)
        guard offset <= xenPageSize - 2 else {
            // Straddles two pages: the general path.
            var b = [UInt8](repeating: 0, count: 2)
            b.setLE(value, at: 0)
            return try ctx.copyOut(b, to: gva)
        }
        let start = gva.raw - offset
        do {
            if start != page {
                pageGPA = try ctx.memory.translator.translate(GVA(start), write: true)
                page = start
            }
            try ctx.memory.physical.store(value, at: pageGPA.advanced(by: offset))
        } catch {
            throw .EFAULT
        }
    }
}
