import XenABI

extension Hypervisor {
    /// Xen's arbitrary cap on SCHEDOP_poll's port list.
    static let maxPollPorts = 128

    /// `sched_op(cmd, arg)` (xen/common/sched/core.c: `do_sched_op`).
    func schedOp(_ call: HypercallArgs, _ ctx: HypercallContext) throws(XenErrno) -> UInt64 {
        let arg = GVA(call.a1)
        let d = ctx.domain
        switch SchedOpCmd(rawValue: call.a0) {
        case .yield:
            // A guest waiting for its console ring to drain yields: drain it now.
            d.console.drainRing(memory: d.memory)
            return 0
        case .block:
            schedBlock(ctx.vcpu)
            return 0
        case .poll:
            let b = try ctx.copyIn(arg, count: schedPollSize)
            try schedPoll(ctx, ports: GVA(b.le(UInt64.self, at: 0)), count: Int(b.le(UInt32.self, at: 8)),
                          timeout: b.le(UInt64.self, at: 16))
            return 0
        case .shutdown:
            let reason = try ctx.load(UInt32.self, at: arg)
            d.console.drainRing(memory: d.memory)
            // Xen keeps the reason as a u8 and passes unknown codes through to the toolstack.
            d.shutdown(code: UInt8(truncatingIfNeeded: reason))
            return 0
        case .shutdownCode:
            let reason = try ctx.load(UInt32.self, at: arg)
            d.setShutdownCode(UInt8(truncatingIfNeeded: reason))
            return 0
        case .remoteShutdown:
            let b = try ctx.copyIn(arg, count: schedRemoteShutdownSize)
            // rcu_lock_domain_by_id: DOMID_SELF is not a name here.
            guard let target = domain(DomainID(b.le(UInt16.self, at: 0))) else { throw .ESRCH }
            guard d.config.privileged else { throw .EPERM }
            target.shutdown(code: UInt8(truncatingIfNeeded: b.le(UInt32.self, at: 4)))
            return 0
        default:
            throw unknownSubop(call, ctx)
        }
    }

    /// SCHEDOP_block: enable event delivery, then sleep until an upcall is pending (or the
    /// vCPU goes down, or the domain stops). The vCPU's own one-shot timer is fired by this
    /// thread at its deadline (`VCPU.waitForEvent`).
    func schedBlock(_ v: VCPU) {
        let d = v.domain
        if let info = v.vcpuInfo {
            try? d.memory.store(UInt8(0), at: info.advanced(by: UInt64(X86VCPUInfo.Offset.evtchnUpcallMask)))
        }
        guard d.machine != nil else { return }
        guard !v.upcallPending else { return }
        v.setRunstate(.blocked)
        v.waitForEvent { d.isShutDown || !v.isUp || v.upcallPending }
        v.setRunstate(.running)
        XenTime.updateVCPUTime(v)
    }

    /// SCHEDOP_poll (`do_poll`): wait until one of `ports` is pending, or system time
    /// `timeout` (0: none). Returns at once if one is pending already.
    func schedPoll(_ ctx: HypercallContext, ports: GVA, count: Int, timeout: UInt64) throws(XenErrno) {
        let v = ctx.vcpu, d = ctx.domain
        guard count <= Self.maxPollPorts else { throw .EINVAL }
        let raw = try ctx.copyIn(ports, count: count * 4)
        let list = (0..<count).map { EvtchnPort(raw.le(UInt32.self, at: $0 * 4)) }
        // evtchn_port_poll: an invalid port is -EINVAL; a bound, pending one ends the poll.
        var pendingNow = false
        for p in list { if try d.evtchn.poll(p) { pendingNow = true } }
        if pendingNow { return }
        func anyPending() -> Bool { list.contains { (try? d.evtchn.poll($0)) ?? false } }
        guard d.machine != nil else { return }
        let deadline = timeout == 0 ? nil : Optional(v.monotonic(ofSystemTime: timeout))
        v.state.withLock { $0.pollPorts = list.isEmpty ? [EvtchnPort(0)] : list }
        v.setRunstate(.blocked)
        // The timeout is the sleep's own deadline: no timer-thread hop to end it.
        v.waitForEvent(until: deadline) {
            d.isShutDown || !v.isUp || anyPending() || v.state.withLock({ $0.pollPorts.isEmpty })
        }
        v.state.withLock { $0.pollPorts = [] }
        v.setRunstate(.running)
    }
}
