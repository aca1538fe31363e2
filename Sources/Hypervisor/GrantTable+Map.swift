import GuestMemory
import XenABI

/// Guest mappings: `GNTTABOP_map_grant_ref` / `GNTTABOP_unmap_grant_ref` for a translated (HVM
/// or PVH) mapper, whose `host_addr` is a guest-physical address. Called on the mapper's table.
extension GrantTable {
    /// What a successful map hands back to the guest.
    public struct MapResult: Equatable, Sendable {
        public var handle: GrantHandle
        /// Xen returns the frame's machine address; there are no machine frames here, so it is
        /// the granted frame's guest-physical address in the granter. Only ever compared again
        /// by `unmap_grant_ref`.
        public var devBusAddr: UInt64
    }

    /// `map_grant_ref` (xen/common/grant_table.c) after the domain lookup: maps `granter`'s
    /// grant `ref` at guest-physical `hostAddr` in this table's domain. The new region shares
    /// the granter's page; the engine maps it through its memory observer. With
    /// `GNTMAP_readonly` the region is read-only (Xen's `p2m_grant_map_ro`): the engine maps it
    /// so, and the guest's writes to it are discarded; an engine that cannot map memory
    /// read-only refuses the region, and the map fails with `GNTST_general_error`.
    public func mapGrantRef(_ ref: GrantRef, of granter: Domain, flags: GrantMapFlags,
                            hostAddr: UInt64) throws(GrantStatus) -> MapResult {
        guard !flags.isDisjoint(with: [.deviceMap, .hostMap]) else { throw .badGntref }
        // A translated mapper has no device, application or PTE mappings.
        guard flags.isDisjoint(with: [.deviceMap, .applicationMap, .containsPTE]) else { throw .generalError }
        let handle = try allocateHandle()
        let readonly = flags.contains(.readonly)
        let pinned: Pinned
        do {
            pinned = try granter.grantTable.pin(ref, for: domid, readonly: readonly, mapping: true)
        } catch {
            freeHandle(handle)
            throw error
        }
        let hostFrame = GFN(hostAddr >> xenPageShift)
        do {
            // create_grant_p2m_mapping: no cache attributes, no flags beyond host_map|readonly.
            guard pinned.entryFlags.isDisjoint(with: [.pat, .pcd, .pwt]),
                  flags.subtracting(.readonly) == .hostMap else { throw GrantStatus.generalError }
            guard hostFrame.raw <= Physmap.maxGFN,
                  let region = pinned.page.slice(at: GPA(0), size: xenPageSize, placedAt: hostFrame.address,
                                                 kind: Self.mappingKind, readonly: readonly) else {
                throw GrantStatus.generalError
            }
            // Xen replaces whatever the gfn held (guest_physmap_add_entry). We cannot punch a
            // hole in a RAM region yet, so host_addr must be a gfn with nothing behind it.
            try memory.add(region)
        } catch {
            granter.grantTable.unpin(ref, readonly: readonly)
            freeHandle(handle)
            throw .generalError
        }
        let devBusAddr = pinned.frame.address.raw
        state.withLock { s in
            s.maptrack[handle.raw] = Mapping(granter: granter.id, granterTable: granter.grantTable, ref: ref,
                                             flags: flags, hostFrame: hostFrame, devBusAddr: devBusAddr)
        }
        return MapResult(handle: handle, devBusAddr: devBusAddr)
    }

    /// `unmap_grant_ref` for a translated mapper (`unmap_common` + `replace_grant_p2m_mapping`):
    /// `hostAddr` must name the page the handle mapped; a zero `hostAddr` unmaps nothing (and
    /// succeeds), as in Xen. A nonzero `devBusAddr` must match what the map returned.
    public func unmapGrantRef(_ handle: GrantHandle, hostAddr: UInt64, devBusAddr: UInt64) throws(GrantStatus) {
        let m = try state.withLock { (s: inout State) throws(GrantStatus) -> Mapping? in
            guard let m = s.maptrack[handle.raw] else { throw .badHandle }
            if devBusAddr != 0 && devBusAddr != m.devBusAddr { throw .generalError }
            guard hostAddr != 0 else { return nil }
            guard GFN(hostAddr >> xenPageShift) == m.hostFrame else { throw .generalError }
            s.maptrack[handle.raw] = nil
            return m
        }
        guard let m else { return }
        try release(m, handle: handle)
    }

    /// Releases every mapping this domain holds (`gnttab_release_mappings`, for a domain being
    /// destroyed): regions leave its memory and the granters' entries are unpinned.
    /// Returns how many mappings there were.
    @discardableResult
    public func releaseAll() -> Int {
        let all = state.withLock { s -> [(UInt32, Mapping)] in
            let all = s.maptrack.sorted { $0.key < $1.key }
            s.maptrack.removeAll()
            return all
        }
        for (handle, m) in all { try? release(m, handle: GrantHandle(handle)) }
        return all.count
    }

    /// Handles this domain holds now.
    public var mappingCount: Int { state.withLock { $0.maptrack.count } }

    /// Undoes one map whose maptrack entry is already gone.
    private func release(_ m: Mapping, handle: GrantHandle) throws(GrantStatus) {
        do {
            try memory.removeRegion(at: m.hostFrame.address)
        } catch {
            // The engine may still map the page: keep the pin (the granter keeps seeing
            // GTF_reading/writing) rather than let the page be reused under the mapper.
            freeHandle(handle)
            throw .generalError
        }
        m.granterTable.unpin(m.ref, readonly: m.flags.contains(.readonly))
        freeHandle(handle)
    }

    private func allocateHandle() throws(GrantStatus) -> GrantHandle {
        try state.withLock { (s: inout State) throws(GrantStatus) -> GrantHandle in
            guard s.handlesInUse < maxMappings else { throw .noDeviceSpace }
            s.handlesInUse += 1
            if let h = s.freeHandles.popLast() { return GrantHandle(h) }
            s.nextHandle += 1
            return GrantHandle(s.nextHandle - 1)
        }
    }

    private func freeHandle(_ handle: GrantHandle) {
        state.withLock { s in
            s.handlesInUse -= 1
            s.freeHandles.append(handle.raw)
        }
    }
}
