@testable import Hypervisor
import Testing
import XenABI

private func p(_ n: UInt32) -> EvtchnPort { EvtchnPort(n) }

@Suite struct EventChannelAllocUnboundTests {
    @Test func allocatesTheLowestFreePortAboveZero() throws {
        let w = EvtchnWorld()
        let a = try w.guest(), b = try w.guest()
        #expect(a.allocUnbound(remote: b.id) == .success(p(1)))
        #expect(a.allocUnbound(remote: b.id) == .success(p(2)))
        #expect(a.state(p(1)) == .unbound(remote: b.id))
        #expect(a.close(p(1)) == nil)
        #expect(a.allocUnbound(remote: b.id) == .success(p(1)))
        #expect(a.state(p(0)) == .reserved)
    }

    @Test func domidSelfMeansTheCaller() throws {
        let w = EvtchnWorld()
        let a = try w.guest()
        #expect(a.allocUnbound(remote: .domidSelf) == .success(p(1)))
        #expect(a.state(p(1)) == .unbound(remote: a.id))
        // Our own id for `dom` is DOMID_SELF too.
        #expect(a.allocUnbound(a.id, remote: DomainID(0x55)) == .success(p(2)))
        // The remote domain is not checked (Xen stores any domid).
        #expect(a.state(p(2)) == .unbound(remote: DomainID(0x55)))
    }

    @Test func otherDomainsNeedPrivilege() throws {
        let w = EvtchnWorld()
        let a = try w.guest(), b = try w.guest(), priv = try w.guest(privileged: true)
        #expect(a.allocUnbound(b.id, remote: a.id) == .failure(.EPERM))
        #expect(b.domain.eventChannels.snapshot.allSatisfy { !$0.state.isBound })
        #expect(a.allocUnbound(DomainID(999), remote: a.id) == .failure(.ESRCH))
        // A privileged caller allocates in another domain; DOMID_SELF as remote is the caller.
        #expect(priv.allocUnbound(b.id, remote: .domidSelf) == .success(p(1)))
        #expect(b.state(p(1)) == .unbound(remote: priv.id))
    }

    @Test func fullTableIsENOSPCBeforeEPERM() throws {
        let w = EvtchnWorld()
        let a = try w.guest(maxEventChannels: 2), b = try w.guest(maxEventChannels: 2)
        #expect(a.allocUnbound(remote: b.id) == .success(p(1)))
        #expect(a.allocUnbound(remote: b.id) == .success(p(2)))
        #expect(a.allocUnbound(remote: b.id) == .failure(.ENOSPC))
        _ = b.allocUnbound(remote: a.id); _ = b.allocUnbound(remote: a.id)
        #expect(a.allocUnbound(b.id, remote: a.id) == .failure(.ENOSPC))
    }

    @Test func faultingArgumentIsEFAULT() throws {
        let w = EvtchnWorld()
        let a = try w.guest()
        for cmd in [EvtchnOpCmd.allocUnbound, .bindInterdomain, .bindVirq, .bindPirq, .bindIPI, .bindVCPU,
                    .close, .send, .status, .unmask, .reset, .resetCont, .initControl, .expandArray, .setPriority] {
            #expect(a.op(cmd.rawValue, [], at: EvtchnWorld.bad).rc == errno(.EFAULT), "\(cmd)")
        }
        #expect(a.op(77, [], at: EvtchnWorld.bad).rc == errno(.ENOSYS))
        #expect(a.domain.eventChannels.snapshot.allSatisfy { !$0.state.isBound })
    }
}

@Suite struct EventChannelBindInterdomainTests {
    @Test func crossDomainBindConnectsBothEndsAndSetsTheLocalPortPending() throws {
        let w = EvtchnWorld()
        let a = try w.guest(), b = try w.guest()
        let pa = try a.allocUnbound(remote: b.id).get()
        _ = try b.bindIPI(vcpu: 0).get()   // so b's new port is not 1
        let pb = try b.bindInterdomain(a.id, pa).get()
        #expect(pb == p(2))
        #expect(a.state(pa) == .interdomain(b.id, pb))
        #expect(b.state(pb) == .interdomain(a.id, pa))
        // Xen: "We may have lost notifications on the remote unbound port".
        #expect(b.pending(pb) && b.selector(0) == 1 && b.upcallPending(0))
        #expect(b.kicks.kicks(0) == 1)
        #expect(!a.pending(pa) && a.kicks.total == 0)
        #expect(b.status(pb) == .success(EvtchnStatus(dom: .domidSelf, port: pb,
                                                      binding: .interdomain(remote: a.id, remotePort: pa))))
    }

    @Test func loopbackWithinOneDomain() throws {
        let w = EvtchnWorld()
        let a = try w.guest()
        let p1 = try a.allocUnbound(remote: .domidSelf).get()
        let p2 = try a.bindInterdomain(.domidSelf, p1).get()
        #expect(a.state(p1) == .interdomain(a.id, p2))
        #expect(a.state(p2) == .interdomain(a.id, p1))
        // Our own id works as well as DOMID_SELF.
        let p3 = try a.allocUnbound(remote: a.id).get()
        let p4 = try a.bindInterdomain(a.id, p3).get()
        #expect(a.state(p4) == .interdomain(a.id, p3))
        #expect(evtchnAudit([a]).isEmpty)
    }

    @Test func remotePortMustBeUnboundAndOfferedToUs() throws {
        let w = EvtchnWorld()
        let a = try w.guest(), b = try w.guest(), c = try w.guest()
        let forC = try a.allocUnbound(remote: c.id).get()
        #expect(b.bindInterdomain(a.id, forC) == .failure(.EINVAL))
        let ipi = try a.bindIPI(vcpu: 0).get()
        #expect(b.bindInterdomain(a.id, ipi) == .failure(.EINVAL))
        #expect(b.bindInterdomain(a.id, p(0)) == .failure(.EINVAL))
        #expect(b.bindInterdomain(a.id, p(40)) == .failure(.EINVAL))        // free
        #expect(b.bindInterdomain(a.id, p(5000)) == .failure(.EINVAL))      // past the table
        #expect(b.bindInterdomain(a.id, p(0xFFFF_FFFF)) == .failure(.EINVAL))
        #expect(c.bindInterdomain(a.id, forC).evtchnOK)
        // Bound already: no longer unbound.
        #expect(c.bindInterdomain(a.id, forC) == .failure(.EINVAL))
        #expect(b.domain.eventChannels.snapshot.allSatisfy { !$0.state.isBound })
    }

    @Test func unknownDomainsAreESRCH() throws {
        let w = EvtchnWorld()
        let a = try w.guest()
        #expect(a.bindInterdomain(DomainID(999), p(1)) == .failure(.ESRCH))
        // Domain 0 is Petrel itself: its backend ends cannot be bound by a guest.
        #expect(a.bindInterdomain(.control, p(1)) == .failure(.ESRCH))
        #expect(a.bindInterdomain(.xen, p(1)) == .failure(.ESRCH))
    }

    @Test func fullLocalTableIsENOSPCBeforeTheRemoteCheck() throws {
        let w = EvtchnWorld()
        let a = try w.guest(maxEventChannels: 1), b = try w.guest()
        _ = try a.bindIPI(vcpu: 0).get()
        let pb = try b.allocUnbound(remote: a.id).get()
        #expect(a.bindInterdomain(b.id, p(60)) == .failure(.ENOSPC))
        #expect(a.bindInterdomain(b.id, pb) == .failure(.ENOSPC))
        #expect(b.state(pb) == .unbound(remote: a.id))
    }
}

@Suite struct EventChannelBindVIRQTests {
    @Test func perVCPUVIRQBindsOncePerVCPU() throws {
        let w = EvtchnWorld()
        let a = try w.guest(vcpus: 2)
        let t0 = try a.bindVIRQ(.timer, vcpu: 0).get()
        let t1 = try a.bindVIRQ(.timer, vcpu: 1).get()
        #expect(t0 != t1)
        #expect(a.state(t1) == .virq(.timer, vcpu: VCPUID(1)))
        #expect(a.domain.eventChannels.channel(t1)?.notifyVCPU == VCPUID(1))
        #expect(a.bindVIRQ(.timer, vcpu: 1) == .failure(.EEXIST))
        #expect(a.status(t1) == .success(EvtchnStatus(dom: .domidSelf, port: t1, binding: .virq(.timer), vcpu: VCPUID(1))))
        #expect(a.domain.evtchn.isBound(.timer, on: VCPUID(1)))
        #expect(a.close(t1) == nil)
        #expect(!a.domain.evtchn.isBound(.timer, on: VCPUID(1)))
        #expect(a.bindVIRQ(.timer, vcpu: 1).evtchnOK)
    }

    @Test func globalVIRQBindsOnVCPU0Only() throws {
        let w = EvtchnWorld()
        let a = try w.guest(vcpus: 2)
        #expect(a.bindVIRQ(.console, vcpu: 1) == .failure(.EINVAL))
        // The global check comes before the vCPU check.
        #expect(a.bindVIRQ(.pcpuState, vcpu: 7) == .failure(.EINVAL))
        let c = try a.bindVIRQ(.console, vcpu: 0).get()
        #expect(a.state(c) == .virq(.console, vcpu: VCPUID(0)))
        #expect(a.bindVIRQ(.console, vcpu: 0) == .failure(.EEXIST))
        // Numbers xen.h leaves unnamed, and the arch range, are global too.
        #expect(a.bindVIRQ(VIRQ(5), vcpu: 0).evtchnOK)
        #expect(a.bindVIRQ(.arch(0), vcpu: 1) == .failure(.EINVAL))
        #expect(a.bindVIRQ(.arch(0), vcpu: 0).evtchnOK)
    }

    @Test func badVIRQOrVCPU() throws {
        let w = EvtchnWorld()
        let a = try w.guest(vcpus: 2)
        #expect(a.bindVIRQ(VIRQ(24), vcpu: 0) == .failure(.EINVAL))
        #expect(a.bindVIRQ(VIRQ(0xFFFF_FFFF), vcpu: 0) == .failure(.EINVAL))
        #expect(a.bindVIRQ(.timer, vcpu: 2) == .failure(.ENOENT))
        #expect(a.bindVIRQ(.debug, vcpu: 0xFFFF_FFFF) == .failure(.ENOENT))
        #expect(a.domain.eventChannels.snapshot.allSatisfy { !$0.state.isBound })
    }

    @Test func fullTableIsENOSPC() throws {
        let w = EvtchnWorld()
        let a = try w.guest(maxEventChannels: 1)
        _ = try a.bindVIRQ(.timer, vcpu: 0).get()
        #expect(a.bindVIRQ(.debug, vcpu: 0) == .failure(.ENOSPC))
        // The slot stays free after the failure.
        #expect(!a.domain.evtchn.isBound(.debug))
    }
}

@Suite struct EventChannelBindIPIAndPIRQTests {
    @Test func ipiNotifiesItsVCPU() throws {
        let w = EvtchnWorld()
        let a = try w.guest(vcpus: 3)
        let i = try a.bindIPI(vcpu: 2).get()
        #expect(a.state(i) == .ipi(vcpu: VCPUID(2)))
        #expect(a.status(i) == .success(EvtchnStatus(dom: .domidSelf, port: i, binding: .ipi, vcpu: VCPUID(2))))
        #expect(a.bindIPI(vcpu: 3) == .failure(.ENOENT))
        #expect(a.bindIPI(vcpu: 0x8000_0000) == .failure(.ENOENT))
    }

    @Test func pirqsDoNotExist() throws {
        let w = EvtchnWorld()
        let a = try w.guest()
        for pirq: UInt32 in [0, 1, 255, 0xFFFF_FFFF] {
            #expect(a.op(.bindPirq, EvtchnBindPIRQ(pirq: pirq)).rc == errno(.EINVAL))
        }
        #expect(a.domain.eventChannels.snapshot.allSatisfy { !$0.state.isBound })
    }

    @Test func fifoOpsAreRefused() throws {
        let w = EvtchnWorld()
        let a = try w.guest()
        #expect(a.op(EvtchnOpCmd.initControl.rawValue, [UInt8](repeating: 0, count: 24)).rc == errno(.ENOSYS))
        #expect(a.op(EvtchnOpCmd.expandArray.rawValue, [UInt8](repeating: 0, count: 8)).rc == errno(.ENOSYS))
        // set_priority checks the port first.
        var b = [UInt8](repeating: 0, count: 8)
        b.setLE(UInt32(1), at: 0)
        #expect(a.op(EvtchnOpCmd.setPriority.rawValue, b).rc == errno(.ENOSYS))
        b.setLE(UInt32(5000), at: 0)
        #expect(a.op(EvtchnOpCmd.setPriority.rawValue, b).rc == errno(.EINVAL))
        // Only the low 32 bits of the command count, as Xen's int cmd.
        #expect(a.op(1 << 32 | EvtchnOpCmd.bindIPI.rawValue, EvtchnBindIPI(vcpu: VCPUID(0)).bytes).rc == 0)
    }
}

@Suite struct EventChannelBindVCPUTests {
    @Test func movableKinds() throws {
        let w = EvtchnWorld()
        let a = try w.guest(vcpus: 2), b = try w.guest()
        let u = try a.allocUnbound(remote: b.id).get()
        #expect(a.bindVCPU(u, 1) == nil)
        #expect(a.domain.eventChannels.channel(u)?.notifyVCPU == VCPUID(1))
        // Binding keeps the notify vCPU of the end that was unbound.
        let pb = try b.bindInterdomain(a.id, u).get()
        #expect(a.domain.eventChannels.channel(u)?.notifyVCPU == VCPUID(1))
        #expect(b.bindVCPU(pb, 0) == nil)
        let g = try a.bindVIRQ(.domExc, vcpu: 0).get()
        #expect(a.bindVCPU(g, 1) == nil)
        #expect(a.state(g) == .virq(.domExc, vcpu: VCPUID(0)))
        #expect(a.status(g) == .success(EvtchnStatus(dom: .domidSelf, port: g, binding: .virq(.domExc), vcpu: VCPUID(1))))
    }

    @Test func fixedKindsAndBadArguments() throws {
        let w = EvtchnWorld()
        let a = try w.guest(vcpus: 2)
        let t = try a.bindVIRQ(.timer, vcpu: 0).get()
        let i = try a.bindIPI(vcpu: 0).get()
        #expect(a.bindVCPU(t, 1) == .EINVAL)
        #expect(a.bindVCPU(i, 1) == .EINVAL)
        #expect(a.bindVCPU(p(0), 1) == .EINVAL)
        #expect(a.bindVCPU(p(30), 1) == .EINVAL)
        #expect(a.bindVCPU(p(5000), 1) == .EINVAL)
        // The vCPU is checked first.
        #expect(a.bindVCPU(p(5000), 2) == .ENOENT)
        #expect(a.bindVCPU(t, 9) == .ENOENT)
        #expect(a.domain.eventChannels.channel(i)?.notifyVCPU == VCPUID(0))
    }
}

extension Result {
    var evtchnOK: Bool { if case .success = self { true } else { false } }
}
