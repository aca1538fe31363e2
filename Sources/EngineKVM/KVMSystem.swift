import CKVM
import HostOS
import Glibc
import SystemPackage

/// The opened /dev/kvm: API checks, capabilities and what they cost nothing to ask again.
public final class KVMSystem: @unchecked Sendable {
    public let fd: FileDescriptor
    public let vcpuMmapSize: Int
    /// Whether memory slots can be read-only (`KVM_CAP_READONLY_MEM`): what enforces a
    /// guest's read-only grant mappings. Without it they are refused.
    public let readOnlyMemory: Bool
    /// Host CPUID as KVM can offer it, before the Xen leaves are added.
    let supportedCPUID: [kvm_cpuid_entry2]

    public static let devicePath = "/dev/kvm"

    public init(path: String = KVMSystem.devicePath) throws(KVMError) {
        do { fd = try Host.openReadWrite(path) } catch { throw .unavailable(error) }
        let version = ckvm_ioctl_val(fd.rawValue, ckvm_KVM_GET_API_VERSION(), 0)
        guard version == CKVM_API_VERSION else { throw .apiVersion(version) }
        for (cap, name) in [(CKVM_CAP_SYNC_REGS, "KVM_CAP_SYNC_REGS"),
                            (CKVM_CAP_X86_USER_SPACE_MSR, "KVM_CAP_X86_USER_SPACE_MSR"),
                            (CKVM_CAP_X86_MSR_FILTER, "KVM_CAP_X86_MSR_FILTER"),
                            (CKVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT")] {
            guard ckvm_ioctl_val(fd.rawValue, ckvm_KVM_CHECK_EXTENSION(), UInt(cap)) > 0 else {
                throw .missingCapability(name)
            }
        }
        let size = ckvm_ioctl_val(fd.rawValue, ckvm_KVM_GET_VCPU_MMAP_SIZE(), 0)
        guard size > 0 else { throw .ioctl("KVM_GET_VCPU_MMAP_SIZE", HostError("ioctl", Host.lastErrno)) }
        vcpuMmapSize = Int(size)
        readOnlyMemory = ckvm_ioctl_val(fd.rawValue, ckvm_KVM_CHECK_EXTENSION(), UInt(CKVM_CAP_READONLY_MEM)) > 0
        supportedCPUID = try Self.querySupportedCPUID(fd)
    }

    /// The TSC rate a VM's guests run at (KVM_GET_TSC_KHZ on the VM), in kHz. Asked of each
    /// VM as it is made: probing with a throwaway VM costs a VM creation (~1 ms) per boot.
    static func tscKHz(vm: FileDescriptor) throws(KVMError) -> UInt64 {
        let khz = ckvm_ioctl_val(vm.rawValue, ckvm_KVM_GET_TSC_KHZ(), 0)
        guard khz > 0 else { throw .missingCapability("KVM_GET_TSC_KHZ (a known TSC rate)") }
        return UInt64(khz)
    }

    deinit { try? fd.close() }

    public func checkExtension(_ cap: UInt32) -> Int32 {
        ckvm_ioctl_val(fd.rawValue, ckvm_KVM_CHECK_EXTENSION(), UInt(cap))
    }

    /// The most vCPUs KVM allows in one VM.
    public var maxVCPUs: Int {
        let n = checkExtension(UInt32(CKVM_CAP_MAX_VCPUS))
        return n > 0 ? Int(n) : Int(max(1, checkExtension(UInt32(CKVM_CAP_NR_VCPUS))))
    }

    private static func querySupportedCPUID(_ fd: FileDescriptor) throws(KVMError) -> [kvm_cpuid_entry2] {
        var n: UInt32 = 64
        while n <= 4096 {
            guard let c = ckvm_cpuid2_alloc(n) else { break }
            defer { ckvm_cpuid2_free(c) }
            if ckvm_ioctl_ptr(fd.rawValue, ckvm_KVM_GET_SUPPORTED_CPUID(), c) == 0 {
                return (0..<c.pointee.nent).map { ckvm_cpuid2_entry(c, $0).pointee }
            }
            guard Host.lastErrno == .init(rawValue: 7) else {
                throw .ioctl("KVM_GET_SUPPORTED_CPUID", HostError("ioctl", Host.lastErrno))
            }
            n *= 2
        }
        throw .ioctl("KVM_GET_SUPPORTED_CPUID", HostError("ioctl", .init(rawValue: 7)))
    }
}
