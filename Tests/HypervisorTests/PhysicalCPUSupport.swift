import GuestMemory
@testable import Hypervisor
import Synchronization
import Testing
import XenABI

/// An engine stand-in that records the host CPUs each vCPU thread was restricted to, and can
/// refuse sets the way the host refuses CPUs outside the process's cpuset.
final class AffinityRecorder: Machine, Sendable {
    private let state = Mutex<(affinity: [VCPUID: [Int]], calls: Int, refused: Set<Int>)>(([:], 0, []))
    func start(vcpu: VCPUID, state: VCPUStartState) throws {}
    func kick(vcpu: VCPUID) {}
    func block(vcpu: VCPUID, until deadline: UInt64?) {}
    func timestamp() -> GuestTimestamp { GuestTimestamp(counter: 0, monotonicNanoseconds: 0) }
    var counterFrequency: UInt64 { 1_000_000_000 }
    func join() {}
    func destroy() {}

    struct Refused: Error {}

    func setAffinity(vcpu: VCPUID, hostCPUs: [Int]) throws {
        try state.withLock { s in
            s.calls += 1
            if !s.refused.isDisjoint(with: hostCPUs) { throw Refused() }
            s.affinity[vcpu] = hostCPUs
        }
    }

    /// A thread per vCPU that has been given a set, "running" on the set's first CPU.
    func hostThread(vcpu: VCPUID) -> VCPUHostThread? {
        guard let set = affinity(vcpu) else { return nil }
        return VCPUHostThread(tid: 1000 + Int32(vcpu.raw), hostCPU: set.first, allowedHostCPUs: set)
    }

    func affinity(_ v: VCPUID) -> [Int]? { state.withLock { $0.affinity[v] } }
    func affinity(_ v: Int) -> [Int]? { affinity(VCPUID(UInt32(v))) }
    var calls: Int { state.withLock { $0.calls } }
    /// Sets containing any of these host CPUs are refused from now on.
    func refuse(_ cpus: Set<Int>) { state.withLock { $0.refused = cpus } }
}

/// One host CPU for `FakeHostServices`.
func hostCPU(_ index: Int, apic: UInt32? = nil, acpi: UInt32? = nil, present: Bool = true,
             online: Bool = true) -> HostCPUDescription {
    HostCPUDescription(hostIndex: index, apicID: apic, acpiID: acpi, present: present, online: online)
}

/// A hypervisor on a made-up host, with domains whose machine records affinity.
final class PCPUWorld: Sendable {
    let services: FakeHostServices
    let hypervisor: Hypervisor
    /// Every event the notifier delivered, in order.
    let events = EventLog()

    /// Four CPUs by default, with APIC ids 0, 2, 4, 6 and ACPI ids 1…4.
    init(_ cpus: [HostCPUDescription] = (0..<4).map { hostCPU($0, apic: UInt32($0 * 2), acpi: UInt32($0 + 1)) }) {
        services = FakeHostServices(hostCPUs: cpus)
        hypervisor = Hypervisor(services: services)
        let events = self.events
        hypervisor.physicalCPUs.observe { e, _ in events.add(e) }
        // The table scans on first use; these tests change the host after this baseline.
        _ = hypervisor.physicalCPUs.all
    }

    var table: PhysicalCPUTable { hypervisor.physicalCPUs }

    /// A domain with `vcpus` vCPUs whose threads "started" (placed, as an engine does).
    func domain(vcpus: Int = 2, privileged: Bool = false, start: Bool = true) throws -> (Domain, AffinityRecorder) {
        let d = try hypervisor.createDomain(DomainConfig(name: "pcpu", memoryBytes: 4 << 20, vcpus: vcpus,
                                                         privileged: privileged))
        try d.memory.addRegion(at: GPA(0), size: 4 << 20, kind: .ram)
        let m = AffinityRecorder()
        d.machine = m
        if start { for v in d.vcpus { try hypervisor.placeVCPU(v) } }
        return (d, m)
    }

    func setHost(_ cpus: [HostCPUDescription]) { services.hostCPUs.withLock { $0 = cpus } }

    /// Takes the events heard so far.
    func takeEvents() -> [PhysicalCPUEvent] { events.take() }

    /// Makes `platform_op` from vCPU 0 of `d` with `op` at the scratch address; returns rc and
    /// the struct afterwards.
    func platformOp(_ d: Domain, _ op: XenPlatformOp, at gva: GVA = GVA(0x10_0000)) -> (rc: Int64, out: XenPlatformOp) {
        let mem = GuestVirtualMemory(physical: d.memory, translator: IdentityTranslator())
        try? mem.copyOut(op.bytes, to: gva)
        let ctx = HypercallContext(vcpu: d.vcpus[0], memory: mem, privilegeLevel: 0)
        let rc = Int64(bitPattern: hypervisor.dispatch(
            HypercallArgs(number: HypercallNumber.platformOp.rawValue, gva.raw), context: ctx))
        let out = (try? mem.copyIn(gva, count: XenPlatformOp.size)).map(XenPlatformOp.init(bytes:)) ?? op
        return (rc, out)
    }
}

func pcpus(_ ids: UInt32...) -> [PCPUID] { ids.map(PCPUID.init) }

/// The result of a table operation as an errno (nil: success; anything but a XenErrno is a
/// test failure).
func errnoOf(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> XenErrno? {
    do {
        try body()
        return nil
    } catch let e as XenErrno {
        return e
    } catch {
        Issue.record("not a XenErrno: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Events collected by an observer.
final class EventLog: Sendable {
    private let list = Mutex<[PhysicalCPUEvent]>([])
    func add(_ e: PhysicalCPUEvent) { list.withLock { $0.append(e) } }
    var events: [PhysicalCPUEvent] { list.withLock { $0 } }
    /// The events so far, forgetting them.
    func take() -> [PhysicalCPUEvent] { list.withLock { e in defer { e = [] }; return e } }
}
