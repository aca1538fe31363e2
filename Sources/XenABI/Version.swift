/// `xen_version` (version.h) and the CPUID discovery leaves (arch-x86/cpuid.h).
public enum XenVersionCmd: UInt64, Sendable {
    case version = 0, extraversion = 1, compileInfo = 2, capabilities = 3, changeset = 4
    case platformParameters = 5, getFeatures = 6, pagesize = 7, guestHandle = 8
    case commandline = 9, buildID = 10
}

/// The Xen release Petrel reports.
public enum XenRelease {
    public static let major: UInt32 = 4
    public static let minor: UInt32 = 17
    public static var versionWord: UInt32 { major << 16 | minor }
}

public let xenExtraversionLength = 16
public let xenCapabilitiesLength = 1024
public let xenChangesetLength = 64
public let xenCommandlineLength = 1024

/// `struct xen_compile_info`.
public enum XenCompileInfo {
    public static let size = 144
    public enum Offset {
        public static let compiler = 0, compileBy = 64, compileDomain = 80, compileDate = 112
    }
    public static func encode(compiler: String, by: String, domain: String, date: String) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: size)
        b.setCString(compiler, at: Offset.compiler, length: 64)
        b.setCString(by, at: Offset.compileBy, length: 16)
        b.setCString(domain, at: Offset.compileDomain, length: 32)
        b.setCString(date, at: Offset.compileDate, length: 32)
        return b
    }
}

/// `struct xen_feature_info`.
public struct XenFeatureInfo: XenStruct, Equatable, Sendable {
    public static let size = 8
    public enum Offset { public static let submapIdx = 0, submap = 4 }
    public var submapIdx: UInt32
    public var submap: UInt32
    public init(submapIdx: UInt32, submap: UInt32) { self.submapIdx = submapIdx; self.submap = submap }
    public init(bytes b: [UInt8]) {
        submapIdx = b.le(UInt32.self, at: Offset.submapIdx)
        submap = b.le(UInt32.self, at: Offset.submap)
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(submapIdx, at: Offset.submapIdx)
        b.setLE(submap, at: Offset.submap)
        return b
    }
}

/// `XENFEAT_*` bit numbers (features.h).
public enum XenFeature: UInt32, Sendable {
    case writablePageTables = 0, writableDescriptorTables = 1, autoTranslatedPhysmap = 2
    case supervisorModeKernel = 3, paePgdirAbove4gb = 4, mmuPtUpdatePreserveAD = 5
    case highmemAssist = 6, gnttabMapAvailBits = 7, hvmCallbackVector = 8, hvmSafePvclock = 9
    case hvmPirqs = 10, dom0 = 11, grantMapIdentity = 12, memoryOpVnodeSupported = 13
    case armSMCCCSupported = 14, linuxRSDPUnrestricted = 15, notDirectMapped = 16
    case directMapped = 17
}
public let xenFeatureSubmaps: UInt32 = 1

/// `struct xen_platform_parameters`: one `xen_ulong_t`.
public let xenPlatformParametersSize = 8
/// `HYPERVISOR_VIRT_START` for x86-64 guests (arch-x86/xen-x86_64.h).
public let x86HypervisorVirtStart: UInt64 = 0xFFFF_8000_0000_0000

/// `xen_domain_handle_t`: a 16-byte UUID.
public let xenDomainHandleSize = 16

/// CPUID discovery (arch-x86/cpuid.h).
public enum XenCPUID {
    public static let firstLeaf: UInt32 = 0x4000_0000
    public static let signatureEBX: UInt32 = 0x566e_6558  // "XenV"
    public static let signatureECX: UInt32 = 0x6558_4d4d  // "MMXe"
    public static let signatureEDX: UInt32 = 0x4d4d_566e  // "nVMM"
    public static let maxLeaves: UInt32 = 5
    /// The MSR whose write installs the hypercall page (Xen's default).
    public static let hypercallPageMSR: UInt32 = 0x4000_0000
    public static let hvmVCPUIDPresent: UInt32 = 1 << 3
    public static let hvmDomIDPresent: UInt32 = 1 << 4
}
