/// `platform_op` (platform.h): hardware platform operations for the control domain. Petrel
/// implements the physical-CPU commands; their structs live here with their exact C layouts.

/// A physical CPU number as Xen's platform and sysctl ops carry it (`xen_cpuid`, `cpuid` in
/// `xenpf_cpu_ol`): Petrel's pCPU id. Not an APIC id and not an ACPI processor id.
public struct PCPUID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var raw: UInt32
    public init(_ raw: UInt32) { self.raw = raw }
    public static func < (a: Self, b: Self) -> Bool { a.raw < b.raw }
    public var description: String { "cpu\(raw)" }
}

/// `XENPF_INTERFACE_VERSION`: every `xen_platform_op` must carry it (else -EACCES).
public let xenpfInterfaceVersion: UInt32 = 0x0300_0001

/// `XENPF_*` command numbers (platform.h) Petrel knows by name. Any other number is -ENOSYS,
/// as Xen's default case.
public enum PlatformOpCmd: UInt32, Sendable, CaseIterable {
    case settime32 = 17
    case addMemtype = 31
    case delMemtype = 32
    case readMemtype = 33
    case microcodeUpdate = 35
    case platformQuirk = 39
    case firmwareInfo = 50
    case enterACPISleep = 51
    case changeFreq = 52
    case getIdleTime = 53
    case setProcessorPMInfo = 54
    case getCPUInfo = 55
    case cpuOnline = 56
    case cpuOffline = 57
    case cpuHotadd = 58
    case memHotadd = 59
    case coreParking = 60
    case resourceOp = 61
    case settime64 = 62
    case getSymbol = 63
    case getCPUVersion = 48
    case efiRuntimeCall = 49
}

/// `struct xen_platform_op`: `cmd`, `interface_version`, then a 128-byte union (`u`), aligned
/// to 8 because some members hold 64-bit fields.
public struct XenPlatformOp: XenStruct, Equatable, Sendable {
    public static let size = 136
    public static let unionSize = 128
    public enum Offset { public static let cmd = 0, interfaceVersion = 4, u = 8 }
    public var cmd: UInt32
    public var interfaceVersion: UInt32
    /// The union's bytes, always `unionSize` long.
    public var u: [UInt8]

    public init(cmd: UInt32, interfaceVersion: UInt32 = xenpfInterfaceVersion, u: [UInt8] = []) {
        self.cmd = cmd
        self.interfaceVersion = interfaceVersion
        self.u = Array((u + [UInt8](repeating: 0, count: Self.unionSize)).prefix(Self.unionSize))
    }

    public init(bytes b: [UInt8]) {
        cmd = b.le(UInt32.self, at: Offset.cmd)
        interfaceVersion = b.le(UInt32.self, at: Offset.interfaceVersion)
        u = Array(b[Offset.u..<(Offset.u + Self.unionSize)])
    }

    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(cmd, at: Offset.cmd)
        b.setLE(interfaceVersion, at: Offset.interfaceVersion)
        b.replaceSubrange(Offset.u..<(Offset.u + Self.unionSize), with: u)
        return b
    }

    /// The union read as `T` (its first `T.size` bytes).
    public func payload<T: XenStruct>(_: T.Type) -> T { T(bytes: Array(u.prefix(T.size))) }
}

/// `struct xenpf_pcpuinfo` (XENPF_get_cpuinfo).
public struct XenpfPCPUInfo: XenStruct, Equatable, Sendable {
    public static let size = 20
    public enum Offset {
        public static let xenCPUID = 0, maxPresent = 4, flags = 8, apicID = 12, acpiID = 16
    }
    /// `XEN_PCPU_FLAGS_ONLINE`: the CPU is online.
    public static let flagOnline: UInt32 = 1
    /// `XEN_PCPU_FLAGS_INVALID`: no such present CPU.
    public static let flagInvalid: UInt32 = 2

    public var xenCPUID: PCPUID
    public var maxPresent: PCPUID
    public var flags: UInt32
    public var apicID: UInt32
    public var acpiID: UInt32

    public init(xenCPUID: PCPUID, maxPresent: PCPUID = PCPUID(0), flags: UInt32 = 0,
                apicID: UInt32 = 0, acpiID: UInt32 = 0) {
        self.xenCPUID = xenCPUID; self.maxPresent = maxPresent; self.flags = flags
        self.apicID = apicID; self.acpiID = acpiID
    }

    public init(bytes b: [UInt8]) {
        xenCPUID = PCPUID(b.le(UInt32.self, at: Offset.xenCPUID))
        maxPresent = PCPUID(b.le(UInt32.self, at: Offset.maxPresent))
        flags = b.le(UInt32.self, at: Offset.flags)
        apicID = b.le(UInt32.self, at: Offset.apicID)
        acpiID = b.le(UInt32.self, at: Offset.acpiID)
    }

    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(xenCPUID.raw, at: Offset.xenCPUID)
        b.setLE(maxPresent.raw, at: Offset.maxPresent)
        b.setLE(flags, at: Offset.flags)
        b.setLE(apicID, at: Offset.apicID)
        b.setLE(acpiID, at: Offset.acpiID)
        return b
    }
}

/// `struct xenpf_cpu_ol` (XENPF_cpu_online, XENPF_cpu_offline).
public struct XenpfCPUOl: XenStruct, Equatable, Sendable {
    public static let size = 4
    public enum Offset { public static let cpuid = 0 }
    public var cpuid: PCPUID
    public init(cpuid: PCPUID) { self.cpuid = cpuid }
    public init(bytes b: [UInt8]) { cpuid = PCPUID(b.le(UInt32.self, at: Offset.cpuid)) }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(cpuid.raw, at: Offset.cpuid)
        return b
    }
}

/// Xen's "no such id" values that `XENPF_get_cpuinfo` reports: `BAD_APICID` and
/// `INVALID_ACPIID` (both `~0U`, xen/arch/x86/include/asm/apicdef.h and acpi/processor.h).
public enum XenpfInvalidID {
    public static let apic: UInt32 = 0xFFFF_FFFF
    public static let acpi: UInt32 = 0xFFFF_FFFF
}
