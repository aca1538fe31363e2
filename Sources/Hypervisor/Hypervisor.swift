import GuestMemory
import Logging
import Synchronization
import XenABI

/// The hypervisor core (Xen's `xen/common`): the domain table and the hypercall entry point.
/// Engine-neutral: it knows guests only through `Domain`, `VCPU` and `GuestVirtualMemory`.
///
/// Locking: the domain table is behind `domains`' mutex; each domain guards its own state.
public final class Hypervisor: Sendable {
    public let logger: Logger
    public let services: any HostServices
    /// The host's physical CPUs as Petrel schedules on them (`PhysicalCPU.swift`).
    public let physicalCPUs: PhysicalCPUTable
    private let domains = Mutex<[DomainID: Domain]>([:])
    private let nextID = Mutex<UInt16>(1)
    /// Unimplemented hypercall numbers seen, with their counts (logged once per number).
    private let unimplemented = Mutex<[UInt64: Int]>([:])

    public init(services: any HostServices, logger: Logger = Logger(label: "petrel.hypervisor")) {
        self.services = services
        self.logger = logger
        // Scanned on first use (PhysicalCPUTable).
        physicalCPUs = PhysicalCPUTable(services: services, logger: logger)
        // The CPU notifier chain: placement first, then the control domain hears of it.
        physicalCPUs.onFirstScan { [unowned self] table in
            do { try placeAll(table) } catch { logger.warning("placing vCPUs on the host's CPUs: \(error)") }
        }
        physicalCPUs.observe { [unowned self] _, table in try placeAll(table) }
        physicalCPUs.observe { [unowned self] event, _ in raisePCPUState(event) }
    }

    /// Creates a domain with the next free id (ids start at 1: domain 0 is the toolstack itself).
    public func createDomain(_ config: DomainConfig) throws -> Domain {
        let id = try nextID.withLock { next -> DomainID in
            var candidate = next
            for _ in 0..<Int(DomainID.firstReserved.raw) {
                if candidate == 0 || candidate >= DomainID.firstReserved.raw { candidate = 1 }
                if domain(DomainID(candidate)) == nil { break }
                candidate += 1
            }
            guard domain(DomainID(candidate)) == nil else { throw XenErrno.ENOSPC }
            next = candidate &+ 1
            return DomainID(candidate)
        }
        let d = try Domain(id: id, config: config, hypervisor: self)
        domains.withLock { $0[id] = d }
        return d
    }

    public func domain(_ id: DomainID) -> Domain? { domains.withLock { $0[id] } }

    public var allDomains: [Domain] { domains.withLock { Array($0.values) }.sorted { $0.id < $1.id } }

    /// Forgets a domain (after its machine has been destroyed) and stops its timers.
    public func removeDomain(_ id: DomainID) {
        // Peers in other domains become unbound; no stale binding outlives a reused id.
        domain(id)?.evtchn.closeAll()
        // Its mappings of other domains' grants go, and with them any reference cycle.
        _ = domain(id)?.grantTable.releaseAll()
        let d = domains.withLock { $0.removeValue(forKey: id) }
        d?.timers.stop()
    }

    /// Resolves a guest-supplied domid the way Xen's `rcu_lock_domain_by_any_id` does:
    /// DOMID_SELF and the caller's own id name the caller; anything else must exist (-ESRCH)
    /// and, for a non-privileged caller, is refused (-EPERM).
    func target(_ domid: DomainID, from caller: Domain) throws(XenErrno) -> Domain {
        if domid == .domidSelf || domid == caller.id { return caller }
        guard let d = domain(domid) else { throw .ESRCH }
        guard caller.config.privileged else { throw .EPERM }
        return d
    }

    /// The most distinct unimplemented numbers (and sub-ops) remembered and logged. Numbers
    /// and sub-ops are guest values: one cycling through random ones must not grow Petrel's
    /// memory or its log without bound. Past the limit, calls are counted under
    /// `unimplementedOverflowKey`, and the first of them is logged.
    public static let unimplementedKeyLimit = 64
    public static let unimplementedOverflowKey = UInt64.max

    /// Records an unimplemented hypercall; true the first time this number is seen (false for
    /// every number past `unimplementedKeyLimit`).
    func noteUnimplemented(_ number: UInt64) -> Bool {
        let (first, overflowStarted) = unimplemented.withLock { counts -> (Bool, Bool) in
            if let n = counts[number] {
                counts[number] = n + 1
                return (false, false)
            }
            let distinct = counts.count - (counts[Self.unimplementedOverflowKey] == nil ? 0 : 1)
            guard distinct < Self.unimplementedKeyLimit else {
                counts[Self.unimplementedOverflowKey, default: 0] += 1
                return (false, counts[Self.unimplementedOverflowKey] == 1)
            }
            counts[number] = 1
            return (true, false)
        }
        if overflowStarted {
            logger.notice("more than \(Self.unimplementedKeyLimit) distinct unimplemented hypercalls and sub-ops: the rest are counted together and not logged")
        }
        return first
    }

    /// How many times each unimplemented hypercall number was called.
    public var unimplementedCounts: [UInt64: Int] { unimplemented.withLock { $0 } }
}
