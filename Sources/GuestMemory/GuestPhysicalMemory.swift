import HostOS
import Synchronization
import XenABI

/// A contiguous guest-physical range backed by host memory.
public struct MemoryRegion: Sendable {
    public enum Kind: Sendable, Equatable {
        /// Guest RAM, as the memory map describes it.
        case ram
        /// Pages the hypervisor owns and maps into the guest (rings, shared_info, grant frames).
        case special(String)
    }
    public let start: GPA
    public let size: UInt64
    public let kind: Kind
    public let backing: MappedMemory
    /// Byte offset of `start` inside `backing`.
    public let backingOffset: Int
    /// Read-only to the guest, as Xen's `p2m_grant_map_ro` (a `P2M_DISCARD_WRITE_TYPES` type):
    /// the engine maps it read-only and discards the guest's writes; writes made through this
    /// memory on the guest's behalf (`write`, `store`, `fill`, `copy`…) are discarded too, as
    /// Xen's `__hvm_copy` skips discard-write pages; read-modify-write atomics on it fault.
    public let readonly: Bool

    public var end: UInt64 { start.raw + size }
    public func contains(_ gpa: GPA) -> Bool { gpa.raw >= start.raw && gpa.raw < end }
    /// Host address of this region's first byte (for an engine registering memory slots).
    public var hostAddress: UInt64 { UInt64(UInt(bitPattern: backing.base)) + UInt64(backingOffset) }
}

/// A domain's guest-physical address space: RAM plus special pages, each range backed by host
/// memory. The sole owner of pointers into guest RAM (DESIGN.md principle 4): everyone else reads
/// and writes through these bounds-checked accessors.
///
/// Locking: the region list is behind a mutex and changes rarely (domain build, add_to_physmap);
/// accessors take a snapshot of it. Changes (add, remove, observe) are serialised by a second
/// mutex, held while observers run, so every observer hears each change exactly once and in
/// order; observers must not change the region list themselves. Guest memory contents are shared
/// with running vCPUs, so callers that exchange data with a guest through memory use
/// `loadAcquire`/`storeRelease`.
public final class GuestPhysicalMemory: Sendable {
    private let state = Mutex<[MemoryRegion]>([])
    /// A change to the region list, as observers hear it.
    public enum Change: Sendable {
        case added(MemoryRegion)
        case removed(MemoryRegion)
    }
    public typealias Observer = @Sendable (Change) throws -> Void
    /// Identifies a registered observer, for `stopObserving`.
    public struct ObserverToken: Hashable, Sendable {
        fileprivate let id: Int
    }
    private struct Observers {
        var nextID = 0
        var list: [(id: Int, observer: Observer)] = []
    }
    /// Called after the region list changes, so an engine can map the change for the guest
    /// (a KVM memory slot). Also the lock that serialises changes (see the type's comment).
    private let observers = Mutex(Observers())

    public init() {}

    /// Allocates and adds a zeroed region of `size` bytes at `start`.
    @discardableResult
    public func addRegion(at start: GPA, size: UInt64, kind: MemoryRegion.Kind) throws -> MemoryRegion {
        precondition(size > 0 && size % xenPageSize == 0 && start.pageOffset == 0)
        guard start.raw <= UInt64.max - size else { throw MemoryFault(address: start.raw, reason: .overflow) }
        let backing = try MappedMemory.anonymous(size: Int(size))
        return try add(MemoryRegion(start: start, size: size, kind: kind, backing: backing, backingOffset: 0,
                                    readonly: false))
    }

    /// Adds a region over existing host memory (a page another domain shares, later grants).
    /// If an observer fails, the addition is undone (observers that took it hear `.removed`)
    /// and the observer's error is rethrown.
    @discardableResult
    public func add(_ region: MemoryRegion) throws -> MemoryRegion {
        // `end` must not overflow: every range check below relies on it.
        guard region.size > 0, region.start.raw <= UInt64.max - region.size else {
            throw MemoryFault(address: region.start.raw, reason: .overflow)
        }
        try observers.withLock { (obs: inout Observers) throws in
            try state.withLock { (regions: inout [MemoryRegion]) throws(MemoryFault) in
                if regions.contains(where: { $0.start.raw < region.end && region.start.raw < $0.end }) {
                    throw MemoryFault(address: region.start.raw, reason: .overflow)
                }
                regions.append(region)
                regions.sort { $0.start < $1.start }
            }
            var told = 0
            do {
                for entry in obs.list {
                    try entry.observer(.added(region))
                    told += 1
                }
            } catch {
                state.withLock { regions in regions.removeAll { $0.start == region.start } }
                for entry in obs.list.prefix(told) { try? entry.observer(.removed(region)) }
                throw error
            }
        }
        return region
    }

    /// Removes the region that starts at `start` (a special page moved elsewhere).
    public func removeRegion(at start: GPA) throws {
        try observers.withLock { (obs: inout Observers) throws in
            let removed = state.withLock { regions -> MemoryRegion? in
                guard let i = regions.firstIndex(where: { $0.start == start }) else { return nil }
                return regions.remove(at: i)
            }
            guard let removed else { return }
            for entry in obs.list { try entry.observer(.removed(removed)) }
        }
    }

    /// Registers an observer and replays the regions that exist already as additions. If the
    /// replay fails, the observer is not registered (regions it already took are not undone).
    @discardableResult
    public func observeRegions(_ observer: @escaping Observer) throws -> ObserverToken {
        try observers.withLock { (obs: inout Observers) throws -> ObserverToken in
            for region in regions { try observer(.added(region)) }
            let token = ObserverToken(id: obs.nextID)
            obs.nextID += 1
            obs.list.append((token.id, observer))
            return token
        }
    }

    /// Unregisters an observer (an engine whose machine is going away).
    public func stopObserving(_ token: ObserverToken) {
        observers.withLock { obs in obs.list.removeAll { $0.id == token.id } }
    }

    public var regions: [MemoryRegion] { state.withLock { $0 } }

    /// Total bytes of RAM regions.
    public var ramBytes: UInt64 {
        regions.filter { $0.kind == .ram }.reduce(0) { $0 + $1.size }
    }

    public func region(containing gpa: GPA) -> MemoryRegion? {
        state.withLock { regions in regions.first { $0.contains(gpa) } }
    }

    public func isBacked(_ gpa: GPA) -> Bool { region(containing: gpa) != nil }

    /// Resolves `[gpa, gpa+count)` to one region; the range must not straddle regions.
    private func span(_ gpa: GPA, _ count: Int) throws(MemoryFault) -> (MemoryRegion, Int) {
        guard count >= 0, gpa.raw <= UInt64.max - UInt64(count) else {
            throw MemoryFault(address: gpa.raw, reason: .overflow)
        }
        guard let r = region(containing: gpa) else { throw MemoryFault(address: gpa.raw, reason: .unbacked) }
        guard gpa.raw + UInt64(count) <= r.end else {
            throw MemoryFault(address: r.end, reason: .unbacked)
        }
        return (r, r.backingOffset + Int(gpa.raw - r.start.raw))
    }

    /// `span` for a plain write: nil when the range is read-only, and the write is discarded.
    private func writableSpan(_ gpa: GPA, _ count: Int) throws(MemoryFault) -> (MemoryRegion, Int)? {
        let s = try span(gpa, count)
        return s.0.readonly ? nil : s
    }

    /// `span` for a read-modify-write: a read-only range faults (a result cannot be discarded).
    private func rmwSpan(_ gpa: GPA, _ count: Int) throws(MemoryFault) -> (MemoryRegion, Int) {
        let s = try span(gpa, count)
        guard !s.0.readonly else { throw MemoryFault(address: gpa.raw, reason: .protection) }
        return s
    }

    public func read(at gpa: GPA, count: Int) throws(MemoryFault) -> [UInt8] {
        if count == 0 { return [] }
        let (r, off) = try span(gpa, count)
        return [UInt8](unsafeUninitializedCapacity: count) { buf, n in
            // SAFETY: span() proved [off, off+count) lies inside the mapping.
            buf.baseAddress!.initialize(from: (r.backing.base + off).assumingMemoryBound(to: UInt8.self), count: count)
            n = count
        }
    }

    public func write(_ bytes: [UInt8], at gpa: GPA) throws(MemoryFault) {
        if bytes.isEmpty { return }
        guard let (r, off) = try writableSpan(gpa, bytes.count) else { return }
        bytes.withUnsafeBytes { src in
            // SAFETY: span() proved the destination range lies inside the mapping.
            (r.backing.base + off).copyMemory(from: src.baseAddress!, byteCount: src.count)
        }
    }

    public func fill(_ value: UInt8, at gpa: GPA, count: Int) throws(MemoryFault) {
        if count == 0 { return }
        guard let (r, off) = try writableSpan(gpa, count) else { return }
        // SAFETY: span() proved the range lies inside the mapping.
        (r.backing.base + off).initializeMemory(as: UInt8.self, repeating: value, count: count)
    }

    public func load<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, at gpa: GPA) throws(MemoryFault) -> T {
        let (r, off) = try span(gpa, MemoryLayout<T>.size)
        // SAFETY: in bounds (span); loadUnaligned because guest addresses need not be aligned.
        return T(littleEndian: (r.backing.base + off).loadUnaligned(as: T.self))
    }

    public func store<T: FixedWidthInteger & UnsignedInteger>(_ value: T, at gpa: GPA) throws(MemoryFault) {
        guard let (r, off) = try writableSpan(gpa, MemoryLayout<T>.size) else { return }
        // SAFETY: in bounds (span).
        (r.backing.base + off).storeBytes(of: value.littleEndian, as: T.self)
    }

    /// A 32-bit load with acquire ordering, for ring indexes the guest publishes.
    public func loadAcquire(_: UInt32.Type, at gpa: GPA) throws(MemoryFault) -> UInt32 {
        guard gpa.raw % 4 == 0 else { throw MemoryFault(address: gpa.raw, reason: .protection) }
        let (r, off) = try span(gpa, 4)
        // SAFETY: in bounds and 4-byte aligned (checked above; regions are page aligned).
        let p = UnsafeMutablePointer<UInt32>(OpaquePointer(r.backing.base + off))
        return GuestAtomics.loadAcquire(p)
    }

    /// A 32-bit store with release ordering, for ring indexes the hypervisor publishes.
    public func storeRelease(_ value: UInt32, at gpa: GPA) throws(MemoryFault) {
        guard gpa.raw % 4 == 0 else { throw MemoryFault(address: gpa.raw, reason: .protection) }
        guard let (r, off) = try writableSpan(gpa, 4) else { return }
        // SAFETY: in bounds and 4-byte aligned.
        let p = UnsafeMutablePointer<UInt32>(OpaquePointer(r.backing.base + off))
        GuestAtomics.storeRelease(p, value)
    }

    /// An aligned 64-bit word the guest shares with us, for atomic bit operations (which
    /// `modifies`: then a read-only word faults).
    private func word64(_ gpa: GPA, modifies: Bool = true) throws(MemoryFault) -> UnsafeMutablePointer<UInt64> {
        guard gpa.raw % 8 == 0 else { throw MemoryFault(address: gpa.raw, reason: .protection) }
        let (r, off) = modifies ? try rmwSpan(gpa, 8) : try span(gpa, 8)
        // SAFETY: in bounds and 8-byte aligned (regions are page aligned).
        return UnsafeMutablePointer<UInt64>(OpaquePointer(r.backing.base + off))
    }

    /// Atomically ORs `mask` into the 64-bit word at `gpa`; returns the old value
    /// (Xen's `test_and_set_bit` on shared_info bitmaps).
    @discardableResult
    public func atomicOr(_ mask: UInt64, at gpa: GPA) throws(MemoryFault) -> UInt64 {
        GuestAtomics.fetchOr(try word64(gpa), mask)
    }

    /// Atomically ANDs `mask` into the 64-bit word at `gpa`; returns the old value.
    @discardableResult
    public func atomicAnd(_ mask: UInt64, at gpa: GPA) throws(MemoryFault) -> UInt64 {
        GuestAtomics.fetchAnd(try word64(gpa), mask)
    }

    /// Atomically reads the 64-bit word at `gpa` (sequentially consistent).
    public func atomicLoad(_: UInt64.Type, at gpa: GPA) throws(MemoryFault) -> UInt64 {
        GuestAtomics.fetchOr(try word64(gpa, modifies: false), 0)
    }

    /// Atomically exchanges the byte at `gpa` (Xen's `xchg` on `evtchn_upcall_pending`).
    @discardableResult
    public func atomicExchange(_ value: UInt8, at gpa: GPA) throws(MemoryFault) -> UInt8 {
        let (r, off) = try rmwSpan(gpa, 1)
        // SAFETY: in bounds; bytes need no alignment.
        return GuestAtomics.exchange(r.backing.base.advanced(by: off).assumingMemoryBound(to: UInt8.self), value)
    }

    /// A 64-bit store with release ordering (pvclock fields the guest reads).
    public func storeRelease64(_ value: UInt64, at gpa: GPA) throws(MemoryFault) {
        guard gpa.raw % 8 == 0 else { throw MemoryFault(address: gpa.raw, reason: .protection) }
        guard let (r, off) = try writableSpan(gpa, 8) else { return }
        // SAFETY: in bounds and 8-byte aligned (regions are page aligned).
        GuestAtomics.storeRelease64(UnsafeMutablePointer<UInt64>(OpaquePointer(r.backing.base + off)), value)
    }
}

// MARK: Grant tables (shared entries, mapped pages, GNTTABOP_copy)

extension MemoryRegion {
    /// The `size` bytes of this region at `gpa`, as a region of their own placed at `start` in
    /// another address space (a granted page mapped into the grantee). Nil unless the range is
    /// page aligned and inside this region. `readonly` makes the slice read-only (a region
    /// sliced from a read-only one stays read-only).
    public func slice(at gpa: GPA, size: UInt64, placedAt start: GPA, kind: Kind,
                      readonly: Bool = false) -> MemoryRegion? {
        guard size > 0, size % xenPageSize == 0, gpa.pageOffset == 0, start.pageOffset == 0,
              contains(gpa), gpa.raw - self.start.raw <= self.size - size else { return nil }
        return MemoryRegion(start: start, size: size, kind: kind, backing: backing,
                            backingOffset: backingOffset + Int(gpa.raw - self.start.raw),
                            readonly: readonly || self.readonly)
    }
}

extension GuestPhysicalMemory {
    /// Atomically replaces the 32-bit word at `gpa` with `desired` if it still holds `expected`;
    /// returns whether it did and the value found (Xen's `guest_cmpxchg`).
    public func compareExchange(expected: UInt32, desired: UInt32, at gpa: GPA) throws(MemoryFault) -> (exchanged: Bool, original: UInt32) {
        guard gpa.raw % 4 == 0 else { throw MemoryFault(address: gpa.raw, reason: .protection) }
        let (r, off) = try rmwSpan(gpa, 4)
        // SAFETY: in bounds and 4-byte aligned (checked above; regions are page aligned).
        let p = UnsafeMutablePointer<UInt32>(OpaquePointer(r.backing.base + off))
        return GuestAtomics.compareExchange32(p, expected: expected, desired: desired)
    }

    /// Copies `count` bytes from `source` at `from` to this memory at `to`, host memory to host
    /// memory with no intermediate buffer (`GNTTABOP_copy`). Both ranges are bounds-checked and
    /// may overlap (memmove semantics). A read-only destination discards the bytes.
    public func copy(_ count: Int, from source: GuestPhysicalMemory, at from: GPA, to: GPA) throws(MemoryFault) {
        if count == 0 { return }
        let (sr, so) = try source.span(from, count)
        guard let (dr, dof) = try writableSpan(to, count) else { return }
        // SAFETY: span() proved both ranges lie inside their mappings; copyMemory is memmove.
        (dr.backing.base + dof).copyMemory(from: sr.backing.base + so, byteCount: count)
    }
}
