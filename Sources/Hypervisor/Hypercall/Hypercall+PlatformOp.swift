import XenABI

extension Hypervisor {
    /// `platform_op(op)` (xen/arch/x86/platform_hypercall.c: `do_platform_op`), in Xen's
    /// order: the whole `xen_platform_op` is copied in (-EFAULT), its `interface_version` must
    /// be XENPF_INTERFACE_VERSION (-EACCES), and only a privileged domain may go on
    /// (`xsm_platform_op(XSM_PRIV)`: -EPERM, for every command, reads included). Unknown and
    /// unimplemented commands are -ENOSYS, as Xen's default case.
    func platformOp(_ call: HypercallArgs, _ ctx: HypercallContext) throws(XenErrno) -> UInt64 {
        let arg = GVA(call.a0)
        let op = try ctx.copyIn(XenPlatformOp.self, from: arg)
        guard op.interfaceVersion == xenpfInterfaceVersion else { throw .EACCES }
        guard ctx.domain.config.privileged else { throw .EPERM }
        switch PlatformOpCmd(rawValue: op.cmd) {
        case .getCPUInfo:
            let info = platformCPUInfo(op.payload(XenpfPCPUInfo.self))
            // Only the union member goes back (`__copy_field_to_guest(…, u.pcpu_info)`).
            try ctx.copyOut(info, to: arg.advanced(by: UInt64(XenPlatformOp.Offset.u)))
        case .cpuOnline:
            try physicalCPUs.online(op.payload(XenpfCPUOl.self).cpuid)
        case .cpuOffline:
            try physicalCPUs.offline(op.payload(XenpfCPUOl.self).cpuid)
        default:
            if noteUnimplemented(call.number << 32 | UInt64(op.cmd)) {
                logger.notice("\(ctx.domain.id): platform_op cmd \(op.cmd) not implemented: -ENOSYS")
            }
            throw .ENOSYS
        }
        return 0
    }

    /// XENPF_get_cpuinfo: a pCPU that is not present gets XEN_PCPU_FLAGS_INVALID and keeps the
    /// caller's apic_id and acpi_id; a present one its ids (`~0` where unknown, Xen's
    /// BAD_APICID / INVALID_ACPIID) and XEN_PCPU_FLAGS_ONLINE if online. Either way
    /// max_present is the highest present pCPU id.
    func platformCPUInfo(_ request: XenpfPCPUInfo) -> XenpfPCPUInfo {
        var info = request
        if let c = physicalCPUs.cpu(request.xenCPUID), c.present {
            info.apicID = c.apicID ?? XenpfInvalidID.apic
            info.acpiID = c.acpiID ?? XenpfInvalidID.acpi
            info.flags = c.isOnline ? XenpfPCPUInfo.flagOnline : 0
        } else {
            info.flags = XenpfPCPUInfo.flagInvalid
        }
        info.maxPresent = physicalCPUs.maxPresent ?? PCPUID(0)
        return info
    }
}
