import GuestMemory
import Synchronization
import XenABI

/// One domain's grant table, version 1 (Xen's `struct grant_table`, xen/common/grant_table.c).
///
/// The shared entries are not kept here: in v1 the guest writes `grant_entry_v1`s straight into
/// its grant frames, the pages it placed with `XENMEM_add_to_physmap(XENMAPSPACE_grant_table)`
/// (see `Physmap`), so entry `ref` lives at frame `ref / 512`'s gfn + `(ref % 512) * 8`. A frame
/// the guest has not placed reads as zeros (Xen's frames start zeroed and the guest cannot write
/// one it has not mapped). What this type keeps is Xen's private state around those entries:
/// - `nr_frames` (starts at 1, grown by `GNTTABOP_setup_table` and by placing frame i, up to the
///   domain's `max_grant_frames`);
/// - as a granter, the active entries (`struct active_grant_entry`): for each ref in use, the
///   grantee, the pinned frame and the pin counts, with `GTF_reading`/`GTF_writing` set in the
///   shared entry by compare-and-swap while pinned, exactly as `_set_status_v1` does;
/// - as a mapper, the maptrack (`struct grant_mapping`): handle → the grant it maps and where.
///
/// Locking: one mutex over all of it. It is held while the shared entries are read and updated
/// in guest memory and while physmap frames are looked up (order: grant table → physmap → guest
/// memory, never the reverse). It is never held while taking another grant table's mutex, nor
/// while a domain's memory regions change (region observers call into the engine): a map pins
/// the granter's entry, releases that lock, adds the region, then records the handle.
public final class GrantTable: Sendable {
    /// The domain this table belongs to.
    public let domid: DomainID
    /// `max_grant_frames`.
    public let maxFrames: Int
    /// Handles a domain may hold at once: xl's default `max_maptrack_frames` (1024) times the
    /// 256 `struct grant_mapping`s in a page. Past it a map gets `GNTST_no_device_space`.
    public let maxMappings: Int
    /// Version 1 only: `GNTTABOP_set_version(2)` answers -ENOSYS, as Xen with `gnttab=max-ver:1`.
    public var version: UInt32 { 1 }

    let memory: GuestPhysicalMemory
    let physmap: Physmap

    /// `struct active_grant_entry` for a v1 full-page grant.
    struct Active {
        var grantee: DomainID
        /// The granted frame, fixed at the first pin (Xen's `act->mfn`).
        var frame: GFN
        /// That frame's page, as a region of its own at GPA 0 (what mappings alias).
        var page: MemoryRegion
        /// Writable and read-only pins (`GNTPIN_hstw` / `GNTPIN_hstr`; copies count as host pins).
        var writers = 0
        var readers = 0
        var pins: Int { writers + readers }
    }

    /// One guest mapping made with `GNTTABOP_map_grant_ref` (`struct grant_mapping`).
    struct Mapping {
        var granter: DomainID
        var granterTable: GrantTable
        var ref: GrantRef
        var flags: GrantMapFlags
        /// Where the page appears in this (the mapper's) domain.
        var hostFrame: GFN
        var devBusAddr: UInt64
    }

    struct State {
        var nrFrames = 1
        var active: [UInt32: Active] = [:]
        var maptrack: [UInt32: Mapping] = [:]
        /// Handles given back, reused lowest-last; `nextHandle` is the first never used.
        var freeHandles: [UInt32] = []
        var nextHandle: UInt32 = 0
        var handlesInUse = 0
    }
    let state = Mutex(State())

    /// The region kind of a granted page mapped into a guest; such a page cannot itself be
    /// granted or copied by frame (Xen: a `p2m_grant_map_*` gfn is not RAM to `get_paged_frame`).
    public static let mappingKind = MemoryRegion.Kind.special("grant_map")
    /// Pin counts are 8-bit fields in Xen; it refuses a pin that would reach bit 7.
    static let maxPinsPerKind = 0x80

    init(domid: DomainID, memory: GuestPhysicalMemory, physmap: Physmap, maxFrames: Int,
         maxMappings: Int = 1024 * 256) {
        self.domid = domid
        self.memory = memory
        self.physmap = physmap
        self.maxFrames = max(1, maxFrames)
        self.maxMappings = maxMappings
    }

    // MARK: Frames (setup_table, query_size, add_to_physmap)

    /// `nr_grant_frames`.
    public var frameCount: Int { state.withLock { s in syncFrames(&s); return s.nrFrames } }

    /// Entries the table holds now (`nr_grant_entries`).
    public var entryCount: Int { frameCount * GrantEntryV1.perFrame }

    /// Grows the table to at least `frames` frames (`gnttab_grow_table` from
    /// `GNTTABOP_setup_table`); more than `max_grant_frames` is `GNTST_general_error`.
    public func grow(to frames: Int) throws(GrantStatus) {
        guard frames <= maxFrames else { throw .generalError }
        state.withLock { s in s.nrFrames = max(s.nrFrames, frames) }
    }

    /// Where frame `index` is in the guest's physical space, if the guest has placed it.
    public func frameGFN(_ index: Int) -> GFN? { physmap.location(of: .grantFrame(index)) }

    /// Placing frame i with `XENMEM_add_to_physmap` grows the table to i + 1 frames in Xen
    /// (`gnttab_get_shared_frame_mfn`). Physmap does the placing, so the table catches up here,
    /// whenever a ref beyond `nr_frames` is asked for and when the size is queried.
    private func syncFrames(_ s: inout State) {
        var i = maxFrames - 1
        while i >= s.nrFrames {
            if physmap.location(of: .grantFrame(i)) != nil {
                s.nrFrames = i + 1
                return
            }
            i -= 1
        }
    }

    /// Whether `ref` is inside the table (`ref < nr_grant_entries`).
    private func covers(_ ref: GrantRef, _ s: inout State) -> Bool {
        let frame = Int(ref.raw) / GrantEntryV1.perFrame
        if frame < s.nrFrames { return true }
        guard frame < maxFrames else { return false }
        syncFrames(&s)
        return frame < s.nrFrames
    }

    /// Guest-physical address of entry `ref`, nil while its frame is not placed.
    func entryAddress(_ ref: GrantRef) -> GPA? {
        let frame = Int(ref.raw) / GrantEntryV1.perFrame
        guard frame < maxFrames, let gfn = physmap.location(of: .grantFrame(frame)) else { return nil }
        return gfn.address.advanced(by: UInt64(Int(ref.raw) % GrantEntryV1.perFrame * GrantEntryV1.size))
    }

    /// The shared entry `ref` as the guest last wrote it; nil beyond `nr_frames`.
    public func entry(_ ref: GrantRef) -> GrantEntryV1? {
        let inside = state.withLock { s in covers(ref, &s) }
        guard inside else { return nil }
        guard let gpa = entryAddress(ref), let b = try? memory.read(at: gpa, count: GrantEntryV1.size) else {
            return GrantEntryV1(flags: [], domid: DomainID(0), frame: 0)
        }
        return GrantEntryV1(bytes: b)
    }

    /// Number of pins on `ref` (maps and copies in progress), for diagnostics and tests.
    public func pinCount(_ ref: GrantRef) -> Int { state.withLock { $0.active[ref.raw]?.pins ?? 0 } }

    // MARK: Pinning (_set_status_v1, active entries)

    /// What a pin hands back: the frame and its page, and the entry's flags as last seen.
    struct Pinned {
        var frame: GFN
        var page: MemoryRegion
        var entryFlags: GrantEntryFlags
    }

    /// Pins `ref` for `grantee` (Xen's active-entry acquire in `map_grant_ref` and
    /// `acquire_grant_for_copy`): checks the shared entry unless already pinned, sets
    /// `GTF_reading` (and `GTF_writing` unless `readonly`) in it, and counts the pin.
    /// `mapping` also refuses `GTF_sub_page` entries, as a map must cover the whole page.
    func pin(_ ref: GrantRef, for grantee: DomainID, readonly: Bool, mapping: Bool) throws(GrantStatus) -> Pinned {
        try state.withLock { (s: inout State) throws(GrantStatus) -> Pinned in
            guard covers(ref, &s) else { throw .badGntref }
            let entry = entryAddress(ref)
            var act = s.active[ref.raw]
            // Already pinned: by this grantee only, and no counter overflow.
            if let a = act, a.grantee != grantee || a.writers >= Self.maxPinsPerKind
                || a.readers >= Self.maxPinsPerKind {
                throw .generalError
            }
            var flags: GrantEntryFlags
            if act == nil || (!readonly && act!.writers == 0) {
                guard let entry else { throw .generalError }  // an unplaced frame reads as zeros
                flags = try setStatus(entry, pinned: act != nil, readonly: readonly, mapping: mapping,
                                      grantee: grantee)
                if act == nil {
                    do throws(GrantStatus) {
                        let (frame, page) = try pagedFrame(entry)
                        act = Active(grantee: grantee, frame: frame, page: page)
                    } catch {
                        clearFlags(readonly ? .reading : [.reading, .writing], at: entry)
                        throw error
                    }
                }
            } else {
                let combo = entry.flatMap { try? memory.loadAcquire(UInt32.self, at: $0) } ?? 0
                flags = GrantEntryFlags(rawValue: UInt16(truncatingIfNeeded: combo))
            }
            if readonly { act!.readers += 1 } else { act!.writers += 1 }
            s.active[ref.raw] = act
            return Pinned(frame: act!.frame, page: act!.page, entryFlags: flags)
        }
    }

    /// Drops one pin taken by `pin` and clears `GTF_writing` / `GTF_reading` in the shared entry
    /// when the last writable / last pin goes (`gnttab_clear_flags`).
    func unpin(_ ref: GrantRef, readonly: Bool) {
        state.withLock { s in
            guard var a = s.active[ref.raw] else { preconditionFailure("unpin of an unpinned grant") }
            var clear: GrantEntryFlags = []
            if readonly {
                precondition(a.readers > 0)
                a.readers -= 1
            } else {
                precondition(a.writers > 0)
                a.writers -= 1
                if a.writers == 0 { clear.insert(.writing) }
            }
            if a.pins == 0 {
                clear.insert(.reading)
                s.active[ref.raw] = nil
            } else {
                s.active[ref.raw] = a
            }
            if !clear.isEmpty, let entry = entryAddress(ref) { clearFlags(clear, at: entry) }
        }
    }

    /// `_set_status_v1`: a bounded compare-and-swap loop on the entry's flags+domid word, since
    /// the guest may be changing it under us. Returns the flags it stored.
    private func setStatus(_ entry: GPA, pinned: Bool, readonly: Bool, mapping: Bool,
                           grantee: DomainID) throws(GrantStatus) -> GrantEntryFlags {
        let mask: GrantEntryFlags = mapping ? [.typeMask, .subPage] : .typeMask
        var combo: UInt32
        do { combo = try memory.loadAcquire(UInt32.self, at: entry) } catch { throw .generalError }
        var retries = 0
        while true {
            let flags = GrantEntryFlags(rawValue: UInt16(truncatingIfNeeded: combo))
            let domid = DomainID(UInt16(truncatingIfNeeded: combo >> 16))
            if !pinned && (flags.intersection(mask) != .permitAccess || domid != grantee) {
                throw .generalError
            }
            var new = flags.union(.reading)
            if !readonly {
                // Write-pinning a read-only grant.
                if flags.contains(.readonly) { throw .generalError }
                new.insert(.writing)
            }
            let swapped: (exchanged: Bool, original: UInt32)
            do {
                swapped = try memory.compareExchange(expected: combo, desired: combo & 0xFFFF_0000 | UInt32(new.rawValue),
                                                     at: entry)
            } catch {
                throw .generalError
            }
            if swapped.exchanged { return new }
            // The guest keeps changing the entry: Xen gives up after five tries.
            if retries == 4 { throw .generalError }
            retries += 1
            combo = swapped.original
        }
    }

    private func clearFlags(_ flags: GrantEntryFlags, at entry: GPA) {
        // flags are the entry's low 16 bits; the entry is 8-byte aligned.
        _ = try? memory.atomicAnd(~UInt64(flags.rawValue), at: entry)
    }

    /// The entry's frame and its page (`get_paged_frame`): RAM or a Xen page the granter has;
    /// nothing, or a page itself mapped from a grant, is `GNTST_bad_page`.
    private func pagedFrame(_ entry: GPA) throws(GrantStatus) -> (GFN, MemoryRegion) {
        // (loadAcquire: non-generic, so no generic dispatch on this hot path; the field is aligned.)
        guard let raw = try? memory.loadAcquire(UInt32.self, at: entry.advanced(by: UInt64(GrantEntryV1.Offset.frame))) else {
            throw .generalError
        }
        let frame = GFN(UInt64(raw))
        guard let page = Self.page(frame, in: memory) else { throw .badPage }
        return (frame, page)
    }

    /// `frame`'s page in `memory` as a region of its own at GPA 0, if it is a page that may be
    /// granted or copied.
    static func page(_ frame: GFN, in memory: GuestPhysicalMemory) -> MemoryRegion? {
        guard frame.raw <= Physmap.maxGFN, let r = memory.region(containing: frame.address),
              r.kind != mappingKind else { return nil }
        return r.slice(at: frame.address, size: xenPageSize, placedAt: GPA(0), kind: .special("grant"))
    }
}
