@testable import Hypervisor
import Synchronization
import Testing
import XenABI

private func p(_ n: UInt32) -> EvtchnPort { EvtchnPort(n) }

/// event_2l.c's bits: pending, mask, selector, upcall_pending, and the kick.
@Suite struct EventChannel2LevelDeliveryTests {
    @Test func ipiSetsPendingSelectorUpcallAndKicksOnce() throws {
        let w = EvtchnWorld()
        let a = try w.guest(vcpus: 2)
        let i = try a.bindIPI(vcpu: 1).get()
        #expect(a.send(i) == nil)
        #expect(a.pending(i))
        #expect(a.selector(1) == 1 << 0)
        #expect(a.upcallPending(1) && !a.upcallPending(0))
        #expect(a.kicks.kicks(1) == 1 && a.kicks.kicks(0) == 0)
        // Already pending: nothing more.
        #expect(a.send(i) == nil)
        #expect(a.kicks.kicks(1) == 1)
        // Handled by the guest: the next send delivers again.
        a.acknowledge(1)
        #expect(a.send(i) == nil)
        #expect(a.kicks.kicks(1) == 2 && a.upcallPending(1))
    }

    @Test func maskedPortStaysPendingUntilUnmasked() throws {
        let w = EvtchnWorld()
        let a = try w.guest()
        let i = try a.bindIPI(vcpu: 0).get()
        a.mask(i)
        #expect(a.send(i) == nil)
        #expect(a.pending(i) && a.selector() == 0 && !a.upcallPending() && a.kicks.total == 0)
        #expect(a.domain.evtchn.isMasked(i) && a.domain.evtchn.isPending(i))
        #expect(a.unmask(i) == nil)
        #expect(!a.masked(i))
        #expect(a.selector() == 1 && a.upcallPending() && a.kicks.kicks(0) == 1)
    }

    @Test func unmaskWithoutPendingOnlyClearsTheMask() throws {
        let w = EvtchnWorld()
        let a = try w.guest()
        let i = try a.bindIPI(vcpu: 0).get()
        a.mask(i)
        #expect(a.unmask(i) == nil)
        #expect(!a.masked(i) && a.selector() == 0 && a.kicks.total == 0)
        // Unmasking an unmasked pending port does not re-deliver (Xen's test_and_clear).
        #expect(a.send(i) == nil)
        a.acknowledge()
        a.setPendingBit(i, true)
        #expect(a.unmask(i) == nil)
        #expect(a.selector() == 0 && a.kicks.total == 1)
    }

    @Test func unmaskRedeliversToTheNotifyVCPU() throws {
        let w = EvtchnWorld()
        let a = try w.guest(vcpus: 2)
        let u = try a.allocUnbound(remote: .domidSelf).get()
        let q = try a.bindInterdomain(.domidSelf, u).get()   // q is pending (bind) on vCPU 0
        a.acknowledge()
        #expect(a.bindVCPU(q, 1) == nil)
        a.mask(q)
        #expect(a.send(u) == nil)
        #expect(a.pending(q) && a.selector(1) == 0)
        #expect(a.unmask(q) == nil)
        #expect(a.selector(1) == 1 && a.upcallPending(1) && a.kicks.kicks(1) == 1)
    }

    @Test func unmaskOfFreeOrReservedPortsDoesNothing() throws {
        let w = EvtchnWorld()
        let a = try w.guest()
        a.mask(p(0)); a.mask(p(5))
        #expect(a.unmask(p(0)) == nil)
        #expect(a.unmask(p(5)) == nil)
        #expect(a.masked(p(0)) && a.masked(p(5)))
        #expect(a.unmask(p(64)) == .EINVAL)
    }

    @Test func selectorAlreadySetMeansNoNewUpcall() throws {
        let w = EvtchnWorld()
        let a = try w.guest()
        let p1 = try a.bindIPI(vcpu: 0).get(), p2 = try a.bindIPI(vcpu: 0).get()
        #expect(a.send(p1) == nil)
        try! a.domain.memory.store(UInt8(0), at: a.vcpuInfo(0))   // guest cleared upcall only
        #expect(a.send(p2) == nil)
        #expect(a.pending(p2) && !a.upcallPending() && a.kicks.total == 1)
    }

    @Test func portsInAnotherWordSetTheirSelectorBit() throws {
        let w = EvtchnWorld()
        let a = try w.guest()
        var ports: [EvtchnPort] = []
        for _ in 1...70 { ports.append(try a.bindIPI(vcpu: 0).get()) }
        #expect(a.send(p(3)) == nil)
        #expect(a.send(p(65)) == nil)
        #expect(a.selector() == 0b11)
        // upcall_pending was already set: one kick only.
        #expect(a.kicks.total == 1)
        #expect(a.pending(p(65)) && a.domain.evtchn.isPending(p(65)))
    }
}

@Suite struct EventChannelSendTests2L {
    @Test func crossDomainSendReachesThePeer() throws {
        let w = EvtchnWorld()
        let a = try w.guest(), b = try w.guest(vcpus: 2)
        let pa = try a.allocUnbound(remote: b.id).get()
        let pb = try b.bindInterdomain(a.id, pa).get()
        b.acknowledge()
        #expect(b.bindVCPU(pb, 1) == nil)
        #expect(a.send(pa) == nil)
        #expect(b.pending(pb) && b.selector(1) == 1 && b.upcallPending(1) && b.kicks.kicks(1) == 1)
        #expect(!a.pending(pa) && a.kicks.total == 0)
        // And back.
        #expect(b.send(pb, vcpu: 1) == nil)
        #expect(a.pending(pa) && a.kicks.kicks(0) == 1)
    }

    @Test func loopbackSendReachesTheOtherEnd() throws {
        let w = EvtchnWorld()
        let a = try w.guest()
        let u = try a.allocUnbound(remote: .domidSelf).get()
        let q = try a.bindInterdomain(.domidSelf, u).get()
        a.acknowledge()
        #expect(a.send(q) == nil)
        #expect(a.pending(u) && !a.pending(q))
    }

    @Test func unboundDropsAndBadPortsAreEINVAL() throws {
        let w = EvtchnWorld()
        let a = try w.guest(), b = try w.guest()
        let u = try a.allocUnbound(remote: b.id).get()
        #expect(a.send(u) == nil)
        #expect(!a.pending(u) && a.kicks.total == 0 && b.kicks.total == 0)
        let t = try a.bindVIRQ(.timer).get()
        #expect(a.send(t) == .EINVAL)
        #expect(a.send(p(0)) == .EINVAL)
        #expect(a.send(p(9)) == .EINVAL)
        #expect(a.send(p(4096)) == .EINVAL)
    }

    @Test func sendAfterThePeerClosedIsDropped() throws {
        let w = EvtchnWorld()
        let a = try w.guest(), b = try w.guest()
        let pa = try a.allocUnbound(remote: b.id).get()
        let pb = try b.bindInterdomain(a.id, pa).get()
        #expect(b.close(pb) == nil)
        b.acknowledge()
        #expect(a.send(pa) == nil)
        #expect(!b.pending(pb) && b.kicks.total == 1)
    }

    @Test func consoleSendDrainsTheRingAndNotifyReachesTheGuest() throws {
        let w = EvtchnWorld()
        let a = try w.guest()
        let out = EvtchnOutputBox()
        a.domain.console.setSink { bytes in out.append(bytes) }
        let ring = GPA(0x20_0000)
        let port = try a.domain.eventChannels.allocate(.interdomain(remote: .control, remotePort: p(0)))
        a.domain.console.attachRing(at: ring, port: port)
        try a.domain.memory.write(Array("hi".utf8), at: ring.advanced(by: UInt64(XenconsInterface.Offset.out)))
        try a.domain.memory.store(UInt32(2), at: ring.advanced(by: UInt64(XenconsInterface.Offset.outProd)))
        #expect(a.send(port) == nil)
        #expect(out.text == "hi")
        // The backend's notification to the guest.
        #expect(a.domain.evtchn.notify(port))
        #expect(a.pending(port) && a.kicks.total == 1)
        // notify only works on backend ports.
        let i = try a.bindIPI(vcpu: 0).get()
        #expect(!a.domain.evtchn.notify(i))
        #expect(!a.pending(i))
    }
}

@Suite struct EventChannelVIRQDeliveryTests {
    @Test func perVCPUVIRQGoesToTheVCPUItWasRaisedOn() throws {
        let w = EvtchnWorld()
        let a = try w.guest(vcpus: 2)
        let t1 = try a.bindVIRQ(.timer, vcpu: 1).get()
        a.domain.evtchn.raiseVIRQ(.timer, on: VCPUID(0))   // not bound on vCPU 0
        #expect(!a.pending(t1) && a.kicks.total == 0)
        a.domain.evtchn.raiseVIRQ(.timer, on: VCPUID(1))
        #expect(a.pending(t1) && a.selector(1) == 1 && a.kicks.kicks(1) == 1)
        a.domain.evtchn.raiseVIRQ(.debug, on: VCPUID(1))
        a.domain.evtchn.raiseVIRQ(.timer, on: VCPUID(7))   // no such vCPU: nothing
        #expect(a.kicks.total == 1)
    }

    @Test func globalVIRQFollowsBindVCPU() throws {
        let w = EvtchnWorld()
        let a = try w.guest(vcpus: 2)
        a.domain.evtchn.raiseGlobalVIRQ(.pcpuState)   // unbound: dropped
        let g = try a.bindVIRQ(.pcpuState).get()
        #expect(!a.pending(g))
        #expect(a.bindVCPU(g, 1) == nil)
        a.domain.evtchn.raiseGlobalVIRQ(.pcpuState)
        #expect(a.pending(g) && a.selector(1) == 1 && a.selector(0) == 0 && a.kicks.kicks(1) == 1)
    }

    @Test func vcpuWithoutVCPUInfoKeepsThePortPending() throws {
        let w = EvtchnWorld()
        let a = try w.guest(vcpus: 33)
        let t = try a.bindVIRQ(.timer, vcpu: 32).get()
        a.domain.evtchn.raiseVIRQ(.timer, on: VCPUID(32))
        #expect(a.pending(t) && a.kicks.total == 0)
    }
}

@Suite struct EventChannelPollTests {
    private func polling(_ g: EvtchnGuest, _ v: Int, _ ports: [EvtchnPort]) {
        g.domain.vcpus[v].state.withLock { $0.pollPorts = ports }
    }
    private func pollPorts(_ g: EvtchnGuest, _ v: Int) -> [EvtchnPort] {
        g.domain.vcpus[v].state.withLock { $0.pollPorts }
    }

    @Test func eventOnAPolledPortWakesThePoller() throws {
        let w = EvtchnWorld()
        let a = try w.guest(vcpus: 2)
        let i0 = try a.bindIPI(vcpu: 0).get(), i1 = try a.bindIPI(vcpu: 0).get()
        a.mask(i0)
        polling(a, 1, [i1, i0])
        #expect(a.send(i0) == nil)
        // Masked, so no upcall for vCPU 0; the poller on vCPU 1 still wakes.
        #expect(pollPorts(a, 1).isEmpty && a.kicks.kicks(1) == 1 && a.kicks.kicks(0) == 0)
    }

    @Test func otherPortsDoNotWakeAndNoPortsMeansAny() throws {
        let w = EvtchnWorld()
        let a = try w.guest(vcpus: 2)
        let i0 = try a.bindIPI(vcpu: 0).get(), i1 = try a.bindIPI(vcpu: 0).get()
        polling(a, 1, [i1])
        #expect(a.send(i0) == nil)
        #expect(pollPorts(a, 1) == [i1] && a.kicks.kicks(1) == 0)
        // Already pending: no wake (Xen returns before checking pollers).
        polling(a, 1, [i0])
        #expect(a.send(i0) == nil)
        #expect(pollPorts(a, 1) == [i0])
        polling(a, 1, [p(0)])
        #expect(a.send(i1) == nil)
        #expect(pollPorts(a, 1).isEmpty && a.kicks.kicks(1) == 1)
    }

    @Test func pollReadsFollowEvtchnPortPoll() throws {
        let w = EvtchnWorld()
        let a = try w.guest()
        let i = try a.bindIPI(vcpu: 0).get()
        let ev = a.domain.evtchn
        #expect(throws: XenErrno.EINVAL) { try ev.poll(p(64)) }
        #expect(try ev.poll(i) == false)
        #expect(a.send(i) == nil)
        #expect(try ev.poll(i) == true)
        // A pending bit on an unbound port does not count.
        a.setPendingBit(p(9), true)
        #expect(try ev.poll(p(9)) == false)
        #expect(ev.isPending(p(9)))
        #expect(!ev.isMasked(p(9)) && ev.isMasked(p(5000)))
    }
}

@Suite struct EventChannelBeforeSharedInfoTests {
    @Test func eventsWaitForSharedInfo() throws {
        let w = EvtchnWorld()
        let a = try w.guest(sharedInfo: false)
        let i = try a.bindIPI(vcpu: 0).get()
        #expect(a.send(i) == nil)
        #expect(a.domain.evtchn.isPending(i))
        #expect(try a.domain.evtchn.poll(i))
        #expect(a.kicks.total == 0)
        try a.placeSharedInfo()
        #expect(!a.pending(i))
        // Any event-channel hypercall (or flushDeferred) applies it.
        #expect(a.status(i).evtchnOK)
        #expect(a.pending(i) && a.selector() == 1 && a.upcallPending() && a.kicks.total == 1)
    }

    @Test func aClosedPortForgetsItsWaitingEvent() throws {
        let w = EvtchnWorld()
        let a = try w.guest(sharedInfo: false)
        let i = try a.bindIPI(vcpu: 0).get()
        #expect(a.send(i) == nil)
        #expect(a.close(i) == nil)
        let j = try a.bindIPI(vcpu: 0).get()
        #expect(i == j)
        try a.placeSharedInfo()
        a.domain.evtchn.flushDeferred()
        #expect(!a.pending(j) && a.kicks.total == 0)
        #expect(evtchnAudit([a]).isEmpty)
    }

    @Test func bindInterdomainBeforeSharedInfo() throws {
        let w = EvtchnWorld()
        let a = try w.guest(sharedInfo: false), b = try w.guest(sharedInfo: false)
        let pa = try a.allocUnbound(remote: b.id).get()
        let pb = try b.bindInterdomain(a.id, pa).get()
        #expect(a.send(pa) == nil)
        try b.placeSharedInfo()
        b.domain.evtchn.raiseVIRQ(.timer, on: VCPUID(0))   // any delivery applies earlier events
        #expect(b.pending(pb) && b.kicks.total == 1)
    }
}

final class EvtchnOutputBox: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    func append(_ b: [UInt8]) { bytes.withLock { $0 += b } }
    var text: String { String(decoding: bytes.withLock { $0 }, as: UTF8.self) }
}
