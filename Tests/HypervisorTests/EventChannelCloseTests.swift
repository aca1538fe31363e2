@testable import Hypervisor
import Testing
import XenABI

private func p(_ n: UInt32) -> EvtchnPort { EvtchnPort(n) }

@Suite struct EventChannelCloseTests {
    @Test func closingAnInterdomainPortLeavesThePeerUnboundAndRebindable() throws {
        let w = EvtchnWorld()
        let a = try w.guest(), b = try w.guest()
        let pa = try a.allocUnbound(remote: b.id).get()
        let pb = try b.bindInterdomain(a.id, pa).get()
        #expect(b.close(pb) == nil)
        #expect(b.state(pb) == .free)
        #expect(a.state(pa) == .unbound(remote: b.id))
        #expect(a.status(pa) == .success(EvtchnStatus(dom: .domidSelf, port: pa, binding: .unbound(remote: b.id))))
        // The peer is offered back to the closer, who may bind it again.
        let again = try b.bindInterdomain(a.id, pa).get()
        #expect(a.state(pa) == .interdomain(b.id, again))
        // Closing from the other side works the same way.
        #expect(a.close(pa) == nil)
        #expect(b.state(again) == .unbound(remote: a.id))
        #expect(evtchnAudit([a, b]).isEmpty)
    }

    @Test func closingALoopbackEnd() throws {
        let w = EvtchnWorld()
        let a = try w.guest()
        let p1 = try a.allocUnbound(remote: .domidSelf).get()
        let p2 = try a.bindInterdomain(.domidSelf, p1).get()
        #expect(a.close(p1) == nil)
        #expect(a.state(p2) == .unbound(remote: a.id))
        #expect(a.state(p1) == .free)
        #expect(evtchnAudit([a]).isEmpty)
    }

    @Test func invalidPortsAreEINVAL() throws {
        let w = EvtchnWorld()
        let a = try w.guest()
        #expect(a.close(p(0)) == .EINVAL)
        #expect(a.close(p(1)) == .EINVAL)
        #expect(a.close(p(64)) == .EINVAL)
        #expect(a.close(p(0xFFFF_FFFF)) == .EINVAL)
        let i = try a.bindIPI(vcpu: 0).get()
        #expect(a.close(i) == nil)
        #expect(a.close(i) == .EINVAL)
        #expect(a.state(p(0)) == .reserved)
    }

    @Test func closeClearsPendingAndTheNotifyVCPU() throws {
        let w = EvtchnWorld()
        let a = try w.guest(vcpus: 2)
        let i = try a.bindIPI(vcpu: 1).get()
        #expect(a.send(i) == nil)
        #expect(a.pending(i))
        a.mask(i)
        #expect(a.close(i) == nil)
        #expect(!a.pending(i))
        // The mask bit belongs to the guest: close leaves it.
        #expect(a.masked(i))
        let u = try a.allocUnbound(remote: .domidSelf).get()
        #expect(u == i)
        #expect(a.domain.eventChannels.channel(u)?.notifyVCPU == VCPUID(0))
    }

    @Test func closingAVIRQFreesItsSlot() throws {
        let w = EvtchnWorld()
        let a = try w.guest()
        let c = try a.bindVIRQ(.console).get()
        #expect(a.close(c) == nil)
        #expect(a.domain.eventChannels.port(for: .console, on: VCPUID(0)) == nil)
        #expect(a.bindVIRQ(.console).evtchnOK)
    }

    @Test func closeAllForDestruction() throws {
        let w = EvtchnWorld()
        let a = try w.guest(), b = try w.guest()
        let pa = try a.allocUnbound(remote: b.id).get()
        let pb = try b.bindInterdomain(a.id, pa).get()
        _ = try a.bindVIRQ(.timer).get()
        a.domain.evtchn.closeAll()
        #expect(a.domain.eventChannels.snapshot.allSatisfy { !$0.state.isBound })
        #expect(b.state(pb) == .unbound(remote: a.id))
        // A dying domain gets no new ports (Xen's get_free_port on is_dying).
        #expect(a.bindIPI(vcpu: 0) == .failure(.EINVAL))
        #expect(throws: XenErrno.EINVAL) { try a.domain.eventChannels.allocate(.unbound(remote: .control)) }
        #expect(evtchnAudit([a, b]).isEmpty)
    }
}

@Suite struct EventChannelResetTests {
    @Test func resetClosesEveryPort() throws {
        let w = EvtchnWorld()
        let a = try w.guest(vcpus: 2), b = try w.guest()
        let pa = try a.allocUnbound(remote: b.id).get()
        let pb = try b.bindInterdomain(a.id, pa).get()
        _ = try a.bindVIRQ(.timer, vcpu: 1).get()
        _ = try a.bindIPI(vcpu: 0).get()
        _ = try a.allocUnbound(remote: .domidSelf).get()
        #expect(a.reset() == nil)
        #expect(a.domain.eventChannels.snapshot.allSatisfy { !$0.state.isBound })
        #expect(a.state(p(0)) == .reserved)
        #expect(b.state(pb) == .unbound(remote: a.id))
        // Not dying: ports can be bound again, the VIRQ too.
        #expect(a.bindVIRQ(.timer, vcpu: 1) == .success(p(1)))
        #expect(evtchnAudit([a, b]).isEmpty)
    }

    @Test func otherDomainsNeedPrivilege() throws {
        let w = EvtchnWorld()
        let a = try w.guest(), b = try w.guest(), priv = try w.guest(privileged: true)
        let pb = try b.bindIPI(vcpu: 0).get()
        #expect(a.reset(b.id) == .EPERM)
        #expect(a.reset(DomainID(999)) == .ESRCH)
        #expect(b.state(pb) == .ipi(vcpu: VCPUID(0)))
        #expect(priv.reset(b.id) == nil)
        #expect(b.state(pb) == .free)
    }

    @Test func resetContinuationIsBusyWithNoResetInProgress() throws {
        let w = EvtchnWorld()
        let a = try w.guest(), b = try w.guest()
        #expect(a.op(.resetCont, EvtchnReset(dom: .domidSelf)).rc == errno(.EBUSY))
        #expect(a.op(.resetCont, EvtchnReset(dom: b.id)).rc == errno(.EPERM))
        #expect(a.op(.resetCont, EvtchnReset(dom: DomainID(999))).rc == errno(.ESRCH))
    }
}

@Suite struct EventChannelStatusTests {
    @Test func everyState() throws {
        let w = EvtchnWorld()
        let a = try w.guest(vcpus: 2), b = try w.guest()
        #expect(a.status(p(0)) == .success(EvtchnStatus(dom: .domidSelf, port: p(0), binding: .closed)))
        #expect(a.status(p(63)) == .success(EvtchnStatus(dom: .domidSelf, port: p(63), binding: .closed)))
        let u = try a.allocUnbound(remote: b.id).get()
        #expect(try a.status(u).get().binding == .unbound(remote: b.id))
        let pb = try b.bindInterdomain(a.id, u).get()
        #expect(try a.status(u).get().binding == .interdomain(remote: b.id, remotePort: pb))
        let v = try a.bindVIRQ(.debug, vcpu: 1).get()
        #expect(try a.status(v).get() == EvtchnStatus(dom: .domidSelf, port: v, binding: .virq(.debug), vcpu: VCPUID(1)))
        let i = try a.bindIPI(vcpu: 1).get()
        #expect(try a.status(i).get().binding == .ipi)
        // The console's backend end (Petrel, the control domain).
        let c = try a.domain.eventChannels.allocate(.interdomain(remote: .control, remotePort: p(0)))
        #expect(try a.status(c).get().binding == .interdomain(remote: .control, remotePort: p(0)))
    }

    @Test func portsPastTheBucketsAreEINVALUntilTheTableGrows() throws {
        let w = EvtchnWorld()
        let a = try w.guest()
        #expect(a.status(p(64)) == .failure(.EINVAL))
        for _ in 1...63 { _ = try a.bindIPI(vcpu: 0).get() }
        #expect(a.status(p(64)) == .failure(.EINVAL))
        #expect(a.bindIPI(vcpu: 0) == .success(p(64)))
        #expect(try a.status(p(127)).get().binding == .closed)
        #expect(a.status(p(128)) == .failure(.EINVAL))
    }

    @Test func otherDomainsErrnoOrder() throws {
        let w = EvtchnWorld()
        let a = try w.guest(), b = try w.guest(), priv = try w.guest(privileged: true)
        let i = try b.bindIPI(vcpu: 0).get()
        #expect(a.status(i, dom: DomainID(999)) == .failure(.ESRCH))
        // Xen checks the port before the permission.
        #expect(a.status(p(500), dom: b.id) == .failure(.EINVAL))
        #expect(a.status(i, dom: b.id) == .failure(.EPERM))
        #expect(try priv.status(i, dom: b.id).get() == EvtchnStatus(dom: b.id, port: i, binding: .ipi))
        #expect(try a.status(p(0), dom: a.id).get().binding == .closed)
    }
}

@Suite struct EventChannelPortLimitTests {
    @Test func defaultLimitGivesPorts1Through1023() throws {
        let w = EvtchnWorld()
        let a = try w.guest()
        #expect(a.domain.eventChannels.maxPort == 1023)
        for n in 1...1023 {
            guard a.allocUnbound(remote: .domidSelf) == .success(p(UInt32(n))) else {
                Issue.record("port \(n) not allocated"); return
            }
        }
        #expect(a.allocUnbound(remote: .domidSelf) == .failure(.ENOSPC))
        #expect(a.bindIPI(vcpu: 0) == .failure(.ENOSPC))
        #expect(a.bindVIRQ(.timer) == .failure(.ENOSPC))
        #expect(a.domain.eventChannels.snapshot.count == 1024)
        #expect(a.close(p(700)) == nil)
        #expect(a.bindIPI(vcpu: 0) == .success(p(700)))
    }

    @Test func limitIsCappedByThe2LevelABI() throws {
        let w = EvtchnWorld()
        #expect(try w.guest(maxEventChannels: 100_000).domain.eventChannels.maxPort == 4095)
        #expect(try w.guest(maxEventChannels: 0).bindIPI(vcpu: 0) == .failure(.ENOSPC))
        let small = try w.guest(maxEventChannels: 100)
        for _ in 1...100 { _ = try small.bindIPI(vcpu: 0).get() }
        #expect(small.bindIPI(vcpu: 0) == .failure(.ENOSPC))
        // Ports 101…127 are in an allocated bucket: valid, never bindable.
        #expect(try small.status(p(127)).get().binding == .closed)
    }
}
