import Hypervisor
import Synchronization
import Testing
import XenABI

/// A machine whose `block` lets fake time pass, so blocking hypercalls finish in tests.
final class ClockMachine: Machine, Sendable {
    let services: FakeHostServices
    let kicks = Mutex<Int>(0)
    let blocks = Mutex<Int>(0)
    init(_ services: FakeHostServices) { self.services = services }
    func start(vcpu: VCPUID, state: VCPUStartState) throws {}
    func kick(vcpu: VCPUID) { kicks.withLock { $0 += 1 } }
    func block(vcpu: VCPUID, until deadline: UInt64?) {
        blocks.withLock { $0 += 1 }
        // Time passes to the deadline (or 1 ms), and due timers fire.
        let now = services.now
        services.advance(by: deadline.map { $0 > now ? $0 - now : 1 } ?? 1_000_000)
    }
    func timestamp() -> GuestTimestamp { GuestTimestamp(counter: services.now, monotonicNanoseconds: services.now) }
    var counterFrequency: UInt64 { 1_000_000_000 }
    func setAffinity(vcpu: VCPUID, hostCPUs: [Int]) throws {}
    func hostThread(vcpu: VCPUID) -> VCPUHostThread? { nil }
    func join() {}
    func destroy() {}
}

/// What the guest's upcall handler does to a port: clears its pending bit in shared_info.
func clearPending(_ f: Fixture, _ port: EvtchnPort) throws {
    let si = try #require(f.domain.physmap.location(of: .sharedInfo)).address
    let word = si.advanced(by: UInt64(X86SharedInfo.Offset.evtchnPending) + UInt64(port.raw / 64) * 8)
    try f.domain.memory.atomicAnd(~(UInt64(1) << UInt64(port.raw % 64)), at: word)
}

@Suite struct TimerTests {
    func setup() throws -> (Fixture, EvtchnPort, ClockMachine) {
        let f = try Fixture()
        let m = ClockMachine(f.services)
        f.domain.machine = m
        try f.domain.physmap.place(.sharedInfo, at: GFN(0x3F0), in: f.domain.memory)
        f.domain.vcpus[0].markUp(now: f.domain.systemTimeNow)
        let port = try f.domain.evtchn.bindVIRQ(.timer, vcpu: VCPUID(0))
        return (f, port, m)
    }

    @Test func singleshotFiresVIRQTimerAtItsDeadlineNotBefore() throws {
        let (f, port, _) = try setup()
        var s = [UInt8](repeating: 0, count: VCPUSetSingleshotTimer.size)
        s.setLE(f.domain.systemTimeNow + 2_000_000, at: 0)
        try f.put(s)
        #expect(f.call(.vcpuOp, VCPUOpCmd.setSingleshotTimer.rawValue, 0, Fixture.scratch.raw) == 0)
        f.services.advance(by: 1_999_999)
        #expect(!f.domain.evtchn.isPending(port))
        f.services.advance(by: 1)
        #expect(f.domain.evtchn.isPending(port))
        #expect(f.domain.vcpus[0].upcallPending)
    }

    @Test func stopCancels() throws {
        let (f, port, _) = try setup()
        #expect(f.call(.setTimerOp, f.domain.systemTimeNow + 1_000_000) == 0)
        #expect(f.call(.setTimerOp, 0) == 0)
        f.services.advance(by: 5_000_000)
        #expect(!f.domain.evtchn.isPending(port))
    }

    @Test func setTimerOpInThePastFiresNow() throws {
        let (f, port, _) = try setup()
        f.services.advance(by: 10_000_000)
        #expect(f.call(.setTimerOp, 1) == 0)
        f.services.advance(by: 0)
        #expect(f.domain.evtchn.isPending(port))
    }

    @Test func periodicTimerRepeatsUntilStopped() throws {
        let (f, port, _) = try setup()
        var p = [UInt8](repeating: 0, count: 8); p.setLE(UInt64(1_000_000), at: 0)
        try f.put(p)
        #expect(f.call(.vcpuOp, VCPUOpCmd.setPeriodicTimer.rawValue, 0, Fixture.scratch.raw) == 0)
        for _ in 0..<3 {
            // The guest handles the event (clears pending) and the next tick sets it again.
            try clearPending(f, port)
            f.services.advance(by: 1_000_000)
            #expect(f.domain.evtchn.isPending(port))
        }
        #expect(f.call(.vcpuOp, VCPUOpCmd.stopPeriodicTimer.rawValue, 0, 0) == 0)
        try clearPending(f, port)
        f.services.advance(by: 5_000_000)
        #expect(!f.domain.evtchn.isPending(port))
    }

    @Test func blockReturnsWhenTheTimerEventArrives() throws {
        let (f, port, m) = try setup()
        #expect(f.call(.setTimerOp, f.domain.systemTimeNow + 3_000_000) == 0)
        #expect(f.call(.schedOp, SchedOpCmd.block.rawValue) == 0)
        #expect(f.domain.evtchn.isPending(port))
        #expect(m.blocks.withLock { $0 } >= 1)
    }

    @Test func pollTimesOutAndReturnsEarlyForAPendingPort() throws {
        let (f, port, m) = try setup()
        let ipi = try f.domain.evtchn.bindIPI(vcpu: VCPUID(0))
        var ports = [UInt8](repeating: 0, count: 4); ports.setLE(ipi.raw, at: 0)
        let list = GVA(0x10_0800)
        try f.put(ports, at: list)
        var poll = [UInt8](repeating: 0, count: schedPollSize)
        poll.setLE(list.raw, at: 0); poll.setLE(UInt32(1), at: 8)
        let start = f.domain.systemTimeNow
        poll.setLE(start + 5_000_000, at: 16)
        try f.put(poll)
        #expect(f.call(.schedOp, SchedOpCmd.poll.rawValue, Fixture.scratch.raw) == 0)
        #expect(f.domain.systemTimeNow >= start + 5_000_000)
        // Now the port is pending: poll returns at once, without blocking.
        try f.domain.evtchn.send(ipi)
        let blocksBefore = m.blocks.withLock { $0 }
        #expect(f.call(.schedOp, SchedOpCmd.poll.rawValue, Fixture.scratch.raw) == 0)
        #expect(m.blocks.withLock { $0 } == blocksBefore)
        _ = port
    }

    @Test func pollRejectsBadArguments() throws {
        let (f, _, _) = try setup()
        var poll = [UInt8](repeating: 0, count: schedPollSize)
        poll.setLE(UInt64(0x10_0800), at: 0); poll.setLE(UInt32(129), at: 8)
        try f.put(poll)
        #expect(f.call(.schedOp, SchedOpCmd.poll.rawValue, Fixture.scratch.raw) == errno(.EINVAL))
        var ports = [UInt8](repeating: 0, count: 4); ports.setLE(UInt32(5000), at: 0)
        try f.put(ports, at: GVA(0x10_0800))
        poll.setLE(UInt32(1), at: 8)
        try f.put(poll)
        #expect(f.call(.schedOp, SchedOpCmd.poll.rawValue, Fixture.scratch.raw) == errno(.EINVAL))
        poll.setLE(Fixture.bad.raw, at: 0)
        try f.put(poll)
        #expect(f.call(.schedOp, SchedOpCmd.poll.rawValue, Fixture.scratch.raw) == errno(.EFAULT))
    }

    @Test func remoteShutdownNeedsPrivilege() throws {
        let f = try Fixture()
        let other = try f.hypervisor.createDomain(DomainConfig(name: "victim", memoryBytes: 1 << 20))
        var b = [UInt8](repeating: 0, count: schedRemoteShutdownSize)
        b.setLE(other.id.raw, at: 0); b.setLE(UInt32(0), at: 4)
        try f.put(b)
        #expect(f.call(.schedOp, SchedOpCmd.remoteShutdown.rawValue, Fixture.scratch.raw) == errno(.EPERM))
        #expect(!other.isShutDown)
        let p = try Fixture(privileged: true)
        let victim = try p.hypervisor.createDomain(DomainConfig(name: "victim", memoryBytes: 1 << 20))
        b.setLE(victim.id.raw, at: 0); b.setLE(UInt32(1), at: 4)
        try p.put(b)
        #expect(p.call(.schedOp, SchedOpCmd.remoteShutdown.rawValue, Fixture.scratch.raw) == 0)
        #expect(victim.shutdownReason == .reboot)
        b.setLE(UInt16(999), at: 0)
        try p.put(b)
        #expect(p.call(.schedOp, SchedOpCmd.remoteShutdown.rawValue, Fixture.scratch.raw) == errno(.ESRCH))
    }
}
