import XenABI

extension Hypervisor {
    /// `hvm_op(op, arg)` (xen/arch/x86/hvm/hvm.c: `do_hvm_op`): HVM params for now.
    func hvmOp(_ call: HypercallArgs, _ ctx: HypercallContext) throws(XenErrno) -> UInt64 {
        let arg = GVA(call.a1)
        switch HVMOpCmd(rawValue: call.a0) {
        case .setParam:
            let p = try ctx.copyIn(XenHVMParam.self, from: arg)
            guard p.index < HVMParam.count else { throw .EINVAL }
            let d = try target(p.domid, from: ctx.domain)
            try hvmSetParam(d, p.index, p.value, onSelf: d === ctx.domain)
            return 0
        case .getParam:
            var p = try ctx.copyIn(XenHVMParam.self, from: arg)
            guard p.index < HVMParam.count else { throw .EINVAL }
            let d = try target(p.domid, from: ctx.domain)
            p.value = try d.params.get(p.index, onSelf: d === ctx.domain)
            try ctx.copyOut(p, to: arg)
            return 0
        case nil:
            throw unknownSubop(call, ctx)
        }
    }

    /// `hvm_set_param`: store, then apply what the param means.
    func hvmSetParam(_ d: Domain, _ index: UInt32, _ value: UInt64, onSelf: Bool) throws(XenErrno) {
        if index == HVMParam.callbackIRQ {
            // Only the vector type can be delivered by an engine without an emulated IO-APIC.
            let type = value >> HVMParam.callbackTypeShift
            if value != 0 && type != HVMParam.callbackTypeVector && type != HVMParam.callbackTypePPI {
                logger.notice("\(d.id): HVM_PARAM_CALLBACK_IRQ type \(type) stored; only vector delivery is supported")
            }
        }
        try d.params.set(index, value, onSelf: onSelf)
    }
}
