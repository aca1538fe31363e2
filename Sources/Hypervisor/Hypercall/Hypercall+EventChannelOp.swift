import XenABI

extension Hypervisor {
    /// `event_channel_op(cmd, arg)` (xen/common/event_channel.c: `do_event_channel_op`): copy
    /// the op's struct in, call one `EventChannel` method as the calling domain, copy the
    /// result out. As in Xen, a fault copying in is -EFAULT before anything happens; a fault
    /// copying the result out is -EFAULT after the op took effect.
    func eventChannelOp(_ call: HypercallArgs, _ ctx: HypercallContext) throws(XenErrno) -> UInt64 {
        let arg = GVA(call.a1)
        let ev = ctx.domain.evtchn
        ev.flushDeferred()
        // Xen's `cmd` is an int: only the low 32 bits count.
        switch EvtchnOpCmd(rawValue: call.a0 & 0xFFFF_FFFF) {
        case .allocUnbound:
            var a = try ctx.copyIn(EvtchnAllocUnbound.self, from: arg)
            a.port = try ev.allocUnbound(dom: a.dom, remoteDom: a.remoteDom)
            try ctx.copyOut(a, to: arg)
        case .bindInterdomain:
            var b = try ctx.copyIn(EvtchnBindInterdomain.self, from: arg)
            b.localPort = try ev.bindInterdomain(remoteDom: b.remoteDom, remotePort: b.remotePort)
            try ctx.copyOut(b, to: arg)
        case .bindVirq:
            var b = try ctx.copyIn(EvtchnBindVIRQ.self, from: arg)
            b.port = try ev.bindVIRQ(b.virq, vcpu: b.vcpu)
            try ctx.copyOut(b, to: arg)
        case .bindPirq:
            var b = try ctx.copyIn(EvtchnBindPIRQ.self, from: arg)
            b.port = try ev.bindPIRQ(b.pirq, flags: b.flags)
            try ctx.copyOut(b, to: arg)
        case .bindIPI:
            var b = try ctx.copyIn(EvtchnBindIPI.self, from: arg)
            b.port = try ev.bindIPI(vcpu: b.vcpu)
            try ctx.copyOut(b, to: arg)
        case .bindVCPU:
            let b = try ctx.copyIn(EvtchnBindVCPU.self, from: arg)
            try ev.bindVCPU(b.port, vcpu: b.vcpu)
        case .close:
            try ev.close(try ctx.copyIn(EvtchnPortArg.self, from: arg).port)
        case .send:
            try ev.send(try ctx.copyIn(EvtchnPortArg.self, from: arg).port)
        case .status:
            let s = try ctx.copyIn(EvtchnStatus.self, from: arg)
            try ctx.copyOut(try ev.status(dom: s.dom, port: s.port), to: arg)
        case .unmask:
            try ev.unmask(try ctx.copyIn(EvtchnPortArg.self, from: arg).port)
        case .reset:
            try ev.reset(dom: try ctx.copyIn(EvtchnReset.self, from: arg).dom)
        case .resetCont:
            try ev.resetCont(dom: try ctx.copyIn(EvtchnReset.self, from: arg).dom)
        case .initControl:
            // Only the 2-level ABI: a guest that asks for FIFO falls back to it.
            _ = try ctx.copyIn(arg, count: EvtchnFIFO.initControlSize)
            throw .ENOSYS
        case .expandArray:
            _ = try ctx.copyIn(arg, count: EvtchnFIFO.expandArraySize)
            throw .ENOSYS
        case .setPriority:
            // `evtchn_set_priority`: the port is checked first; the 2-level ABI has no priorities.
            let b = try ctx.copyIn(arg, count: EvtchnFIFO.setPrioritySize)
            guard ctx.domain.eventChannels.state(EvtchnPort(b.le(UInt32.self, at: 0))) != nil else { throw .EINVAL }
            throw .ENOSYS
        case nil:
            throw unknownSubop(call, ctx)
        }
        return 0
    }
}
