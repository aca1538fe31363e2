import XenABI

extension Hypervisor {
    /// `sched_op(cmd, arg)` (xen/common/sched/core.c: `do_sched_op`).
    func schedOp(_ call: HypercallArgs, _ ctx: HypercallContext) throws(XenErrno) -> UInt64 {
        let arg = GVA(call.a1)
        let d = ctx.domain
        switch SchedOpCmd(rawValue: call.a0) {
        case .yield:
            // A guest waiting for its console ring to drain yields: drain it now.
            d.console.drainRing(memory: d.memory)
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
        default:
            throw unknownSubop(call, ctx)
        }
    }
}
