import XenABI

/// Notifications owed once the table lock is dropped (EventChannelTable's locking rules).
struct Wakeups {
    /// (notify vCPU, port): the 2-level selector and upcall for each.
    var notify: [(VCPUID, EvtchnPort)] = []
    /// Ports that became pending: vCPUs polling them are woken.
    var polled: [EvtchnPort] = []
}

extension EventChannel {
    // MARK: EVTCHNOP_send

    /// `EVTCHNOP_send` (`evtchn_send`): an interdomain port sets its peer pending (in another
    /// domain or this one), an IPI port itself; an unbound port drops the event silently, as
    /// Xen. A port connected to Petrel's own backend (the control domain) tells the backend:
    /// the console drains its ring, a registered handler runs (`setBackendHandler`). Free,
    /// reserved and VIRQ ports, and ports past the table, are -EINVAL.
    public func send(_ port: EvtchnPort) throws(XenErrno) {
        guard let ch = table.channel(port) else { throw .EINVAL }
        switch ch.state {
        case .interdomain(let rid, let rport):
            if rid == .control {
                backendNotified(port)
            } else if let rd = rid == domain.id ? domain : domain.hypervisor.domain(rid) {
                // Only the peer's lock is needed: the peer port still pointing back at us
                // means the channel is intact (a close in between leaves it unbound).
                rd.evtchn.setPending(rport, if: .interdomain(remote: domain.id, remotePort: port))
            }
        case .ipi:
            setPending(port, if: ch.state)
        case .unbound:
            break
        case .free, .reserved, .virq:
            throw .EINVAL
        }
    }

    /// The guest notified one of Petrel's backends. No lock is held here.
    func backendNotified(_ port: EvtchnPort) {
        if port == domain.console.ringPort { domain.console.ringNotified(memory: domain.memory) }
        runBackendHandler(port)
    }

    // MARK: In-hypervisor API

    /// Xen's `send_guest_vcpu_virq`: raises per-vCPU `virq` (VIRQ_TIMER, VIRQ_DEBUG …) on `vcpu`
    /// if the guest bound it there; else nothing. A global VIRQ here is a Petrel bug.
    public func raiseVIRQ(_ virq: VIRQ, on vcpu: VCPUID) {
        precondition(virq.isValid && !virq.isGlobal, "raiseVIRQ: \(virq) is not a per-vCPU VIRQ")
        deliverVIRQ(VIRQSlot(vcpu: vcpu, virq: virq))
    }

    /// Xen's `send_guest_global_virq`: raises global `virq` (VIRQ_PCPU_STATE, VIRQ_DOM_EXC …)
    /// on the vCPU its port notifies, if the guest bound it; else nothing.
    public func raiseGlobalVIRQ(_ virq: VIRQ) {
        precondition(virq.isValid && virq.isGlobal, "raiseGlobalVIRQ: \(virq) is a per-vCPU VIRQ")
        deliverVIRQ(VIRQSlot(vcpu: VCPUID(0), virq: virq))
    }

    /// Xen's `guest_enabled_event`: true if the guest bound `virq` on `vcpu` (vCPU 0 for a
    /// global one), so a producer can skip work nobody listens to.
    public func isBound(_ virq: VIRQ, on vcpu: VCPUID = VCPUID(0)) -> Bool {
        table.port(for: virq, on: vcpu) != nil
    }

    /// A backend's notification to the guest (Xen's `notify_via_xen_event_channel`): sets
    /// `port` pending if it is connected to Petrel's side (interdomain with the control domain).
    /// Returns false, doing nothing, for any other port.
    @discardableResult
    public func notify(_ port: EvtchnPort) -> Bool {
        guard case .interdomain(let rid, _)? = table.state(port), rid == .control else { return false }
        return setPending(port, if: nil)
    }

    /// True if `port`'s pending bit is set (or, before the guest placed shared_info, if an event
    /// for it is waiting). The bit alone, whatever the port's state. Takes no VCPU lock.
    public func isPending(_ port: EvtchnPort) -> Bool {
        if ops.isPending(port, in: domain) == true { return true }
        return table.ports.withLock { $0.deferred.contains(port) }
    }

    /// True if `port`'s mask bit is set (false before shared_info exists: a fresh page masks
    /// nothing). Ports past the 2-level range read as masked. Takes no VCPU lock.
    public func isMasked(_ port: EvtchnPort) -> Bool {
        ops.isMasked(port, in: domain) ?? false
    }

    /// Xen's `evtchn_port_poll`, for SCHEDOP_poll: -EINVAL for a port past the table, false for
    /// one that is not bound, else whether it is pending. Takes no VCPU lock.
    public func poll(_ port: EvtchnPort) throws(XenErrno) -> Bool {
        guard let ch = table.channel(port) else { throw .EINVAL }
        return ch.state.isBound && isPending(port)
    }

    /// Domain destruction (Xen's `evtchn_destroy`): no new ports from now on (-EINVAL, as for
    /// a dying domain), and every port closed, so peers in other domains become unbound.
    public func closeAll() {
        table.ports.withLock { $0.dying = true }
        closeEvery()
        table.backends.removeAll()
    }

    /// Applies events raised before the guest placed shared_info. Delivery and every
    /// event-channel hypercall do this on their own; `XENMEM_add_to_physmap` may call it so the
    /// guest sees them at once.
    public func flushDeferred() {
        var w = Wakeups()
        table.ports.withLock { p in applyDeferredLocked(p, &w) }
        finish(w)
    }

    // MARK: set_pending

    /// `evtchn_port_set_pending` on this domain's `port`, if its state is still `expected`
    /// (nil: any bound state), to its current notify vCPU. True if the port was bound.
    @discardableResult
    func setPending(_ port: EvtchnPort, if expected: EventChannelTable.State?) -> Bool {
        var w = Wakeups()
        let bound = table.ports.withLock { (p: inout Ports) -> Bool in
            applyDeferredLocked(p, &w)
            guard let ch = p.channel(port), ch.state.isBound, expected == nil || ch.state == expected else { return false }
            setPendingLocked(port, notify: ch.notifyVCPU, p, &w)
            return true
        }
        finish(w)
        return bound
    }

    private func deliverVIRQ(_ slot: VIRQSlot) {
        var w = Wakeups()
        table.ports.withLock { (p: inout Ports) in
            applyDeferredLocked(p, &w)
            guard let port = p.virqPorts[slot], let ch = p.channel(port) else { return }
            // Per-vCPU VIRQs go to the vCPU they were raised on (it is also their notify vCPU);
            // global ones to wherever bind_vcpu sent them.
            setPendingLocked(port, notify: slot.virq.isGlobal ? ch.notifyVCPU : slot.vcpu, p, &w)
        }
        finish(w)
    }

    /// The locked half of set_pending: marks the bit (or records the port while there is no
    /// shared_info), noting what `finish` owes. `p` is this domain's ports, locked.
    func setPendingLocked(_ port: EvtchnPort, notify vcpu: VCPUID, _ p: Ports, _ w: inout Wakeups) {
        applyDeferredLocked(p, &w)
        record(ops.setPending(port, in: domain), port, vcpu, p, &w)
    }

    func applyDeferredLocked(_ p: Ports, _ w: inout Wakeups) {
        guard !p.deferred.isEmpty, domain.physmap.location(of: .sharedInfo) != nil else { return }
        let ports = p.deferred.sorted()
        p.deferred = []
        for port in ports {
            guard let ch = p.channel(port), ch.state.isBound else { continue }
            record(ops.setPending(port, in: domain), port, ch.notifyVCPU, p, &w)
        }
    }

    private func record(_ r: PendingResult, _ port: EvtchnPort, _ vcpu: VCPUID, _ p: Ports, _ w: inout Wakeups) {
        switch r {
        case .noSharedInfo: p.deferred.insert(port)
        case .alreadyPending: break
        case .raised(let masked):
            if !masked { w.notify.append((vcpu, port)) }
            w.polled.append(port)
        }
    }

    /// The unlocked half: the selector and upcall on each notify vCPU (event_2l.c), then
    /// `evtchn_check_pollers`.
    func finish(_ w: Wakeups) {
        for (v, port) in w.notify {
            if let vcpu = domain.vcpu(v) { ops.notify(vcpu, of: port) }
        }
        for port in w.polled { wakePollers(of: port) }
    }

    /// Wakes every vCPU whose SCHEDOP_poll waits on `port`, or on any port (a poll of no ports,
    /// recorded as `[port 0]`; port 0 never fires): its poll ends (its port list is cleared)
    /// and it is kicked. Xen also wakes multi-port pollers on any port (`poll_evtchn` -1);
    /// waking only those that name this port spares them a spurious return.
    private func wakePollers(of port: EvtchnPort) {
        for v in domain.vcpus {
            let woke = v.state.withLock { s -> Bool in
                guard s.pollPorts.contains(port) || s.pollPorts == [EvtchnPort(0)] else { return false }
                s.pollPorts = []
                return true
            }
            if woke { v.kick() }
        }
    }
}
