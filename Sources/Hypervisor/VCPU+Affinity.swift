import Synchronization
import XenABI

/// A vCPU's hard affinity (Xen's `cpu_hard_affinity`): the pCPUs it may run on.
public enum VCPUAffinity: Sendable, Equatable, CustomStringConvertible {
    /// Every pCPU, including ones added later (Xen's `cpumask_all`, the default).
    case all
    case only(Set<PCPUID>)

    public func contains(_ id: PCPUID) -> Bool {
        switch self {
        case .all: true
        case .only(let s): s.contains(id)
        }
    }

    public var description: String {
        switch self {
        case .all: "all"
        case .only(let s): s.sorted().map { String($0.raw) }.joined(separator: ",")
        }
    }
}

/// Where a vCPU may run: its hard affinity and what that leaves on the online pCPUs.
/// Guarded by `VCPU.placement`.
struct VCPUPlacement {
    var hard: VCPUAffinity = .all
    /// hard ∩ online, as last computed.
    var effective: [PCPUID] = []
    /// The host CPUs last handed to the engine (nil: never, or the push failed).
    var pushed: [Int]?
}

extension VCPU {
    /// The pCPUs this vCPU may run on (`xl vcpu-pin`'s hard affinity).
    public var hardAffinity: VCPUAffinity { placement.withLock { $0.hard } }
    /// Its hard affinity restricted to the online pCPUs: where its thread may run now.
    public var effectiveAffinity: [PCPUID] { placement.withLock { $0.effective } }
}

/// One vCPU's placement, for `xl vcpu-list`.
public struct VCPUPlacementReport: Sendable, Equatable {
    public var domain: DomainID
    public var vcpu: VCPUID
    public var hard: VCPUAffinity
    public var effective: [PCPUID]
    /// The engine's host thread, if it runs one now.
    public var thread: VCPUHostThread?
    /// The pCPU the thread last ran on, if known.
    public var cpu: PCPUID?
}

/// One pCPU and the vCPUs that may run (`allowed`) and last ran (`running`) there, for
/// `xl pcpu-list`-style listings.
public struct PhysicalCPUUsage: Sendable, Equatable {
    public struct VCPURef: Hashable, Sendable, CustomStringConvertible {
        public var domain: DomainID
        public var vcpu: VCPUID
        public var description: String { "\(domain)\(vcpu)" }
    }
    public var cpu: PhysicalCPU
    public var allowed: [VCPURef]
    public var running: [VCPURef]
}

extension Hypervisor {
    // MARK: Placement (the scheduler's CPU notifier)

    /// The placement observer: after any pCPU change, every vCPU's effective affinity is
    /// recomputed and handed to its engine (Xen's `cpu_disable_scheduler` and the
    /// scheduler's reaction to CPU_ONLINE). Throwing makes an `offline` fail and undo.
    func placeAll(_ table: [PhysicalCPU]) throws {
        let online = table.filter(\.isOnline)
        for d in allDomains where !d.isShutDown {
            for v in d.vcpus { try place(v, online: online, force: false) }
        }
    }

    /// Computes `vcpu`'s effective affinity (hard ∩ online) and gives it to the engine.
    /// If nothing is left, the pin is broken, as Xen's `cpu_disable_scheduler` does
    /// ("Breaking affinity for %pv"): hard becomes every pCPU. Caller holds the table's
    /// change lock. `force` pushes even an unchanged set (a thread about to start).
    func place(_ vcpu: VCPU, online: [PhysicalCPU], force: Bool) throws {
        let (hostCPUs, broken, changed) = vcpu.placement.withLock { p -> ([Int], Bool, Bool) in
            var eff = online.filter { p.hard.contains($0.id) }
            var broken = false
            if eff.isEmpty && p.hard != .all && !online.isEmpty {
                p.hard = .all
                eff = online
                broken = true
            }
            p.effective = eff.map(\.id)
            let host = eff.map(\.hostIndex)
            return (host, broken, p.pushed != host)
        }
        let d = vcpu.domain
        if broken { logger.info("Breaking affinity for \(d.id)\(vcpu.id)") }
        // No online pCPU at all (discovery failed): leave the thread where the host puts it.
        guard !hostCPUs.isEmpty, force || changed, let m = d.machine else { return }
        vcpu.placement.withLock { $0.pushed = nil }
        try m.setAffinity(vcpu: vcpu.id, hostCPUs: hostCPUs)
        vcpu.placement.withLock { $0.pushed = hostCPUs }
    }

    /// For engines, before a vCPU's thread starts: hands the engine the vCPU's current
    /// effective affinity (through `Machine.setAffinity`, serialised with pCPU changes, so a
    /// CPU going offline meanwhile is never missed). The thread must start on it.
    /// An unpinned vCPU before the host's CPUs are known needs nothing: its thread inherits
    /// the process's affinity, and the first scan places every vCPU.
    public func placeVCPU(_ vcpu: VCPU) throws {
        guard physicalCPUs.isScanned || vcpu.placement.withLock({ $0.hard != .all }) else { return }
        try physicalCPUs.serialized { (online: [PhysicalCPU]) throws in
            try place(vcpu, online: online, force: true)
        }
    }

    // MARK: vcpu-pin

    /// Sets a vCPU's hard affinity (`xl vcpu-pin`, Xen's XEN_DOMCTL_setvcpuaffinity with
    /// XEN_VCPUAFFINITY_HARD, `vcpu_affinity_domctl`) and moves its thread now. Returns the
    /// effective affinity (hard ∩ online), as Xen hands back in `cpumap_hard`.
    /// - no such domain: -ESRCH; `vcpu` past the domain's vCPUs: -EINVAL.
    /// - pCPU ids Petrel does not have are dropped (`xenctl_bitmap_to_bitmap` ignores bits
    ///   past `nr_cpu_ids`); offline ones are kept for when they come back.
    /// - no online pCPU left in the set: -EINVAL (`vcpu_set_hard_affinity`).
    /// - the host refuses to move the thread there (outside this process's cpuset): -EINVAL,
    ///   and the old affinity stays.
    @discardableResult
    public func setHardAffinity(_ affinity: VCPUAffinity, domain id: DomainID, vcpu vid: VCPUID) throws(XenErrno) -> [PCPUID] {
        guard let d = domain(id) else { throw .ESRCH }
        guard let v = d.vcpu(vid) else { throw .EINVAL }
        let known = Set(physicalCPUs.all.map(\.id))
        let hard: VCPUAffinity = switch affinity {
        case .all: .all
        case .only(let s): .only(s.intersection(known))
        }
        return try physicalCPUs.serialized { (online: [PhysicalCPU]) throws(XenErrno) -> [PCPUID] in
            guard online.contains(where: { hard.contains($0.id) }) else { throw .EINVAL }
            let old = v.placement.withLock { p -> VCPUAffinity in
                let old = p.hard
                p.hard = hard
                return old
            }
            do {
                try place(v, online: online, force: true)
            } catch {
                logger.warning("vcpu-pin \(d.id)\(vid) to \(hard): \(error); keeping \(old)")
                v.placement.withLock { $0.hard = old }
                try? place(v, online: online, force: true)
                throw .EINVAL
            }
            return v.effectiveAffinity
        }
    }

    // MARK: Listings

    /// Every vCPU of every domain with its affinity and host thread (`xl vcpu-list`).
    public func vcpuPlacements() -> [VCPUPlacementReport] {
        let table = physicalCPUs.all
        var out: [VCPUPlacementReport] = []
        for d in allDomains {
            for v in d.vcpus {
                let p = v.placement.withLock { $0 }
                let thread = d.machine?.hostThread(vcpu: v.id)
                let cpu = thread?.hostCPU.flatMap { h in table.first { $0.hostIndex == h }?.id }
                out.append(VCPUPlacementReport(domain: d.id, vcpu: v.id, hard: p.hard, effective: p.effective,
                                               thread: thread, cpu: cpu))
            }
        }
        return out
    }

    /// Every pCPU with the vCPUs allowed on it and those whose thread last ran there.
    public func physicalCPUUsage() -> [PhysicalCPUUsage] {
        let vcpus = vcpuPlacements()
        return physicalCPUs.all.map { c in
            PhysicalCPUUsage(
                cpu: c,
                allowed: vcpus.filter { $0.effective.contains(c.id) }.map { .init(domain: $0.domain, vcpu: $0.vcpu) },
                running: vcpus.filter { $0.cpu == c.id }.map { .init(domain: $0.domain, vcpu: $0.vcpu) })
        }
    }
}
