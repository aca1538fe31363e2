@testable import Hypervisor
import Testing
import XenABI

@Suite("vCPU placement: effective affinity, pins, offline migration")
struct PhysicalCPUPlacementTests {
    @Test func startedVCPUsRunOnEveryOnlineCPU() throws {
        let w = PCPUWorld()
        let (d, m) = try w.domain(vcpus: 2)
        #expect(m.affinity(0) == [0, 1, 2, 3])
        #expect(m.affinity(1) == [0, 1, 2, 3])
        #expect(d.vcpus[0].hardAffinity == .all)
        #expect(d.vcpus[0].effectiveAffinity == pcpus(0, 1, 2, 3))
    }

    @Test func offlineMovesEveryVCPUBeforeReturning() throws {
        let w = PCPUWorld()
        let (d1, m1) = try w.domain(vcpus: 2)
        let (_, m2) = try w.domain(vcpus: 1)
        try w.table.offline(PCPUID(2))
        #expect(m1.affinity(0) == [0, 1, 3])
        #expect(m1.affinity(1) == [0, 1, 3])
        #expect(m2.affinity(0) == [0, 1, 3])
        #expect(d1.vcpus[1].effectiveAffinity == pcpus(0, 1, 3))
        // Hard affinity is untouched: back online, the CPU is used again.
        #expect(d1.vcpus[1].hardAffinity == .all)
        try w.table.online(PCPUID(2))
        #expect(m1.affinity(1) == [0, 1, 2, 3])
        #expect(m2.affinity(0) == [0, 1, 2, 3])
    }

    @Test func placementUsesHostIndexesNotAPICIds() throws {
        // pCPU ids are host indexes; APIC ids 0x40… must never reach the engine.
        let w = PCPUWorld((0..<3).map { hostCPU($0, apic: UInt32(0x40 + $0), acpi: UInt32(10 - $0)) })
        let (_, m) = try w.domain(vcpus: 1)
        #expect(m.affinity(0) == [0, 1, 2])
    }

    @Test func unchangedSetsAreNotPushedAgain() throws {
        let w = PCPUWorld()
        let (d, m) = try w.domain(vcpus: 1)
        try w.hypervisor.setHardAffinity(.only([PCPUID(0), PCPUID(1)]), domain: d.id, vcpu: VCPUID(0))
        let calls = m.calls
        // CPU 3 is not in the pin: the vCPU's set does not change, so no call.
        try w.table.offline(PCPUID(3))
        #expect(m.calls == calls)
        try w.table.offline(PCPUID(1))
        #expect(m.calls == calls + 1)
        #expect(m.affinity(0) == [0])
    }

    @Test func pinSetsHardAffinityAndMovesTheThread() throws {
        let w = PCPUWorld()
        let (d, m) = try w.domain(vcpus: 2)
        let eff = try w.hypervisor.setHardAffinity(.only([PCPUID(1), PCPUID(3)]), domain: d.id, vcpu: VCPUID(1))
        #expect(eff == pcpus(1, 3))
        #expect(m.affinity(1) == [1, 3])
        #expect(m.affinity(0) == [0, 1, 2, 3])
        #expect(d.vcpus[1].hardAffinity == .only([PCPUID(1), PCPUID(3)]))
        // Unpinning: every CPU again.
        #expect(try w.hypervisor.setHardAffinity(.all, domain: d.id, vcpu: VCPUID(1)) == pcpus(0, 1, 2, 3))
        #expect(m.affinity(1) == [0, 1, 2, 3])
    }

    @Test func pinErrnosAreXens() throws {
        let w = PCPUWorld()
        let (d, m) = try w.domain(vcpus: 2)
        try w.table.offline(PCPUID(3))
        func pin(_ a: VCPUAffinity, dom: DomainID? = nil, vcpu: UInt32 = 0) -> XenErrno? {
            errnoOf { try w.hypervisor.setHardAffinity(a, domain: dom ?? d.id, vcpu: VCPUID(vcpu)) }
        }
        #expect(pin(.all, dom: DomainID(77)) == .ESRCH)
        #expect(pin(.all, vcpu: 2) == .EINVAL)
        #expect(pin(.all, vcpu: .max) == .EINVAL)
        // Only offline, only unknown, or nothing at all: no online CPU left, -EINVAL.
        #expect(pin(.only([PCPUID(3)])) == .EINVAL)
        #expect(pin(.only([PCPUID(99)])) == .EINVAL)
        #expect(pin(.only([])) == .EINVAL)
        #expect(d.vcpus[0].hardAffinity == .all)
        // Unknown ids are dropped, offline ones kept for later.
        #expect(try w.hypervisor.setHardAffinity(.only([PCPUID(2), PCPUID(3), PCPUID(99)]), domain: d.id,
                                                 vcpu: VCPUID(0)) == pcpus(2))
        #expect(d.vcpus[0].hardAffinity == .only([PCPUID(2), PCPUID(3)]))
        #expect(m.affinity(0) == [2])
        try w.table.online(PCPUID(3))
        #expect(m.affinity(0) == [2, 3])
    }

    @Test func aRefusedPinKeepsTheOldAffinity() throws {
        let w = PCPUWorld()
        let (d, m) = try w.domain(vcpus: 1)
        try w.hypervisor.setHardAffinity(.only([PCPUID(1)]), domain: d.id, vcpu: VCPUID(0))
        m.refuse([2])
        #expect(errnoOf { try w.hypervisor.setHardAffinity(.only([PCPUID(2)]), domain: d.id, vcpu: VCPUID(0)) } == .EINVAL)
        #expect(d.vcpus[0].hardAffinity == .only([PCPUID(1)]))
        #expect(m.affinity(0) == [1])
    }

    @Test func offlineBreaksAPinWithNothingLeft() throws {
        let w = PCPUWorld()
        let (d, m) = try w.domain(vcpus: 2)
        try w.hypervisor.setHardAffinity(.only([PCPUID(2)]), domain: d.id, vcpu: VCPUID(0))
        try w.table.offline(PCPUID(2))
        // "Breaking affinity for d1v0": hard becomes every CPU.
        #expect(d.vcpus[0].hardAffinity == .all)
        #expect(m.affinity(0) == [0, 1, 3])
        #expect(m.affinity(1) == [0, 1, 3])
        // The pin stays broken when the CPU comes back, as in Xen.
        try w.table.online(PCPUID(2))
        #expect(d.vcpus[0].hardAffinity == .all)
        #expect(m.affinity(0) == [0, 1, 2, 3])
    }

    @Test func aThreadThatCannotMoveRefusesTheOffline() throws {
        let w = PCPUWorld()
        let (d, m) = try w.domain(vcpus: 1)
        try w.hypervisor.setHardAffinity(.only([PCPUID(2), PCPUID(3)]), domain: d.id, vcpu: VCPUID(0))
        _ = w.takeEvents()
        m.refuse([3])
        #expect(errnoOf { try w.table.offline(PCPUID(2)) } == .EBUSY)
        #expect(w.table.cpu(PCPUID(2))?.isOnline == true)
        #expect(m.affinity(0) == [2, 3])
        #expect(d.vcpus[0].effectiveAffinity == pcpus(2, 3))
        // The world's observer registered after placement never heard it.
        #expect(w.takeEvents().isEmpty)
    }

    @Test func vcpusPlacedBeforeAMachineGetTheirSetAtStart() throws {
        let w = PCPUWorld()
        let (d, m) = try w.domain(vcpus: 1, start: false)
        d.machine = nil
        try w.table.offline(PCPUID(1))
        #expect(d.vcpus[0].effectiveAffinity == pcpus(0, 2, 3))
        d.machine = m
        try w.hypervisor.placeVCPU(d.vcpus[0])
        #expect(m.affinity(0) == [0, 2, 3])
    }

    @Test func hostRemovalMovesVCPUsToo() throws {
        let w = PCPUWorld()
        let (_, m) = try w.domain(vcpus: 1)
        w.setHost((0..<4).map { hostCPU($0, apic: UInt32($0 * 2), present: $0 != 3, online: $0 != 3) })
        try w.table.rescan()
        #expect(m.affinity(0) == [0, 1, 2])
    }

    @Test func listingsShowAffinityAndWhereThreadsRun() throws {
        let w = PCPUWorld()
        let (d, _) = try w.domain(vcpus: 2)
        try w.hypervisor.setHardAffinity(.only([PCPUID(3)]), domain: d.id, vcpu: VCPUID(1))
        try w.table.offline(PCPUID(1))
        let reports = w.hypervisor.vcpuPlacements()
        #expect(reports.count == 2)
        #expect(reports[1].effective == pcpus(3))
        #expect(reports[1].thread?.tid == 1001)
        #expect(reports[1].cpu == PCPUID(3))
        let usage = w.hypervisor.physicalCPUUsage()
        #expect(usage.map(\.cpu.id) == pcpus(0, 1, 2, 3))
        let v0 = PhysicalCPUUsage.VCPURef(domain: d.id, vcpu: VCPUID(0))
        let v1 = PhysicalCPUUsage.VCPURef(domain: d.id, vcpu: VCPUID(1))
        #expect(usage[0].allowed == [v0] && usage[0].running == [v0])
        #expect(usage[1].allowed.isEmpty && usage[1].running.isEmpty && !usage[1].cpu.isOnline)
        #expect(usage[3].allowed == [v0, v1] && usage[3].running == [v1])
    }
}
