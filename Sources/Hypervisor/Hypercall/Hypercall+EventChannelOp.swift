import XenABI

extension Hypervisor {
    /// `event_channel_op(cmd, arg)` (xen/common/event_channel.c: `do_event_channel_op`).
    func eventChannelOp(_ call: HypercallArgs, _ ctx: HypercallContext) throws(XenErrno) -> UInt64 {
        let arg = GVA(call.a1)
        let d = ctx.domain
        switch EvtchnOpCmd(rawValue: call.a0) {
        case .send:
            let port = EvtchnPort(try ctx.load(UInt32.self, at: arg))
            guard d.eventChannels.isValid(port) else { throw .EINVAL }
            if port == d.console.ringPort { d.console.drainRing(memory: d.memory) }
            return 0
        default:
            throw unknownSubop(call, ctx)
        }
    }
}
