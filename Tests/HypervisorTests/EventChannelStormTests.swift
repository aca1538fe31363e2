import Dispatch
@testable import Hypervisor
import Testing
import XenABI

/// Random operations through the real hypercall entry: whatever a guest passes, Petrel answers
/// with one of the op's errnos, never traps, and leaves every table consistent.
@Suite struct EventChannelStormTests {
    /// The errnos each op may answer (0 for success), from event_channel.c.
    static let allowed: [UInt64: Set<XenErrno?>] = [
        EvtchnOpCmd.allocUnbound.rawValue: [nil, .ESRCH, .EPERM, .ENOSPC, .EFAULT],
        EvtchnOpCmd.bindInterdomain.rawValue: [nil, .ESRCH, .EINVAL, .ENOSPC, .EFAULT],
        EvtchnOpCmd.bindVirq.rawValue: [nil, .EINVAL, .ENOENT, .EEXIST, .ENOSPC, .EFAULT],
        EvtchnOpCmd.bindPirq.rawValue: [.EINVAL, .EFAULT],
        EvtchnOpCmd.close.rawValue: [nil, .EINVAL, .EFAULT],
        EvtchnOpCmd.send.rawValue: [nil, .EINVAL, .EFAULT],
        EvtchnOpCmd.status.rawValue: [nil, .ESRCH, .EINVAL, .EPERM, .EFAULT],
        EvtchnOpCmd.bindIPI.rawValue: [nil, .ENOENT, .ENOSPC, .EFAULT],
        EvtchnOpCmd.bindVCPU.rawValue: [nil, .ENOENT, .EINVAL, .EFAULT],
        EvtchnOpCmd.unmask.rawValue: [nil, .EINVAL, .EFAULT],
        EvtchnOpCmd.reset.rawValue: [nil, .ESRCH, .EPERM, .EFAULT],
        EvtchnOpCmd.initControl.rawValue: [.ENOSYS, .EFAULT],
        EvtchnOpCmd.expandArray.rawValue: [.ENOSYS, .EFAULT],
        EvtchnOpCmd.setPriority.rawValue: [.EINVAL, .ENOSYS, .EFAULT],
        EvtchnOpCmd.resetCont.rawValue: [.EBUSY, .ESRCH, .EPERM, .EFAULT],
    ]

    @Test func twentyThousandRandomOps() throws {
        let w = EvtchnWorld()
        let guests = [try w.guest(vcpus: 2, maxEventChannels: 40), try w.guest(vcpus: 3),
                      try w.guest(privileged: true, vcpus: 1, sharedInfo: false)]
        var rng = EvtchnRNG(seed: 0x5EED_0E7C)
        var seen: [UInt64: Set<XenErrno?>] = [:]
        var successes = 0

        for step in 0..<20_000 {
            let g = guests[Int(rng.next() % 3)]
            let nv = g.domain.vcpus.count
            let vcpu = Int(rng.next() % UInt64(nv))
            func r(_ n: UInt64) -> UInt64 { rng.next() % n }
            func port() -> EvtchnPort {
                switch r(12) {
                case 0: EvtchnPort(UInt32(truncatingIfNeeded: rng.next()))
                case 1: EvtchnPort(0)
                case 2: EvtchnPort(UInt32(4090 + r(12)))
                default: EvtchnPort(UInt32(r(160)))
                }
            }
            func dom() -> DomainID {
                switch r(10) {
                case 0...3: .domidSelf
                case 4...6: guests[Int(r(3))].id
                case 7: DomainID(UInt16(r(0x8000)))
                case 8: .control
                default: DomainID(999)
                }
            }
            func vcpuArg() -> VCPUID { VCPUID(r(8) == 0 ? UInt32(truncatingIfNeeded: rng.next()) : UInt32(r(4))) }
            func virq() -> VIRQ { VIRQ(r(8) == 0 ? UInt32(truncatingIfNeeded: rng.next()) : UInt32(r(26))) }

            var cmd: UInt64
            var rc: Int64
            switch r(20) {
            case 0, 1:
                cmd = EvtchnOpCmd.allocUnbound.rawValue
                let (c, o) = g.op(.allocUnbound, EvtchnAllocUnbound(dom: dom(), remoteDom: dom()), vcpu: vcpu)
                rc = c
                if c == 0 && o.dom == .domidSelf { #expect(g.domain.eventChannels.state(o.port)?.isBound == true) }
            case 2, 3:
                cmd = EvtchnOpCmd.bindInterdomain.rawValue
                let (c, o) = g.op(.bindInterdomain, EvtchnBindInterdomain(remoteDom: dom(), remotePort: port()), vcpu: vcpu)
                rc = c
                if c == 0 {
                    guard case .interdomain? = g.state(o.localPort) else {
                        Issue.record("step \(step): bound port \(o.localPort) is \(String(describing: g.state(o.localPort)))"); return
                    }
                }
            case 4:
                cmd = EvtchnOpCmd.bindVirq.rawValue
                let (c, o) = g.op(.bindVirq, EvtchnBindVIRQ(virq: virq(), vcpu: vcpuArg()), vcpu: vcpu)
                rc = c
                if c == 0 { #expect(g.state(o.port) == .virq(o.virq, vcpu: o.vcpu)) }
            case 5:
                cmd = EvtchnOpCmd.bindIPI.rawValue
                let (c, o) = g.op(.bindIPI, EvtchnBindIPI(vcpu: vcpuArg()), vcpu: vcpu)
                rc = c
                if c == 0 { #expect(g.state(o.port) == .ipi(vcpu: o.vcpu)) }
            case 6:
                cmd = EvtchnOpCmd.close.rawValue
                let pt = port()
                rc = g.op(.close, EvtchnPortArg(port: pt), vcpu: vcpu).rc
                if rc == 0 { #expect(g.state(pt) == .free) }
            case 7, 8, 9:
                cmd = EvtchnOpCmd.send.rawValue
                rc = g.op(.send, EvtchnPortArg(port: port()), vcpu: vcpu).rc
            case 10:
                cmd = EvtchnOpCmd.status.rawValue
                rc = g.op(.status, EvtchnStatus(dom: dom(), port: port()), vcpu: vcpu).rc
            case 11:
                cmd = EvtchnOpCmd.bindVCPU.rawValue
                rc = g.op(.bindVCPU, EvtchnBindVCPU(port: port(), vcpu: vcpuArg()), vcpu: vcpu).rc
            case 12:
                cmd = EvtchnOpCmd.unmask.rawValue
                rc = g.op(.unmask, EvtchnPortArg(port: port()), vcpu: vcpu).rc
            case 13:
                // Resets are rare, so tables fill up between them.
                cmd = r(10) == 0 ? EvtchnOpCmd.reset.rawValue : EvtchnOpCmd.resetCont.rawValue
                rc = g.op(cmd, EvtchnReset(dom: dom()).bytes, vcpu: vcpu).rc
            case 14:
                cmd = EvtchnOpCmd.bindPirq.rawValue
                rc = g.op(.bindPirq, EvtchnBindPIRQ(pirq: UInt32(truncatingIfNeeded: rng.next())), vcpu: vcpu).rc
            case 15:
                // Any command, random bytes, sometimes a pointer to nothing.
                cmd = r(18)
                let bytes = (0..<24).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                rc = r(4) == 0 ? g.op(cmd, [], at: EvtchnWorld.bad, vcpu: vcpu).rc : g.op(cmd, bytes, vcpu: vcpu).rc
            case 16:
                // The guest's side: mask bits flip, the upcall handler runs.
                cmd = .max
                rc = 0
                if g.domain.physmap.location(of: .sharedInfo) != nil {
                    if r(3) == 0 { g.acknowledge(vcpu) } else { g.mask(EvtchnPort(UInt32(r(160))), r(2) == 0) }
                }
            default:
                // Petrel's own producers.
                cmd = .max
                rc = 0
                let ev = g.domain.evtchn
                switch r(4) {
                case 0: ev.raiseVIRQ([VIRQ.timer, .debug, .xenoprof, .xenpmu][Int(r(4))], on: VCPUID(UInt32(r(4))))
                case 1: ev.raiseGlobalVIRQ([VIRQ.console, .domExc, .pcpuState, .arch(3)][Int(r(4))])
                case 2: ev.notify(port())
                default: _ = try? ev.poll(port())
                }
            }
            if step == 10_000 { try guests[2].placeSharedInfo() }
            if cmd != .max {
                let e: XenErrno? = rc == 0 ? nil : XenErrno(Int32(-rc))
                seen[cmd & 0xFFFF_FFFF, default: []].insert(e)
                if e == nil { successes += 1 }
            }
            if step % 1000 == 999 {
                let problems = evtchnAudit(guests)
                guard problems.isEmpty else { Issue.record("step \(step): \(problems)"); return }
            }
        }
        #expect(evtchnAudit(guests).isEmpty)
        for (cmd, errs) in seen {
            let allowed = Self.allowed[cmd] ?? [.ENOSYS]
            #expect(errs.isSubset(of: allowed), "op \(cmd) answered \(errs.subtracting(allowed))")
        }
        // The storm did real work, not just errors.
        #expect(successes > 3000)
        #expect(guests.contains { $0.domain.eventChannels.snapshot.contains { if case .interdomain = $0.state { true } else { false } } })
    }

    /// Two domains' vCPUs binding and closing interdomain channels to each other at once, so
    /// both tables are locked together from both sides: the lock order (domain id) keeps them
    /// out of deadlock, and the tables stay consistent.
    @Test(.timeLimit(.minutes(1))) func concurrentCrossDomainOps() throws {
        let w = EvtchnWorld()
        let guests = [try w.guest(vcpus: 2), try w.guest(vcpus: 2)]
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            let g = guests[t % 2], other = guests[1 - t % 2]
            let v = t / 2
            let buf = GVA(0x10_0000 + UInt64(t) * 0x100)
            var rng = EvtchnRNG(seed: UInt64(t) &+ 77)
            for _ in 0..<20_000 {
                let pt = EvtchnPort(UInt32(1 + rng.next() % 24))
                switch g.state(pt) {
                case .interdomain?:
                    if rng.next() % 2 == 0 {
                        _ = g.op(.close, EvtchnPortArg(port: pt), at: buf, vcpu: v)
                    } else {
                        _ = g.op(.send, EvtchnPortArg(port: pt), at: buf, vcpu: v)
                    }
                case .unbound?:
                    _ = g.op(.bindVCPU, EvtchnBindVCPU(port: pt, vcpu: VCPUID(UInt32(rng.next() % 2))), at: buf, vcpu: v)
                default:
                    let offered = other.domain.eventChannels.snapshot.enumerated()
                        .filter { $0.element.state == .unbound(remote: g.id) }.map(\.offset)
                    if let rp = offered.randomElement(using: &rng), rng.next() % 4 != 0 {
                        _ = g.op(.bindInterdomain, EvtchnBindInterdomain(remoteDom: other.id, remotePort: EvtchnPort(UInt32(rp))),
                                 at: buf, vcpu: v)
                    } else {
                        _ = g.op(.allocUnbound, EvtchnAllocUnbound(dom: .domidSelf, remoteDom: other.id), at: buf, vcpu: v)
                    }
                }
            }
        }
        #expect(evtchnAudit(guests).isEmpty)
    }

    /// The two-table lock itself, taken as (a, b) on one thread and (b, a) on another while
    /// holding it a little: in domain-id order this never deadlocks.
    @Test(.timeLimit(.minutes(1))) func twoTableLockOrderIsByDomainID() throws {
        let w = EvtchnWorld()
        let a = try w.guest().domain, b = try w.guest().domain
        DispatchQueue.concurrentPerform(iterations: 2) { t in
            let (x, y) = t == 0 ? (a, b) : (b, a)
            for _ in 0..<20_000 {
                _ = try? EventChannel.withTables(x, y) { (px: Ports, py: Ports) throws(XenErrno) -> Int in
                    var n = px.channels.count
                    for i in 0..<50 { n = n &* 31 &+ py.channels.count &+ i }
                    return n
                }
            }
        }
    }
}
