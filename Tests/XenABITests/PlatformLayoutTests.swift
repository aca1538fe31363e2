import CXenLayout
import Testing
@testable import XenABI

// platform.h: xen_platform_op and the physical-CPU commands, against Xen's header.

@Suite("xen_platform_op (platform.h)")
struct PlatformOpLayoutTests {
    static let fields: [FieldSpec] = [
        FieldSpec("xen_platform_op.cmd", XenPlatformOp.Offset.cmd, 4),
        FieldSpec("xen_platform_op.interface_version", XenPlatformOp.Offset.interfaceVersion, 4),
        FieldSpec("xen_platform_op.u", XenPlatformOp.Offset.u, XenPlatformOp.unionSize),
        FieldSpec("xen_platform_op.u.pcpu_info", XenPlatformOp.Offset.u, XenpfPCPUInfo.size),
        FieldSpec("xen_platform_op.u.cpu_ol", XenPlatformOp.Offset.u, XenpfCPUOl.size),
        FieldSpec("xenpf_pcpuinfo.xen_cpuid", XenpfPCPUInfo.Offset.xenCPUID, 4),
        FieldSpec("xenpf_pcpuinfo.max_present", XenpfPCPUInfo.Offset.maxPresent, 4),
        FieldSpec("xenpf_pcpuinfo.flags", XenpfPCPUInfo.Offset.flags, 4),
        FieldSpec("xenpf_pcpuinfo.apic_id", XenpfPCPUInfo.Offset.apicID, 4),
        FieldSpec("xenpf_pcpuinfo.acpi_id", XenpfPCPUInfo.Offset.acpiID, 4),
        FieldSpec("xenpf_cpu_ol.cpuid", XenpfCPUOl.Offset.cpuid, 4),
    ]

    @Test func sizes() {
        #expect(XenPlatformOp.size == CLayout.size("xen_platform_op"))
        #expect(XenpfPCPUInfo.size == CLayout.size("xenpf_pcpuinfo"))
        #expect(XenpfCPUOl.size == CLayout.size("xenpf_cpu_ol"))
    }

    @Test(arguments: fields) func field(_ f: FieldSpec) { expectField(f) }

    static let constants: [ConstSpec] = [
        ConstSpec("XENPF_INTERFACE_VERSION", xenpfInterfaceVersion),
        ConstSpec("XEN_PCPU_FLAGS_ONLINE", XenpfPCPUInfo.flagOnline),
        ConstSpec("XEN_PCPU_FLAGS_INVALID", XenpfPCPUInfo.flagInvalid),
        ConstSpec("VIRQ_PCPU_STATE", VIRQ.pcpuState.rawValue),
    ]
    @Test(arguments: constants) func constant(_ c: ConstSpec) { expectConstant(c) }

    static let cNames: [PlatformOpCmd: String] = [
        .settime32: "settime32", .settime64: "settime64", .addMemtype: "add_memtype",
        .delMemtype: "del_memtype", .readMemtype: "read_memtype", .microcodeUpdate: "microcode_update",
        .platformQuirk: "platform_quirk", .efiRuntimeCall: "efi_runtime_call",
        .firmwareInfo: "firmware_info", .enterACPISleep: "enter_acpi_sleep", .changeFreq: "change_freq",
        .getIdleTime: "getidletime", .setProcessorPMInfo: "set_processor_pminfo",
        .getCPUInfo: "get_cpuinfo", .getCPUVersion: "get_cpu_version", .cpuOnline: "cpu_online",
        .cpuOffline: "cpu_offline", .cpuHotadd: "cpu_hotadd", .memHotadd: "mem_hotadd",
        .coreParking: "core_parking", .resourceOp: "resource_op", .getSymbol: "get_symbol",
    ]

    @Test func everyCommandHasACName() {
        #expect(Set(Self.cNames.keys) == Set(PlatformOpCmd.allCases))
    }

    @Test(arguments: PlatformOpCmd.allCases)
    func commandMatchesC(_ cmd: PlatformOpCmd) throws {
        let name = try #require(Self.cNames[cmd])
        expectConstant(ConstSpec("XENPF_\(name)", cmd.rawValue))
    }

    @Test func opEncodesAtCOffsets() {
        let info = XenpfPCPUInfo(xenCPUID: PCPUID(7), maxPresent: PCPUID(255), flags: 1,
                                 apicID: 0x1_0003, acpiID: 0x42)
        let op = XenPlatformOp(cmd: PlatformOpCmd.getCPUInfo.rawValue, u: info.bytes)
        let c = cStructBytes("xen_platform_op", [
            ("cmd", 55), ("interface_version", 0x0300_0001),
            ("u.pcpu_info.xen_cpuid", 7), ("u.pcpu_info.max_present", 255), ("u.pcpu_info.flags", 1),
            ("u.pcpu_info.apic_id", 0x1_0003), ("u.pcpu_info.acpi_id", 0x42),
        ])
        #expect(op.bytes == c)
        #expect(XenPlatformOp(bytes: c) == op)
        #expect(XenPlatformOp(bytes: c).payload(XenpfPCPUInfo.self) == info)
    }

    @Test func pcpuInfoAndCPUOlRoundTrip() {
        let c = cStructBytes("xenpf_pcpuinfo", [("xen_cpuid", 3), ("max_present", 9), ("flags", 2),
                                                ("apic_id", 0xFFFF_FFFF), ("acpi_id", 17)])
        let info = XenpfPCPUInfo(bytes: c)
        #expect(info == XenpfPCPUInfo(xenCPUID: PCPUID(3), maxPresent: PCPUID(9), flags: 2,
                                      apicID: 0xFFFF_FFFF, acpiID: 17))
        #expect(info.bytes == c)
        let ol = cStructBytes("xenpf_cpu_ol", [("cpuid", 0xDEAD_BEEF)])
        #expect(XenpfCPUOl(bytes: ol) == XenpfCPUOl(cpuid: PCPUID(0xDEAD_BEEF)))
        #expect(XenpfCPUOl(cpuid: PCPUID(0xDEAD_BEEF)).bytes == ol)
    }

    @Test func unionIsPaddedAndTruncatedTo128Bytes() {
        #expect(XenPlatformOp(cmd: 1).u.count == XenPlatformOp.unionSize)
        let long = XenPlatformOp(cmd: 1, u: [UInt8](repeating: 0xAB, count: 300))
        #expect(long.u.count == XenPlatformOp.unionSize)
        #expect(long.bytes.count == XenPlatformOp.size)
    }
}
