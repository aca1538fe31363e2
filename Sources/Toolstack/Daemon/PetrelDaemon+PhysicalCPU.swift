import Hypervisor
import XenABI

/// `xl vcpu-pin` and `xen-hptool`'s pCPU operations, through the hypervisor's pCPU table.
extension PetrelDaemon {
    /// Applies a spec's `cpus` (hard affinity per vCPU) before the vCPUs start.
    func applyAffinity(_ spec: DomainSpec, to domain: Domain) throws(DaemonError) {
        guard let cpus = spec.cpus else { return }
        for (v, set) in cpus.enumerated() where v < domain.vcpus.count && !set.isEmpty {
            try pin(domain, vcpu: v, cpus: set)
        }
    }

    /// Sets hard affinity; nil `cpus` is "all".
    func pin(_ domain: Domain, vcpu: Int, cpus: [Int]?) throws(DaemonError) {
        guard vcpu >= 0, vcpu < domain.vcpus.count else {
            throw .badRequest("vcpu-pin: domain \(domain.name) has no vCPU \(vcpu)")
        }
        let affinity: VCPUAffinity = cpus.map { .only(Set($0.compactMap { $0 >= 0 ? PCPUID(UInt32($0)) : nil })) } ?? .all
        do { try hypervisor.setHardAffinity(affinity, domain: domain.id, vcpu: VCPUID(UInt32(vcpu))) } catch {
            throw .badRequest("vcpu-pin \(domain.name) \(vcpu): \(error.name) (no online CPU in the set, or the host refused)")
        }
    }

    /// `petrel pcpu-list`: after a rescan of the host, so hot-plug shows.
    func pcpuList() -> [PCPUSummary] {
        _ = try? hypervisor.physicalCPUs.rescan()
        return hypervisor.physicalCPUUsage().map { u in
            PCPUSummary(id: Int(u.cpu.id.raw), apicID: u.cpu.apicID.map(Int.init), acpiID: u.cpu.acpiID.map(Int.init),
                        online: u.cpu.isOnline, vcpus: u.running.map { "d\($0.domain.raw)v\($0.vcpu.raw)" })
        }
    }

    /// `petrel pcpu-online N` / `pcpu-offline N`, with Xen's errnos (XENPF_cpu_online/offline).
    func setPCPU(_ id: Int?, online: Bool) throws(DaemonError) {
        let op = online ? "pcpu-online" : "pcpu-offline"
        guard let id, id >= 0, id <= Int(UInt32.max) else { throw .badRequest("\(op): which pCPU?") }
        _ = try? hypervisor.physicalCPUs.rescan()
        do {
            if online { try hypervisor.physicalCPUs.online(PCPUID(UInt32(id))) } else {
                try hypervisor.physicalCPUs.offline(PCPUID(UInt32(id)))
            }
        } catch {
            throw .badRequest("\(op) \(id): \(error.name)")
        }
        log.info("\(op) \(id)")
    }

    /// The host CPU each vCPU thread last ran on, and its hard affinity, for `vcpu-list`.
    func placements(of domain: Domain) -> [VCPUID: VCPUPlacementReport] {
        Dictionary(hypervisor.vcpuPlacements().filter { $0.domain == domain.id }.map { ($0.vcpu, $0) },
                   uniquingKeysWith: { a, _ in a })
    }
}
