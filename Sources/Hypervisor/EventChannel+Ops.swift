import XenABI

extension Domain {
    /// This domain's event channels: the EVTCHNOP_* operations it makes as a caller, and the
    /// in-hypervisor API for raising events in it.
    public var evtchn: EventChannel { EventChannel(domain: self) }
}

/// One domain's event channels (xen/common/event_channel.c): the `EVTCHNOP_*` operations with
/// `domain` as the calling domain (Xen's `current->domain`), each answering Xen's errno for
/// Xen's reasons in Xen's order, and delivery (EventChannel+Delivery.swift). The ports
/// themselves and the locking rules are in `EventChannelTable`.
public struct EventChannel: Sendable {
    public let domain: Domain

    public init(domain: Domain) { self.domain = domain }

    var table: EventChannelTable { domain.eventChannels }
    var ops: any EventChannelPortOps { domain.eventChannels.portOps }

    // MARK: EVTCHNOP_alloc_unbound, bind_*

    /// `EVTCHNOP_alloc_unbound`: a port in `dom` that `remoteDom` may bind to. `dom` is the
    /// caller (DOMID_SELF) unless the caller is privileged; `remoteDom` is not checked, and
    /// DOMID_SELF there means the caller. Errors: -ESRCH, then -ENOSPC, then -EPERM.
    public func allocUnbound(dom: DomainID, remoteDom: DomainID) throws(XenErrno) -> EvtchnPort {
        let d = try anyDomain(dom)
        let remote = remoteDom == .domidSelf ? domain.id : remoteDom
        return try d.eventChannels.ports.withLock { (p: inout Ports) throws(XenErrno) -> EvtchnPort in
            let port = try p.freePort()
            try checkTarget(d)
            p[port] = .init(.unbound(remote: remote))
            return port
        }
    }

    /// `EVTCHNOP_bind_interdomain`: connects a new local port to `remotePort` of `remoteDom`
    /// (DOMID_SELF or our own id for a loopback), which must be unbound and offered to us
    /// (-EINVAL otherwise; -ESRCH for no such domain). As Xen, the new local port is set
    /// pending, since events sent to the unbound remote end were dropped.
    public func bindInterdomain(remoteDom: DomainID, remotePort: EvtchnPort) throws(XenErrno) -> EvtchnPort {
        let ld = domain
        let rid = remoteDom == .domidSelf ? ld.id : remoteDom
        guard let rd = rid == ld.id ? ld : ld.hypervisor.domain(rid) else { throw .ESRCH }
        var w = Wakeups()
        let lport = try Self.withTables(ld, rd) { (l: Ports, r: Ports) throws(XenErrno) -> EvtchnPort in
            let lport = try l.freePort()
            guard let rch = r.channel(remotePort), case .unbound(let offered) = rch.state, offered == ld.id else {
                throw .EINVAL
            }
            r[remotePort].state = .interdomain(remote: ld.id, remotePort: lport)
            l[lport] = .init(.interdomain(remote: rd.id, remotePort: remotePort))
            setPendingLocked(lport, notify: l[lport].notifyVCPU, l, &w)
            return lport
        }
        finish(w)
        return lport
    }

    /// `EVTCHNOP_bind_virq`: `virq` (< NR_VIRQS, else -EINVAL) on `vcpu`. A global VIRQ binds
    /// on vCPU 0 only (-EINVAL); no such vCPU is -ENOENT; bound already on that vCPU -EEXIST.
    public func bindVIRQ(_ virq: VIRQ, vcpu: VCPUID) throws(XenErrno) -> EvtchnPort {
        guard virq.isValid else { throw .EINVAL }
        if virq.isGlobal && vcpu.raw != 0 { throw .EINVAL }
        guard domain.vcpu(vcpu) != nil else { throw .ENOENT }
        return try table.ports.withLock { (p: inout Ports) throws(XenErrno) -> EvtchnPort in
            let slot = VIRQSlot(vcpu: vcpu, virq: virq)
            if p.virqPorts[slot] != nil { throw .EEXIST }
            let port = try p.freePort()
            p[port] = .init(.virq(virq, vcpu: vcpu), notify: vcpu)
            p.virqPorts[slot] = port
            return port
        }
    }

    /// `EVTCHNOP_bind_ipi`: a port whose sends notify `vcpu` (-ENOENT if there is none).
    public func bindIPI(vcpu: VCPUID) throws(XenErrno) -> EvtchnPort {
        guard domain.vcpu(vcpu) != nil else { throw .ENOENT }
        return try table.ports.withLock { (p: inout Ports) throws(XenErrno) -> EvtchnPort in
            let port = try p.freePort()
            p[port] = .init(.ipi(vcpu: vcpu), notify: vcpu)
            return port
        }
    }

    /// `EVTCHNOP_bind_pirq`. Petrel routes no physical or emulated IRQs to event channels, so a
    /// domain's pirq space is empty (Xen's `d->nr_pirqs` of 0) and every pirq is out of range:
    /// -EINVAL, the answer Xen's `pirq >= d->nr_pirqs` check gives.
    public func bindPIRQ(_ pirq: UInt32, flags: UInt32) throws(XenErrno) -> EvtchnPort {
        throw .EINVAL
    }

    /// `EVTCHNOP_bind_vcpu`: delivers `port`'s events to `vcpu` from now on. Unbound,
    /// interdomain and global-VIRQ ports may move; per-vCPU VIRQs and IPIs may not (-EINVAL),
    /// nor may free ports. No such vCPU: -ENOENT, checked first.
    public func bindVCPU(_ port: EvtchnPort, vcpu: VCPUID) throws(XenErrno) {
        guard domain.vcpu(vcpu) != nil else { throw .ENOENT }
        try table.ports.withLock { (p: inout Ports) throws(XenErrno) in
            guard let ch = p.channel(port) else { throw .EINVAL }
            switch ch.state {
            case .virq(let virq, _) where virq.isGlobal: p[port].notifyVCPU = vcpu
            case .unbound, .interdomain: p[port].notifyVCPU = vcpu
            default: throw .EINVAL
            }
        }
    }

    // MARK: EVTCHNOP_close, reset

    /// `EVTCHNOP_close` (`evtchn_close`): frees `port` and clears its pending bit; the peer of
    /// an interdomain port becomes unbound, offered back to us. Port 0, free ports and ports
    /// past the table are -EINVAL.
    public func close(_ port: EvtchnPort) throws(XenErrno) {
        // The peer is named by the port itself, so look first, then lock both tables in order
        // and check nothing moved in between (else look again, as Xen's `goto again`).
        while true {
            guard let seen = table.channel(port) else { throw .EINVAL }
            guard seen.state.isBound else { throw .EINVAL }
            var peer = domain
            if case .interdomain(let rid, _) = seen.state, rid != domain.id, rid != .control,
               let rd = domain.hypervisor.domain(rid) {
                peer = rd
            }
            let done = try Self.withTables(domain, peer) { (l: Ports, r: Ports) throws(XenErrno) -> Bool in
                guard let ch = l.channel(port) else { throw .EINVAL }
                guard ch == seen else { return false }
                if case .interdomain(let rid, let rport) = ch.state, rid == domain.id || r !== l,
                   r.channel(rport)?.state == .interdomain(remote: domain.id, remotePort: port) {
                    r[rport].state = .unbound(remote: domain.id)
                }
                ops.clearPending(port, in: domain)
                l.release(port)
                return true
            }
            if done { return }
        }
    }

    /// `EVTCHNOP_reset`: closes every port of `dom` (the caller, or any domain for a privileged
    /// caller: -ESRCH, -EPERM). Xen also wants another domain paused by the toolstack first;
    /// the core has no pause yet, so a privileged caller may reset a running domain.
    public func reset(dom: DomainID) throws(XenErrno) {
        let d = try anyDomain(dom)
        try checkTarget(d)
        d.evtchn.closeEvery()
    }

    /// `EVTCHNOP_reset_cont`: continues a preempted reset. Petrel never preempts one, so there
    /// is never one in progress: -EBUSY, Xen's answer for that case.
    public func resetCont(dom: DomainID) throws(XenErrno) {
        let d = try anyDomain(dom)
        try checkTarget(d)
        throw .EBUSY
    }

    /// Closes every bound port (a reset, or domain destruction).
    func closeEvery() {
        for (i, ch) in table.snapshot.enumerated() where ch.state.isBound {
            try? close(EvtchnPort(UInt32(i)))
        }
    }

    // MARK: EVTCHNOP_status, unmask

    /// `EVTCHNOP_status`: what `port` of `dom` is bound to and the vCPU it notifies. -ESRCH for
    /// no such domain, -EINVAL for a port past the table, then -EPERM for another domain's
    /// port without privilege (Xen checks in that order).
    public func status(dom: DomainID, port: EvtchnPort) throws(XenErrno) -> EvtchnStatus {
        let d = try anyDomain(dom)
        return try d.eventChannels.ports.withLock { (p: inout Ports) throws(XenErrno) -> EvtchnStatus in
            guard let ch = p.channel(port) else { throw .EINVAL }
            try checkTarget(d)
            let binding: EvtchnStatus.Binding
            switch ch.state {
            case .free, .reserved: binding = .closed
            case .unbound(let r): binding = .unbound(remote: r)
            case .interdomain(let r, let rp): binding = .interdomain(remote: r, remotePort: rp)
            case .virq(let v, _): binding = .virq(v)
            case .ipi: binding = .ipi
            }
            return EvtchnStatus(dom: dom, port: port, binding: binding, vcpu: ch.notifyVCPU)
        }
    }

    /// `EVTCHNOP_unmask` (2-level: `evtchn_2l_unmask`): clears the mask bit and, if the port
    /// was masked and is pending, re-delivers it to its notify vCPU. Any valid port is
    /// accepted; an unbound one (free, port 0) is left alone. Past the table: -EINVAL.
    public func unmask(_ port: EvtchnPort) throws(XenErrno) {
        var w = Wakeups()
        try table.ports.withLock { (p: inout Ports) throws(XenErrno) in
            guard let ch = p.channel(port) else { throw .EINVAL }
            guard ch.state.isBound else { return }
            applyDeferredLocked(p, &w)
            if ops.unmask(port, in: domain) { w.notify.append((ch.notifyVCPU, port)) }
        }
        finish(w)
    }

    // MARK: Helpers

    /// Xen's `rcu_lock_domain_by_any_id`: DOMID_SELF or our own id is us; else the domain must
    /// exist (-ESRCH).
    func anyDomain(_ id: DomainID) throws(XenErrno) -> Domain {
        if id == .domidSelf || id == domain.id { return domain }
        guard let d = domain.hypervisor.domain(id) else { throw .ESRCH }
        return d
    }

    /// The default XSM policy's `XSM_TARGET`: ourselves, or anyone for a privileged caller.
    func checkTarget(_ d: Domain) throws(XenErrno) {
        guard d === domain || domain.config.privileged else { throw .EPERM }
    }

    /// Runs `body` with both domains' tables locked, the lower domain id first (so two
    /// operations on the same pair can never wait on each other). For one domain, both
    /// arguments are the same storage.
    static func withTables<R: Sendable>(_ a: Domain, _ b: Domain,
                                        _ body: (Ports, Ports) throws(XenErrno) -> R) throws(XenErrno) -> R {
        if a === b {
            return try a.eventChannels.ports.withLock { (p: inout Ports) throws(XenErrno) -> R in try body(p, p) }
        }
        let aFirst = a.id < b.id
        let (first, second) = aFirst ? (a, b) : (b, a)
        return try first.eventChannels.ports.withLock { (p1: inout Ports) throws(XenErrno) -> R in
            try second.eventChannels.ports.withLock { (p2: inout Ports) throws(XenErrno) -> R in
                aFirst ? try body(p1, p2) : try body(p2, p1)
            }
        }
    }
}
