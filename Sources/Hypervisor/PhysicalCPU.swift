import Logging
import Synchronization
import XenABI

/// What the host reports about one of its possible CPUs (`HostServices.discoverHostCPUs`).
/// Three numbering schemes, never mixed: the host's CPU index, the APIC id, the ACPI id.
public struct HostCPUDescription: Sendable, Equatable {
    /// The host OS's CPU number (Linux: `cpuN`, the bit in affinity masks).
    public var hostIndex: Int
    /// The (x2)APIC id, if the host says (Linux lists it for online CPUs only).
    public var apicID: UInt32?
    /// The ACPI processor id / UID, if the firmware tables could be read.
    public var acpiID: UInt32?
    /// The CPU is in the machine now.
    public var present: Bool
    /// The host OS runs threads on it now.
    public var online: Bool

    public init(hostIndex: Int, apicID: UInt32?, acpiID: UInt32?, present: Bool, online: Bool) {
        self.hostIndex = hostIndex; self.apicID = apicID; self.acpiID = acpiID
        self.present = present; self.online = online
    }
}

/// One discovery of the host's CPUs.
public struct HostCPUDiscovery: Sendable, Equatable {
    /// Every possible CPU.
    public var cpus: [HostCPUDescription]
    /// Why some ids are unknown (an unreadable or corrupt ACPI table …), for the log.
    public var note: String?
    public init(cpus: [HostCPUDescription], note: String? = nil) { self.cpus = cpus; self.note = note }
}

/// One of the hypervisor's physical CPUs (Xen's per-CPU data with `cpu_present_map` and
/// `cpu_online_map`). Petrel's pCPU id is the host's CPU index; the APIC and ACPI ids are
/// separate numbers that only coincide with it by accident.
///
/// "Online" is Petrel's state: Petrel may run vCPU threads there. It needs the host to have
/// the CPU online, and Petrel not to have taken it offline (XENPF_cpu_offline). Petrel never
/// writes the host's own online files.
public struct PhysicalCPU: Sendable, Equatable {
    public var id: PCPUID
    /// The host CPU index vCPU threads are pinned by.
    public var hostIndex: Int
    /// Last known (x2)APIC id; nil if the host never said (it was offline since discovery).
    public var apicID: UInt32?
    /// Last known ACPI processor id; nil if unknown.
    public var acpiID: UInt32?
    public var present: Bool
    /// The host has it online.
    public var hostOnline: Bool
    /// Petrel took it offline (XENPF_cpu_offline, the toolstack's pcpu-offline).
    public var heldOffline: Bool

    public init(id: PCPUID, hostIndex: Int, apicID: UInt32? = nil, acpiID: UInt32? = nil, present: Bool = true,
                hostOnline: Bool = true, heldOffline: Bool = false) {
        self.id = id; self.hostIndex = hostIndex; self.apicID = apicID; self.acpiID = acpiID
        self.present = present; self.hostOnline = hostOnline; self.heldOffline = heldOffline
    }

    /// Petrel may run vCPU threads here.
    public var isOnline: Bool { present && hostOnline && !heldOffline }
}

/// The hypervisor's physical-CPU table and its notifier (Xen's xen/common/cpu.c: `cpu_up`,
/// `cpu_down` and the CPU notifier chain). Observers hear every change; the scheduler's vCPU
/// placement and VIRQ_PCPU_STATE delivery are two of them.
///
/// The host is scanned on first use, not when the table is made: a domain that never asks
/// about pCPUs and is not pinned (every `petrel run` of an unpinned guest) never pays for
/// reading sysfs and the MADT, half a millisecond of its boot.
///
/// Locking: `cpus` is a mutex over the table, held only to read or replace it. `changes` is a
/// second mutex that serialises every change (online, offline, rescan, the first scan, and
/// vCPU placement) and holds the observer list; it is held while observers run, so each hears
/// every change once and in order. Observers may read the table but must not change it (nor
/// place vCPUs through the hypervisor): that would wait for `changes` forever. `scanned` is
/// set under `changes`, after the first table is in place and before observers hear of it.
public final class PhysicalCPUTable: Sendable {
    let cpus = Mutex<[PhysicalCPU]>([])
    let changes = Mutex(Observers())
    private let scanned = Atomic<Bool>(false)
    let services: any HostServices
    let logger: Logger

    init(services: any HostServices, logger: Logger) {
        self.services = services
        self.logger = logger
    }

    // MARK: Reading

    /// Whether the host has been scanned yet (reading the table scans it).
    public var isScanned: Bool { scanned.load(ordering: .acquiring) }

    /// Every pCPU Petrel knows (every possible host CPU), by ascending id.
    public var all: [PhysicalCPU] {
        scanIfNeeded()
        return cpus.withLock { $0 }
    }
    public func cpu(_ id: PCPUID) -> PhysicalCPU? { all.first { $0.id == id } }
    /// The present pCPU whose APIC id is `apicID`.
    public func cpu(apicID: UInt32) -> PhysicalCPU? { all.first { $0.present && $0.apicID == apicID } }
    /// The present pCPU whose ACPI processor id is `acpiID`.
    public func cpu(acpiID: UInt32) -> PhysicalCPU? { all.first { $0.present && $0.acpiID == acpiID } }
    /// The pCPUs vCPUs may run on now.
    public var online: [PhysicalCPU] { all.filter(\.isOnline) }
    /// The highest present pCPU id (Xen's `cpumask_last(&cpu_present_map)`), nil if none.
    public var maxPresent: PCPUID? { all.last(where: \.present)?.id }

    // MARK: Online / offline

    /// Takes a pCPU offline for Petrel (Xen's XENPF_cpu_offline and `cpu_down`): every vCPU
    /// thread leaves it before this returns, and observers hear `.offline`.
    /// - CPU 0: -EOPNOTSUPP, checked first (XENPF_cpu_offline in platform_hypercall.c).
    /// - not a present pCPU: -EINVAL (`cpu >= nr_cpu_ids || !cpu_present(cpu)`).
    /// - already offline: success, nothing happens (`!cpu_online(cpu)` returns 0).
    /// - the last online pCPU: -EBUSY. Xen never gets there (CPU 0 stays online); its cpupool
    ///   refuses to lose its last CPU while domains use it (`cpupool_unassign_cpu_start`).
    /// - an observer fails (a vCPU thread could not be moved): the change is undone, the
    ///   observers that heard it (the failing one too: it may have done part of its work)
    ///   hear `.online`, and the observer's errno (-EBUSY if it threw something else) comes
    ///   back, as a failing CPU_DOWN_PREPARE notifier fails `cpu_down`.
    public func offline(_ id: PCPUID) throws(XenErrno) {
        scanIfNeeded()
        return try changes.withLock { (obs: inout Observers) throws(XenErrno) in
            guard id.raw != 0 else { throw .EOPNOTSUPP }
            guard let c = cpu(id), c.present else { throw .EINVAL }
            guard c.isOnline else { return }
            guard online.count > 1 else { throw .EBUSY }
            try change(id, heldOffline: true, event: .offline(id), undo: .online(id), obs)
        }
    }

    /// Brings a pCPU back online for Petrel (Xen's XENPF_cpu_online and `cpu_up`); observers
    /// hear `.online`, and vCPUs whose affinity allows it may run there again.
    /// - not a present pCPU: -EINVAL (`cpu >= nr_cpu_ids || !cpu_present(cpu)`).
    /// - already online: success, nothing happens.
    /// - the host has it offline: -EIO, as a CPU that does not answer Xen's start-up IPIs
    ///   (`do_boot_cpu`); Petrel never onlines a host CPU itself.
    /// - an observer fails: undone as for `offline`.
    public func online(_ id: PCPUID) throws(XenErrno) {
        scanIfNeeded()
        return try changes.withLock { (obs: inout Observers) throws(XenErrno) in
            guard let c = cpu(id), c.present else { throw .EINVAL }
            guard !c.isOnline else { return }
            guard c.hostOnline else { throw .EIO }
            try change(id, heldOffline: false, event: .online(id), undo: .offline(id), obs)
        }
    }

    private func change(_ id: PCPUID, heldOffline: Bool, event: PhysicalCPUEvent, undo: PhysicalCPUEvent,
                        _ obs: Observers) throws(XenErrno) {
        setHeldOffline(id, heldOffline)
        do throws(DeliveryFailure) {
            try obs.deliver(event, table: self)
        } catch {
            setHeldOffline(id, !heldOffline)
            obs.deliverUndo(undo, to: error.told + 1, table: self)
            logger.warning("\(event) failed, undone: \(error.cause)")
            throw error.cause as? XenErrno ?? .EBUSY
        }
    }

    private func setHeldOffline(_ id: PCPUID, _ held: Bool) {
        cpus.withLock { t in
            if let i = t.firstIndex(where: { $0.id == id }) { t[i].heldOffline = held }
        }
    }

    // MARK: Host discovery

    /// Reads the host's CPUs again (after a hot-plug, or when the toolstack asks) and applies
    /// what changed: new CPUs, CPUs gone, and CPUs the host took offline or brought back.
    /// Returns the events observers heard, in order. Observers cannot refuse a host change;
    /// their failures are logged.
    ///
    /// A CPU keeps its last known APIC and ACPI ids while it stays present (the host stops
    /// listing them when it goes offline). A CPU Petrel took offline stays offline until
    /// `online`, unless it left the machine: one that comes back starts fresh. The first scan is
    /// the baseline: nothing has changed, so nothing is heard and nothing returned.
    @discardableResult
    public func rescan() throws -> [PhysicalCPUEvent] {
        // Discovery happens under the change lock, so two rescans apply in the order they read.
        try changes.withLock { (obs: inout Observers) throws -> [PhysicalCPUEvent] in
            try scan(&obs, baseline: !isScanned)
        }
    }

    /// The first scan, for the first reader. A failure is logged once; the table stays empty
    /// (vCPU threads then run where the host puts them) until a `rescan` succeeds.
    private func scanIfNeeded() {
        guard !isScanned else { return }
        changes.withLock { (obs: inout Observers) in
            guard !isScanned else { return }
            do { _ = try scan(&obs, baseline: true) } catch {
                scanned.store(true, ordering: .releasing)
                logger.error("host CPUs unknown, vCPU threads run where the host puts them: \(error)")
            }
        }
    }

    /// Discovers, applies and tells observers (or, for the `baseline`, the first-scan hook).
    /// Caller holds `changes`.
    private func scan(_ obs: inout Observers, baseline: Bool = false) throws -> [PhysicalCPUEvent] {
        let found = try services.discoverHostCPUs()
        if found.note != obs.discoveryNote, let note = found.note { logger.notice("host CPUs: \(note)") }
        obs.discoveryNote = found.note
        let (table, events) = Self.merge(cpus.withLock { $0 }, with: found.cpus)
        cpus.withLock { $0 = table }
        let first = !isScanned
        scanned.store(true, ordering: .releasing)
        if first, let hook = obs.firstScan { hook(table) }
        if baseline { return [] }
        for e in events {
            do throws(DeliveryFailure) { try obs.deliver(e, table: self) } catch {
                logger.error("pCPU observer failed on \(e): \(error.cause)")
            }
        }
        return events
    }

    /// The table after a host discovery, and the events from `old` to it.
    static func merge(_ old: [PhysicalCPU], with found: [HostCPUDescription]) -> ([PhysicalCPU], [PhysicalCPUEvent]) {
        var byID = Dictionary(old.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var events: [PhysicalCPUEvent] = []
        var seen = Set<PCPUID>()
        for d in found.sorted(by: { $0.hostIndex < $1.hostIndex }) where d.hostIndex >= 0 && d.hostIndex <= Int(UInt32.max) {
            let id = PCPUID(UInt32(d.hostIndex))
            guard seen.insert(id).inserted else { continue }
            let was = byID[id]
            let stayed = was?.present == true && d.present
            var now = PhysicalCPU(id: id, hostIndex: d.hostIndex,
                                  apicID: d.apicID ?? (stayed ? was?.apicID : nil),
                                  acpiID: d.acpiID ?? (stayed ? was?.acpiID : nil),
                                  present: d.present, hostOnline: d.present && d.online,
                                  heldOffline: stayed ? was!.heldOffline : false)
            if !now.present { now.heldOffline = false }
            events += transition(from: was, to: now)
            byID[id] = now
        }
        // CPUs the host no longer lists at all are gone from the machine.
        for (id, was) in byID where !seen.contains(id) && was.present {
            let now = PhysicalCPU(id: id, hostIndex: was.hostIndex, apicID: was.apicID, acpiID: was.acpiID,
                                  present: false, hostOnline: false, heldOffline: false)
            events += transition(from: was, to: now)
            byID[id] = now
        }
        let table = byID.values.sorted { $0.id < $1.id }
        return (table, events.sorted { $0.order < $1.order })
    }

    private static func transition(from was: PhysicalCPU?, to now: PhysicalCPU) -> [PhysicalCPUEvent] {
        let wasPresent = was?.present ?? false, wasOnline = was?.isOnline ?? false
        var out: [PhysicalCPUEvent] = []
        if !wasPresent && now.present { out.append(.added(now.id)) }
        if !wasOnline && now.isOnline { out.append(.online(now.id)) }
        if wasOnline && !now.isOnline { out.append(.offline(now.id)) }
        if wasPresent && !now.present { out.append(.removed(now.id)) }
        return out
    }

    /// Runs `body` with every change held off, on the online pCPUs (vCPU placement and
    /// pinning, which must not interleave with a CPU going offline).
    func serialized<T, E: Error>(_ body: ([PhysicalCPU]) throws(E) -> T) throws(E) -> T {
        scanIfNeeded()
        return try changes.withLock { (_: inout Observers) throws(E) -> T in try body(online) }
    }
}
