@testable import Hypervisor
import Testing
import XenABI

/// The host's CPUs are read on first use: a domain that never asks pays nothing.
@Suite("pCPU table: scanned on first use")
struct PhysicalCPULazyScanTests {
    /// A hypervisor whose table has not been read yet (PCPUWorld reads it at once).
    static func fresh() -> (FakeHostServices, Hypervisor, EventLog) {
        let services = FakeHostServices(hostCPUs: (0..<3).map { hostCPU($0, apic: UInt32($0)) })
        let h = Hypervisor(services: services)
        let log = EventLog()
        h.physicalCPUs.observe { e, _ in log.add(e) }
        return (services, h, log)
    }

    static func startedDomain(_ h: Hypervisor, vcpus: Int = 2) throws -> (Domain, AffinityRecorder) {
        let d = try h.createDomain(DomainConfig(name: "lazy", memoryBytes: 4 << 20, vcpus: vcpus))
        let m = AffinityRecorder()
        d.machine = m
        for v in d.vcpus { try h.placeVCPU(v) }
        return (d, m)
    }

    @Test func unpinnedVCPUsStartWithoutAScanAndArePlacedByTheFirst() throws {
        let (services, h, log) = Self.fresh()
        let (d, m) = try Self.startedDomain(h)
        #expect(services.discoveries.withLock { $0 } == 0)
        #expect(!h.physicalCPUs.isScanned)
        #expect(m.affinity(0) == nil)
        // The first read scans once, places both vCPUs, and is no change to observers.
        #expect(h.physicalCPUs.online.map(\.id) == pcpus(0, 1, 2))
        #expect(services.discoveries.withLock { $0 } == 1)
        #expect(m.affinity(0) == [0, 1, 2])
        #expect(m.affinity(1) == [0, 1, 2])
        #expect(d.vcpus[1].effectiveAffinity == pcpus(0, 1, 2))
        #expect(log.take().isEmpty)
        _ = h.physicalCPUs.all
        #expect(services.discoveries.withLock { $0 } == 1)
    }

    @Test func aPinnedVCPUScansAtStart() throws {
        let (services, h, _) = Self.fresh()
        let d = try h.createDomain(DomainConfig(name: "pinned", memoryBytes: 4 << 20, vcpus: 1))
        let m = AffinityRecorder()
        d.machine = m
        d.vcpus[0].placement.withLock { $0.hard = .only([PCPUID(1)]) }
        try h.placeVCPU(d.vcpus[0])
        #expect(services.discoveries.withLock { $0 } == 1)
        #expect(m.affinity(0) == [1])
    }

    @Test func theFirstRescanIsTheBaselineAndLaterOnesReportChanges() throws {
        let (services, h, log) = Self.fresh()
        #expect(try h.physicalCPUs.rescan() == [])
        #expect(log.take().isEmpty)
        services.hostCPUs.withLock { $0.append(hostCPU(3, apic: 3)) }
        #expect(try h.physicalCPUs.rescan() == [.added(PCPUID(3)), .online(PCPUID(3))])
        #expect(log.take() == [.added(PCPUID(3)), .online(PCPUID(3))])
    }

    @Test func offlineBeforeAnyReadScansFirst() throws {
        let (services, h, log) = Self.fresh()
        try h.physicalCPUs.offline(PCPUID(2))
        #expect(services.discoveries.withLock { $0 } == 1)
        #expect(h.physicalCPUs.cpu(PCPUID(2))?.isOnline == false)
        #expect(log.take() == [.offline(PCPUID(2))])
    }

    @Test func aFailedFirstScanLeavesAnEmptyTableUntilARescanWorks() throws {
        let (services, h, _) = Self.fresh()
        services.discoveryError.withLock { $0 = HostScanFailure() }
        #expect(h.physicalCPUs.all.isEmpty)
        #expect(h.physicalCPUs.isScanned)
        #expect(services.discoveries.withLock { $0 } == 1)
        // Not retried on every read.
        _ = h.physicalCPUs.online
        #expect(services.discoveries.withLock { $0 } == 1)
        services.discoveryError.withLock { $0 = nil }
        #expect(try h.physicalCPUs.rescan().contains(.online(PCPUID(0))))
        #expect(h.physicalCPUs.online.count == 3)
    }

    struct HostScanFailure: Error {}
}
