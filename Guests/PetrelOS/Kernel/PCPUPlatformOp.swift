// HYPERVISOR_platform_op (hypercall 7, xen/platform.h): the physical-CPU commands of a
// control domain, one wrapper per XENPF command, named after it. Each returns Xen's result
// (0 or -errno) untouched; the pCPU driver (PCPU.swift) turns them into errors.
//
// Xen's order (xen/arch/x86/platform_hypercall.c, do_platform_op): the whole
// xen_platform_op is copied in (-EFAULT), its interface_version must be
// XENPF_INTERFACE_VERSION (-EACCES), then only a privileged domain may go on (-EPERM, for
// every command, reads included); unknown commands are -ENOSYS. Only the union member of
// the command goes back (XENPF_get_cpuinfo: u.pcpu_info).

enum PlatformOp {
    static var interfaceVersion: UInt32 { UInt32(XENPF_INTERFACE_VERSION) }

    /// A zeroed xen_platform_op for `cmd`, with `version` (tests pass a wrong one).
    static func make(_ cmd: UInt32, version: UInt32 = PlatformOp.interfaceVersion) -> xen_platform_op {
        var op = xen_platform_op()
        op.cmd = cmd
        op.interface_version = version
        return op
    }

    /// HYPERVISOR_platform_op(&op): Xen may write back into `op`.
    static func call(_ op: inout xen_platform_op) -> Int64 {
        withGuestAddress(of: &op) { Xen.call(__HYPERVISOR_platform_op, $0) }
    }

    /// XENPF_get_cpuinfo for pCPU `cpu` (struct xenpf_pcpuinfo). `apicSeed` and `acpiSeed`
    /// go in as apic_id and acpi_id: Xen leaves them as they are for a CPU that is not
    /// present (XEN_PCPU_FLAGS_INVALID), which tests check.
    static func getCPUInfo(_ cpu: UInt32, apicSeed: UInt32 = 0, acpiSeed: UInt32 = 0) -> (rc: Int64, info: xenpf_pcpuinfo) {
        var op = make(UInt32(XENPF_get_cpuinfo))
        op.u.pcpu_info.xen_cpuid = cpu
        op.u.pcpu_info.apic_id = apicSeed
        op.u.pcpu_info.acpi_id = acpiSeed
        let rc = call(&op)
        return (rc, op.u.pcpu_info)
    }

    /// XENPF_cpu_online (struct xenpf_cpu_ol): let Xen run vCPUs on pCPU `cpu` again.
    static func cpuOnline(_ cpu: UInt32) -> Int64 {
        var op = make(UInt32(XENPF_cpu_online))
        op.u.cpu_ol.cpuid = cpu
        return call(&op)
    }

    /// XENPF_cpu_offline (struct xenpf_cpu_ol): take pCPU `cpu` away from every vCPU.
    static func cpuOffline(_ cpu: UInt32) -> Int64 {
        var op = make(UInt32(XENPF_cpu_offline))
        op.u.cpu_ol.cpuid = cpu
        return call(&op)
    }
}
