@testable import Hypervisor
import Synchronization
import Testing
import XenABI

@Suite("PhysicalCPUTable: discovery, online/offline rules, notifier")
struct PhysicalCPUTableTests {
    /// Eight possible CPUs: 5 not present, 6 offline in the host; APIC and ACPI ids sparse and
    /// unlike the indexes.
    static let sparse: [HostCPUDescription] = [
        hostCPU(0, apic: 0x10, acpi: 7), hostCPU(1, apic: 0x12, acpi: 3), hostCPU(2, apic: 0x20, acpi: 1),
        hostCPU(3, apic: 0x22, acpi: 0), hostCPU(4, apic: 0x100, acpi: 200), hostCPU(5, present: false, online: false),
        hostCPU(6, apic: nil, acpi: nil, online: false), hostCPU(7, apic: 0x31, acpi: nil),
    ]

    @Test func discoveryBuildsTheTable() throws {
        let w = PCPUWorld(Self.sparse)
        let all = w.table.all
        #expect(all.map(\.id) == (0..<8).map { PCPUID($0) })
        #expect(all.map(\.hostIndex) == Array(0..<8))
        #expect(w.table.online.map(\.id) == pcpus(0, 1, 2, 3, 4, 7))
        #expect(w.table.maxPresent == PCPUID(7))
        let c5 = try #require(w.table.cpu(PCPUID(5)))
        #expect(!c5.present && !c5.isOnline)
        let c6 = try #require(w.table.cpu(PCPUID(6)))
        #expect(c6.present && !c6.hostOnline && !c6.isOnline && c6.apicID == nil)
        #expect(w.table.cpu(PCPUID(8)) == nil)
    }

    @Test func lookupsByAPICAndACPIIdAreSeparate() throws {
        let w = PCPUWorld(Self.sparse)
        // ACPI id 3 is pCPU 1, APIC id 3 is nobody, pCPU 3 has ACPI id 0.
        #expect(w.table.cpu(acpiID: 3)?.id == PCPUID(1))
        #expect(w.table.cpu(apicID: 3) == nil)
        #expect(w.table.cpu(PCPUID(3))?.acpiID == 0)
        #expect(w.table.cpu(apicID: 0x100)?.id == PCPUID(4))
        #expect(w.table.cpu(acpiID: 200)?.id == PCPUID(4))
        #expect(w.table.cpu(PCPUID(7))?.acpiID == nil)
        #expect(w.table.cpu(acpiID: 999) == nil)
    }

    @Test func maxPresentSkipsTrailingHoles() {
        let w = PCPUWorld([hostCPU(0, apic: 0), hostCPU(1, apic: 1), hostCPU(2, present: false, online: false)])
        #expect(w.table.maxPresent == PCPUID(1))
    }

    @Test func offlineFollowsXensErrnos() {
        let w = PCPUWorld(Self.sparse)
        // CPU 0: -EOPNOTSUPP before anything else (XENPF_cpu_offline).
        #expect(errnoOf { try w.table.offline(PCPUID(0)) } == .EOPNOTSUPP)
        // Not present, or past the table: -EINVAL.
        #expect(errnoOf { try w.table.offline(PCPUID(5)) } == .EINVAL)
        #expect(errnoOf { try w.table.offline(PCPUID(8)) } == .EINVAL)
        #expect(errnoOf { try w.table.offline(PCPUID(UInt32.max)) } == .EINVAL)
        // Present but already offline (the host has it offline): success, nothing happens.
        #expect(errnoOf { try w.table.offline(PCPUID(6)) } == nil)
        #expect(w.takeEvents().isEmpty)
        #expect(errnoOf { try w.table.offline(PCPUID(2)) } == nil)
        #expect(w.takeEvents() == [.offline(PCPUID(2))])
        #expect(w.table.cpu(PCPUID(2))?.heldOffline == true)
        #expect(errnoOf { try w.table.offline(PCPUID(2)) } == nil)
        #expect(w.takeEvents().isEmpty)
    }

    @Test func theLastOnlineCPUStays() {
        // The host has CPU 0 offline: Petrel's last online pCPU is then another one.
        let w = PCPUWorld([hostCPU(0, apic: 0, online: false), hostCPU(1, apic: 1), hostCPU(2, apic: 2)])
        #expect(errnoOf { try w.table.offline(PCPUID(1)) } == nil)
        #expect(errnoOf { try w.table.offline(PCPUID(2)) } == .EBUSY)
        #expect(w.table.online.map(\.id) == pcpus(2))
        // CPU 0 keeps its own errno even when it is not online.
        #expect(errnoOf { try w.table.offline(PCPUID(0)) } == .EOPNOTSUPP)
    }

    @Test func onlineFollowsXensErrnos() {
        let w = PCPUWorld(Self.sparse)
        #expect(errnoOf { try w.table.online(PCPUID(5)) } == .EINVAL)
        #expect(errnoOf { try w.table.online(PCPUID(42)) } == .EINVAL)
        // Already online: success, no event.
        #expect(errnoOf { try w.table.online(PCPUID(1)) } == nil)
        #expect(w.takeEvents().isEmpty)
        // Offline in the host: Petrel cannot bring it up.
        #expect(errnoOf { try w.table.online(PCPUID(6)) } == .EIO)
        #expect(w.table.cpu(PCPUID(6))?.isOnline == false)
        try? w.table.offline(PCPUID(3))
        #expect(errnoOf { try w.table.online(PCPUID(3)) } == nil)
        #expect(w.takeEvents() == [.offline(PCPUID(3)), .online(PCPUID(3))])
        #expect(w.table.cpu(PCPUID(3))?.isOnline == true)
    }

    @Test func rescanReportsHotplugInOrder() throws {
        let w = PCPUWorld()
        #expect(w.takeEvents().isEmpty)
        // CPU 3 leaves the machine: offline, then removed.
        w.setHost((0..<3).map { hostCPU($0, apic: UInt32($0 * 2), acpi: UInt32($0 + 1)) }
                  + [hostCPU(3, present: false, online: false)])
        #expect(try w.table.rescan() == [.offline(PCPUID(3)), .removed(PCPUID(3))])
        #expect(w.takeEvents() == [.offline(PCPUID(3)), .removed(PCPUID(3))])
        #expect(w.table.cpu(PCPUID(3))?.present == false)
        // It comes back with a new APIC id: added, then online.
        w.setHost((0..<3).map { hostCPU($0, apic: UInt32($0 * 2), acpi: UInt32($0 + 1)) } + [hostCPU(3, apic: 0x40, acpi: 9)])
        #expect(try w.table.rescan() == [.added(PCPUID(3)), .online(PCPUID(3))])
        #expect(w.table.cpu(apicID: 0x40)?.id == PCPUID(3))
        #expect(w.table.cpu(PCPUID(3))?.acpiID == 9)
        _ = w.takeEvents()
        // Nothing changed: nothing heard.
        #expect(try w.table.rescan() == [])
        // The host stops listing CPU 2 at all, and adds CPUs 4 and 5 (5 offline in the host).
        w.setHost([hostCPU(0, apic: 0), hostCPU(1, apic: 2), hostCPU(3, apic: 0x40),
                   hostCPU(4, apic: 8), hostCPU(5, apic: nil, online: false)])
        #expect(try w.table.rescan() == [.offline(PCPUID(2)), .removed(PCPUID(2)), .added(PCPUID(4)),
                                         .online(PCPUID(4)), .added(PCPUID(5))])
    }

    @Test func hostOfflineKeepsLastKnownIDs() throws {
        let w = PCPUWorld()
        // The host takes CPU 2 offline and stops listing its APIC id (as /proc/cpuinfo does).
        w.setHost([hostCPU(0, apic: 0, acpi: 1), hostCPU(1, apic: 2, acpi: 2), hostCPU(2, online: false),
                   hostCPU(3, apic: 6, acpi: 4)])
        #expect(try w.table.rescan() == [.offline(PCPUID(2))])
        let c2 = try #require(w.table.cpu(PCPUID(2)))
        #expect(c2.apicID == 4 && c2.acpiID == 3)
        #expect(!c2.hostOnline && !c2.heldOffline)
        // Back in the host: online for Petrel again.
        w.setHost((0..<4).map { hostCPU($0, apic: UInt32($0 * 2), acpi: UInt32($0 + 1)) })
        #expect(try w.table.rescan() == [.online(PCPUID(2))])
    }

    @Test func petrelsOfflineSurvivesHostChanges() throws {
        let w = PCPUWorld()
        try w.table.offline(PCPUID(1))
        _ = w.takeEvents()
        // The host toggles CPU 1 offline and online: Petrel keeps it offline, silently.
        w.setHost((0..<4).map { hostCPU($0, apic: UInt32($0 * 2), online: $0 != 1) })
        #expect(try w.table.rescan() == [])
        w.setHost((0..<4).map { hostCPU($0, apic: UInt32($0 * 2)) })
        #expect(try w.table.rescan() == [])
        #expect(w.table.cpu(PCPUID(1))?.isOnline == false)
        // Removed and re-added, it starts fresh, online.
        w.setHost((0..<4).map { hostCPU($0, apic: UInt32($0 * 2), present: $0 != 1, online: $0 != 1) })
        #expect(try w.table.rescan() == [.removed(PCPUID(1))])
        w.setHost((0..<4).map { hostCPU($0, apic: UInt32($0 * 2)) })
        #expect(try w.table.rescan() == [.added(PCPUID(1)), .online(PCPUID(1))])
    }

    @Test func rescanErrorsComeBackAndChangeNothing() {
        let w = PCPUWorld()
        struct Broken: Error {}
        w.services.discoveryError.withLock { $0 = Broken() }
        #expect(throws: Broken.self) { try w.table.rescan() }
        #expect(w.table.online.count == 4)
    }

    @Test func failedDiscoveryAtStartLeavesAnEmptyTable() throws {
        let services = FakeHostServices()
        struct Broken: Error {}
        services.discoveryError.withLock { $0 = Broken() }
        let h = Hypervisor(services: services)
        #expect(h.physicalCPUs.all.isEmpty)
        #expect(h.physicalCPUs.maxPresent == nil)
        #expect(errnoOf { try h.physicalCPUs.offline(PCPUID(1)) } == .EINVAL)
    }

    @Test func observersStopWhenAsked() throws {
        let w = PCPUWorld()
        let heard = EventLog()
        let token = w.table.observe { e, table in
            heard.add(e)
            // Observers see the table after the change.
            #expect(table.first { $0.id == e.cpu }?.isOnline == (e == .online(e.cpu)))
        }
        try w.table.offline(PCPUID(3))
        w.table.stopObserving(token)
        try w.table.online(PCPUID(3))
        #expect(heard.events == [.offline(PCPUID(3))])
        #expect(w.takeEvents() == [.offline(PCPUID(3)), .online(PCPUID(3))])
    }

    @Test func aRefusingObserverUndoesOffline() throws {
        let w = PCPUWorld()
        let heard = EventLog()
        w.table.observe { e, _ in
            heard.add(e)
            if e == .offline(PCPUID(2)) { throw XenErrno.EAGAIN }
        }
        #expect(errnoOf { try w.table.offline(PCPUID(2)) } == .EAGAIN)
        #expect(w.table.cpu(PCPUID(2))?.isOnline == true)
        // The world's recorder (registered earlier) and the refuser heard it and its undo.
        #expect(w.takeEvents() == [.offline(PCPUID(2)), .online(PCPUID(2))])
        #expect(heard.events == [.offline(PCPUID(2)), .online(PCPUID(2))])
        // An observer registered after the refuser never hears of it.
        let late = EventLog()
        w.table.observe { e, _ in late.add(e) }
        #expect(errnoOf { try w.table.offline(PCPUID(2)) } == .EAGAIN)
        #expect(late.events.isEmpty)
        // Something other than an errno: -EBUSY.
        w.table.observe { _, _ in throw CancellationError() }
        #expect(errnoOf { try w.table.offline(PCPUID(1)) } == .EBUSY)
        #expect(w.table.online.count == 4)
    }
}

