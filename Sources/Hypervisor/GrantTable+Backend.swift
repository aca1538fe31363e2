import GuestMemory
import Synchronization
import XenABI

extension GrantTable {
    /// Maps `granter`'s grant `ref` for a backend inside the hypervisor acting as `grantee`
    /// (usually domain 0, whom guests grant their console and xenstore rings). The same checks
    /// and pins as a guest's `GNTTABOP_map_grant_ref` with `GNTMAP_host_map`: the entry must
    /// permit access to `grantee`, a `GTF_readonly` entry needs `readonly`, and
    /// `GTF_reading`/`GTF_writing` stay set in the entry until `unmap`.
    public static func map(ref: GrantRef, from granter: Domain, by grantee: DomainID,
                           readonly: Bool) throws(GrantStatus) -> GrantMapping {
        let table = granter.grantTable
        let pinned = try table.pin(ref, for: grantee, readonly: readonly, mapping: true)
        let view = GuestPhysicalMemory()
        do {
            try view.add(pinned.page)
        } catch {
            table.unpin(ref, readonly: readonly)
            throw .generalError
        }
        return GrantMapping(table: table, granter: granter.id, ref: ref, frame: pinned.frame,
                            readonly: readonly, view: view)
    }

    /// Ends a backend mapping (also done when the mapping is deinitialised). Idempotent.
    public static func unmap(_ mapping: GrantMapping) { mapping.release() }
}

/// A granted page mapped for a backend inside the hypervisor: bounds-checked access to the one
/// 4 KiB page, offsets 0..<4096. Writes to a read-only mapping and any access after `unmap`
/// fault. The page stays valid memory for as long as this object lives, whatever the granter
/// does, as in Xen (revoking a grant cannot pull a mapped page away).
///
/// Locking: `released` is an atomic flag; the page is guest memory shared with the granter's
/// vCPUs, so ring indexes go through `loadAcquire`/`storeRelease`.
public final class GrantMapping: Sendable {
    public let granter: DomainID
    public let ref: GrantRef
    /// The granted frame in the granter's physical space.
    public let frame: GFN
    public let readonly: Bool
    private let table: GrantTable
    /// The page alone, at GPA 0.
    private let view: GuestPhysicalMemory
    private let released = Atomic<Bool>(false)

    init(table: GrantTable, granter: DomainID, ref: GrantRef, frame: GFN, readonly: Bool,
         view: GuestPhysicalMemory) {
        self.table = table; self.granter = granter; self.ref = ref; self.frame = frame
        self.readonly = readonly; self.view = view
    }

    deinit { release() }

    public var isMapped: Bool { !released.load(ordering: .acquiring) }

    func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try? view.removeRegion(at: GPA(0))
        table.unpin(ref, readonly: readonly)
    }

    private func writable(_ offset: Int) throws(MemoryFault) -> GPA {
        guard !readonly else { throw MemoryFault(address: UInt64(max(0, offset)), reason: .protection) }
        return try at(offset)
    }

    private func at(_ offset: Int) throws(MemoryFault) -> GPA {
        guard offset >= 0 else { throw MemoryFault(address: 0, reason: .overflow) }
        return GPA(UInt64(offset))
    }

    public func read(at offset: Int, count: Int) throws(MemoryFault) -> [UInt8] {
        try view.read(at: try at(offset), count: count)
    }

    public func write(_ bytes: [UInt8], at offset: Int) throws(MemoryFault) {
        try view.write(bytes, at: try writable(offset))
    }

    public func load<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, at offset: Int) throws(MemoryFault) -> T {
        try view.load(T.self, at: try at(offset))
    }

    public func store<T: FixedWidthInteger & UnsignedInteger>(_ value: T, at offset: Int) throws(MemoryFault) {
        try view.store(value, at: try writable(offset))
    }

    /// A 32-bit load with acquire ordering (a ring index the granter publishes).
    public func loadAcquire(_: UInt32.Type, at offset: Int) throws(MemoryFault) -> UInt32 {
        try view.loadAcquire(UInt32.self, at: try at(offset))
    }

    /// A 32-bit store with release ordering (a ring index the backend publishes).
    public func storeRelease(_ value: UInt32, at offset: Int) throws(MemoryFault) {
        try view.storeRelease(value, at: try writable(offset))
    }
}
