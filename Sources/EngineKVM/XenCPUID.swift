import CKVM
import XenABI

/// The CPUID table a Xen PVH guest sees: the host's leaves as KVM offers them, with KVM's own
/// paravirt leaves replaced by Xen's at 0x40000000 (arch-x86/cpuid.h), and per-vCPU APIC ids.
enum XenCPUIDTable {
    static let hypervisorPresent: UInt32 = 1 << 31

    static func entries(host: [kvm_cpuid_entry2], vcpu: VCPUID, domid: DomainID) -> [kvm_cpuid_entry2] {
        var out = host.filter { $0.function < 0x4000_0000 || $0.function > 0x4000_FFFF }
        for i in out.indices {
            switch out[i].function {
            case 1:
                out[i].ecx |= hypervisorPresent
                // Initial APIC id in EBX[31:24].
                out[i].ebx = (out[i].ebx & 0x00FF_FFFF) | (vcpu.raw & 0xFF) << 24
            case 0xB, 0x1F:
                out[i].edx = vcpu.raw  // x2APIC id
            default:
                break
            }
        }
        let base = XenCPUID.firstLeaf
        func leaf(_ i: UInt32, _ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32) -> kvm_cpuid_entry2 {
            var e = kvm_cpuid_entry2()
            e.function = base + i
            e.eax = a; e.ebx = b; e.ecx = c; e.edx = d
            return e
        }
        // Leaf 1: signature and the largest Xen leaf.
        out.append(leaf(0, base + XenCPUID.maxLeaves, XenCPUID.signatureEBX, XenCPUID.signatureECX, XenCPUID.signatureEDX))
        // Leaf 2: version.
        out.append(leaf(1, XenRelease.versionWord, 0, 0, 0))
        // Leaf 3: one hypercall page, installed by writing its GPA to the MSR.
        out.append(leaf(2, 1, XenCPUID.hypercallPageMSR, 0, 0))
        // Leaf 4: time (TSC mode); left zero, the guest falls back to pvclock defaults.
        out.append(leaf(3, 0, 0, 0, 0))
        // Leaf 5: HVM features: vCPU id in EBX, domid in ECX.
        out.append(leaf(4, XenCPUID.hvmVCPUIDPresent | XenCPUID.hvmDomIDPresent, vcpu.raw, UInt32(domid.raw), 0))
        // Leaf 6: PV-specific, empty for HVM.
        out.append(leaf(5, 0, 0, 0, 0))
        return out
    }
}
