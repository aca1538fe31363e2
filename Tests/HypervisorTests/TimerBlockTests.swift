import Hypervisor
import Synchronization
import Testing
import XenABI

/// A machine whose `block` runs a test-given step (let time pass, send an event …) and
/// records the deadline each block was given.
final class StepMachine: Machine, Sendable {
    let services: FakeHostServices
    let deadlines = Mutex<[UInt64?]>([])
    let step: @Sendable (_ call: Int, _ deadline: UInt64?) -> Void
    init(_ services: FakeHostServices, step: @escaping @Sendable (_ call: Int, _ deadline: UInt64?) -> Void) {
        self.services = services
        self.step = step
    }
    func start(vcpu: VCPUID, state: VCPUStartState) throws {}
    func kick(vcpu: VCPUID) {}
    func block(vcpu: VCPUID, until deadline: UInt64?) {
        let call = deadlines.withLock { $0.append(deadline); return $0.count - 1 }
        step(call, deadline)
    }
    func timestamp() -> GuestTimestamp { GuestTimestamp(counter: services.now, monotonicNanoseconds: services.now) }
    var counterFrequency: UInt64 { 1_000_000_000 }
    func setAffinity(vcpu: VCPUID, hostCPUs: [Int]) throws {}
    func hostThread(vcpu: VCPUID) -> VCPUHostThread? { nil }
    func join() {}
    func destroy() {}
}

/// A blocked vCPU sleeps until its own one-shot deadline and fires the timer itself
/// (`VCPU.waitForEvent`): never early, never lost, never twice.
@Suite struct TimerBlockTests {
    func setup(_ step: @escaping @Sendable (Fixture, Int, UInt64?) -> Void) throws -> (Fixture, EvtchnPort, StepMachine) {
        let f = try Fixture()
        let m = StepMachine(f.services) { call, deadline in step(f, call, deadline) }
        f.domain.machine = m
        try f.domain.physmap.place(.sharedInfo, at: GFN(0x3F0), in: f.domain.memory)
        f.domain.vcpus[0].markUp(now: f.domain.systemTimeNow)
        let port = try f.domain.evtchn.bindVIRQ(.timer, vcpu: VCPUID(0))
        return (f, port, m)
    }

    /// How many VIRQ_TIMER events reached the port: pending bit, cleared after each look.
    func took(_ f: Fixture, _ port: EvtchnPort) throws -> Bool {
        let pending = f.domain.evtchn.isPending(port)
        if pending { try clearPending(f, port) }
        return pending
    }

    @Test func blockSleepsUntilItsTimerAndFiresItOnTime() throws {
        // Each block lets time reach exactly the deadline it was given.
        let (f, port, m) = try setup { f, _, deadline in
            let now = f.services.now
            if let deadline, deadline > now { f.services.advance(by: deadline - now) }
        }
        let deadline = f.domain.systemTimeNow + 2_000_000
        #expect(f.call(.setTimerOp, deadline) == 0)
        #expect(f.call(.schedOp, SchedOpCmd.block.rawValue) == 0)
        #expect(f.domain.systemTimeNow == deadline, "woke at the deadline, not before or after")
        #expect(try took(f, port))
        // The block slept with the timer's own deadline (no timer-thread hop).
        #expect(m.deadlines.withLock { $0 } == [f.domain.systemTimeBase + deadline])
        // The timer thread does not fire it again.
        f.services.advance(by: 10_000_000)
        #expect(try !took(f, port))
    }

    @Test func aBlockWokenBeforeTheDeadlineGivesTheTimerBack() throws {
        // The first block ends half-way with an IPI; the timer must still fire, once, at
        // its deadline, from the timer thread.
        let ipi = Mutex<EvtchnPort?>(nil)
        let (f, port, _) = try setup { f, call, _ in
            f.services.advance(by: 1_000_000)
            if call == 0, let p = ipi.withLock({ $0 }) { try? f.domain.evtchn.send(p) }
        }
        ipi.withLock { $0 = try? f.domain.evtchn.bindIPI(vcpu: VCPUID(0)) }
        let deadline = f.domain.systemTimeNow + 3_000_000
        #expect(f.call(.setTimerOp, deadline) == 0)
        #expect(f.call(.schedOp, SchedOpCmd.block.rawValue) == 0)
        #expect(f.domain.systemTimeNow < deadline)
        #expect(try !took(f, port), "not before its deadline")
        f.services.advance(by: deadline - f.domain.systemTimeNow - 1)
        #expect(try !took(f, port), "not 1 ns early")
        f.services.advance(by: 1)
        #expect(try took(f, port), "not lost")
        f.services.advance(by: 10_000_000)
        #expect(try !took(f, port), "not twice")
    }

    @Test func pollEndsAtItsTimeoutWithTheTimerStillArmed() throws {
        let (f, port, m) = try setup { f, _, deadline in
            let now = f.services.now
            if let deadline, deadline > now { f.services.advance(by: deadline - now) }
        }
        let ipi = try f.domain.evtchn.bindIPI(vcpu: VCPUID(0))
        let start = f.domain.systemTimeNow
        #expect(f.call(.setTimerOp, start + 5_000_000) == 0)
        var ports = [UInt8](repeating: 0, count: 4); ports.setLE(ipi.raw, at: 0)
        try f.put(ports, at: GVA(0x10_0800))
        var poll = [UInt8](repeating: 0, count: schedPollSize)
        poll.setLE(UInt64(0x10_0800), at: 0); poll.setLE(UInt32(1), at: 8)
        poll.setLE(start + 2_000_000, at: 16)
        try f.put(poll)
        #expect(f.call(.schedOp, SchedOpCmd.poll.rawValue, Fixture.scratch.raw) == 0)
        #expect(f.domain.systemTimeNow == start + 2_000_000, "the poll's timeout is its sleep's deadline")
        #expect(m.deadlines.withLock { $0 } == [f.domain.systemTimeBase + start + 2_000_000])
        #expect(try !took(f, port))
        f.services.advance(by: 3_000_000)
        #expect(try took(f, port), "the one-shot timer went back to the timer thread")
    }

    @Test func theTimerLeavesTheQueueWhileBlockedAndFiresOnce() throws {
        // Time jumps past the deadline during the sleep (a late wake-up): it fires then.
        let (f, port, m) = try setup { f, _, _ in f.services.advance(by: 1_000_000) }
        let q = try #require(f.domain.timers as? FakeTimerQueue)
        #expect(f.call(.setTimerOp, f.domain.systemTimeNow + 1_000) == 0)
        #expect(q.armed.count == 1)
        #expect(f.call(.schedOp, SchedOpCmd.block.rawValue) == 0)
        #expect(try took(f, port))
        #expect(m.deadlines.withLock { $0.count } == 1)
        #expect(q.armed.isEmpty, "fired by the vCPU: nothing left for the timer thread")
        f.services.advance(by: 10_000_000)
        #expect(try !took(f, port))
    }

    @Test func stopSingleshotWhileRunningMeansBlockSleepsWithoutDeadline() throws {
        let (f, port, m) = try setup { f, call, _ in
            f.services.advance(by: 1_000_000)
            if call == 2 { f.domain.vcpus[0].markEventsPending() }
        }
        #expect(f.call(.setTimerOp, f.domain.systemTimeNow + 500_000) == 0)
        #expect(f.call(.setTimerOp, 0) == 0)
        #expect(f.call(.schedOp, SchedOpCmd.block.rawValue) == 0)
        #expect(m.deadlines.withLock { $0 } == [nil, nil, nil])
        #expect(try !took(f, port))
    }

    /// With a polling window, the vCPU sleeps until the window before its deadline, then polls
    /// the clock and fires the timer at the deadline: not before it, and only once.
    @Test func blockPollsTheLastStretchAndFiresOnTime() throws {
        let (f, port, m) = try setup { f, _, deadline in
            let now = f.services.now
            if let deadline, deadline > now { f.services.advance(by: deadline - now) }
        }
        f.services.polling.withLock { $0 = (window: 100_000, tickPerRead: 1_000) }
        let deadline = f.domain.systemTimeNow + 2_000_000
        let hostDeadline = f.domain.systemTimeBase + deadline
        #expect(f.call(.setTimerOp, deadline) == 0)
        #expect(f.call(.schedOp, SchedOpCmd.block.rawValue) == 0)
        f.services.polling.withLock { $0 = (0, 0) }
        #expect(m.deadlines.withLock { $0 } == [hostDeadline - 100_000], "one sleep, ending a window early")
        #expect(f.domain.systemTimeNow >= deadline, "fired at or after the deadline")
        #expect(f.domain.systemTimeNow < deadline + 20_000, "polled: fired within a few clock reads")
        #expect(try took(f, port))
        f.services.advance(by: 10_000_000)
        #expect(try !took(f, port), "fired once")
    }
}
