import GuestMemory
import Hypervisor
import Synchronization
import XenABI

/// A domain with RAM and identity-mapped "virtual" addresses, for calling hypercalls directly.
final class Fixture: Sendable {
    let services = FakeHostServices()
    let hypervisor: Hypervisor
    let domain: Domain
    final class Output: Sendable { let bytes = Mutex<[UInt8]>([]) }
    let output = Output()
    static let ram: UInt64 = 4 << 20
    /// Scratch buffer for hypercall arguments.
    static let scratch = GVA(0x10_0000)
    /// An address with nothing behind it.
    static let bad = GVA(0x7FFF_FFFF_F000)

    init(privileged: Bool = false, vcpus: Int = 1) throws {
        hypervisor = Hypervisor(services: services)
        domain = try hypervisor.createDomain(DomainConfig(name: "test", memoryBytes: Self.ram, vcpus: vcpus,
                                                          privileged: privileged))
        try domain.memory.addRegion(at: GPA(0), size: Self.ram, kind: .ram)
        domain.memmap = [HVMMemmapEntry(addr: 0, size: Self.ram, type: .ram)]
        let output = self.output
        domain.console.setSink { bytes in output.bytes.withLock { $0 += bytes } }
    }

    var context: HypercallContext {
        HypercallContext(vcpu: domain.vcpus[0],
                         memory: GuestVirtualMemory(physical: domain.memory, translator: IdentityTranslator()),
                         privilegeLevel: 0)
    }

    var memory: GuestVirtualMemory { context.memory }

    /// Makes a hypercall and returns rax as a signed value.
    @discardableResult
    func call(_ nr: HypercallNumber, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0,
              cpl: Int = 0) -> Int64 {
        let ctx = HypercallContext(vcpu: domain.vcpus[0], memory: memory, privilegeLevel: cpl)
        return Int64(bitPattern: hypervisor.dispatch(HypercallArgs(number: nr.rawValue, a0, a1, a2), context: ctx))
    }

    func put(_ bytes: [UInt8], at gva: GVA = Fixture.scratch) throws { try memory.copyOut(bytes, to: gva) }
    func get(_ count: Int, at gva: GVA = Fixture.scratch) throws -> [UInt8] { try memory.copyIn(gva, count: count) }

    var consoleText: String { String(decoding: output.bytes.withLock { $0 }, as: UTF8.self) }
}

func errno(_ e: XenErrno) -> Int64 { -Int64(e.rawValue) }

/// Host services whose clock the test drives, whose timers fire when the test says so, and
/// whose host CPUs are whatever the test sets (two CPUs, ids equal to their index, by default).
final class FakeHostServices: HostServices, @unchecked Sendable {
    private let lock = Mutex<(now: UInt64, queues: [FakeTimerQueue])>((1_000_000_000, []))
    var now: UInt64 { lock.withLock { $0.now } }
    /// What `discoverHostCPUs` reports next (or throws, if `discoveryError` is set).
    let hostCPUs = Mutex<[HostCPUDescription]>((0..<2).map {
        HostCPUDescription(hostIndex: $0, apicID: UInt32($0), acpiID: UInt32($0), present: true, online: true)
    })
    let discoveryError = Mutex<(any Error & Sendable)?>(nil)
    /// How many times `discoverHostCPUs` ran.
    let discoveries = Mutex(0)

    init(hostCPUs: [HostCPUDescription]? = nil) {
        if let hostCPUs { self.hostCPUs.withLock { $0 = hostCPUs } }
    }

    func discoverHostCPUs() throws -> HostCPUDiscovery {
        discoveries.withLock { $0 += 1 }
        if let e = discoveryError.withLock({ $0 }) { throw e }
        return HostCPUDiscovery(cpus: hostCPUs.withLock { $0 })
    }

    /// The wake-up polling window, and how far each read of the monotonic clock moves time on
    /// (0: time moves only when the test says; polling tests need a clock that runs).
    let polling = Mutex<(window: UInt64, tickPerRead: UInt64)>((0, 0))
    var wakeSpinNanoseconds: UInt64 { polling.withLock { $0.window } }

    func monotonicNanoseconds() -> UInt64 {
        let tick = polling.withLock { $0.tickPerRead }
        if tick > 0 { advance(by: tick) }
        return now
    }
    func realtimeNanoseconds() -> UInt64 { 1_800_000_000_000_000_000 + now }
    func makeTimerQueue(name: String) -> any TimerQueue {
        let q = FakeTimerQueue()
        lock.withLock { $0.queues.append(q) }
        return q
    }

    /// Moves time forward and runs every timer that became due, in deadline order.
    func advance(by ns: UInt64) {
        let (now, queues) = lock.withLock { s -> (UInt64, [FakeTimerQueue]) in s.now += ns; return (s.now, s.queues) }
        for q in queues { q.runDue(now: now) }
    }
}

final class FakeTimerQueue: TimerQueue, @unchecked Sendable {
    private let timers = Mutex<[TimerKey: (deadline: UInt64, fire: @Sendable () -> Void)]>([:])
    func arm(_ key: TimerKey, at deadline: UInt64, _ fire: @escaping @Sendable () -> Void) {
        timers.withLock { $0[key] = (deadline, fire) }
    }
    func cancel(_ key: TimerKey) { _ = timers.withLock { $0.removeValue(forKey: key) } }
    func stop() { timers.withLock { $0.removeAll() } }
    var armed: [TimerKey: UInt64] { timers.withLock { $0.mapValues(\.deadline) } }
    func runDue(now: UInt64) {
        while true {
            let next = timers.withLock { t -> (@Sendable () -> Void)? in
                guard let (k, v) = t.filter({ $0.value.deadline <= now }).min(by: { $0.value.deadline < $1.value.deadline }) else { return nil }
                t.removeValue(forKey: k)
                return v.fire
            }
            guard let next else { return }
            next()
        }
    }
}
