import GuestMemory
@testable import Hypervisor
import Testing
import XenABI

@Suite("platform_op: XENPF_get_cpuinfo, cpu_online, cpu_offline")
struct PlatformOpTests {
    /// Six possible CPUs: 4 not present, 5 offline in the host, 3 taken offline by Petrel.
    static func world() throws -> PCPUWorld {
        let w = PCPUWorld([
            hostCPU(0, apic: 0x10, acpi: 4), hostCPU(1, apic: 0x11, acpi: 5), hostCPU(2, apic: 0x20, acpi: nil),
            hostCPU(3, apic: 0x21, acpi: 7), hostCPU(4, present: false, online: false),
            hostCPU(5, apic: nil, acpi: nil, online: false),
        ])
        try w.table.offline(PCPUID(3))
        return w
    }

    static func info(_ cpu: UInt32, apic: UInt32 = 0xAAAA, acpi: UInt32 = 0xBBBB) -> XenPlatformOp {
        XenPlatformOp(cmd: PlatformOpCmd.getCPUInfo.rawValue,
                      u: XenpfPCPUInfo(xenCPUID: PCPUID(cpu), maxPresent: PCPUID(0xCCCC), flags: 0xDDDD,
                                       apicID: apic, acpiID: acpi).bytes)
    }

    static func ol(_ cmd: PlatformOpCmd, _ cpu: UInt32) -> XenPlatformOp {
        XenPlatformOp(cmd: cmd.rawValue, u: XenpfCPUOl(cpuid: PCPUID(cpu)).bytes)
    }

    @Test func getCPUInfoReportsIdsFlagsAndMaxPresent() throws {
        let w = try Self.world()
        let (d, _) = try w.domain(privileged: true)
        func get(_ cpu: UInt32) -> XenpfPCPUInfo? {
            let (rc, out) = w.platformOp(d, Self.info(cpu))
            #expect(rc == 0)
            return rc == 0 ? out.payload(XenpfPCPUInfo.self) : nil
        }
        // Online, with both ids.
        #expect(get(1) == XenpfPCPUInfo(xenCPUID: PCPUID(1), maxPresent: PCPUID(5), flags: 1, apicID: 0x11, acpiID: 5))
        // Unknown ACPI id: Xen's INVALID_ACPIID.
        #expect(get(2) == XenpfPCPUInfo(xenCPUID: PCPUID(2), maxPresent: PCPUID(5), flags: 1, apicID: 0x20,
                                        acpiID: 0xFFFF_FFFF))
        // Taken offline by Petrel: present, flags 0.
        #expect(get(3) == XenpfPCPUInfo(xenCPUID: PCPUID(3), maxPresent: PCPUID(5), flags: 0, apicID: 0x21, acpiID: 7))
        // Offline in the host, never seen online: ids unknown.
        #expect(get(5) == XenpfPCPUInfo(xenCPUID: PCPUID(5), maxPresent: PCPUID(5), flags: 0, apicID: 0xFFFF_FFFF,
                                        acpiID: 0xFFFF_FFFF))
        // Not present, or past every CPU: INVALID, and the caller's ids are left alone.
        for cpu: UInt32 in [4, 6, 4096, .max] {
            #expect(get(cpu) == XenpfPCPUInfo(xenCPUID: PCPUID(cpu), maxPresent: PCPUID(5), flags: 2,
                                              apicID: 0xAAAA, acpiID: 0xBBBB))
        }
    }

    @Test func getCPUInfoWritesOnlyItsUnionMember() throws {
        let w = try Self.world()
        let (d, _) = try w.domain(privileged: true)
        var op = Self.info(0)
        for i in XenpfPCPUInfo.size..<XenPlatformOp.unionSize { op.u[i] = 0x5A }
        let (rc, out) = w.platformOp(d, op)
        #expect(rc == 0)
        #expect(out.cmd == op.cmd && out.interfaceVersion == op.interfaceVersion)
        #expect(out.u[XenpfPCPUInfo.size...].allSatisfy { $0 == 0x5A })
        #expect(out.payload(XenpfPCPUInfo.self).flags == XenpfPCPUInfo.flagOnline)
    }

    @Test func onlineAndOfflineThroughTheHypercall() throws {
        let w = try Self.world()
        let (d, m) = try w.domain(privileged: true)
        _ = w.takeEvents()
        #expect(m.affinity(0) == [0, 1, 2])
        #expect(w.platformOp(d, Self.ol(.cpuOffline, 1)).rc == 0)
        #expect(m.affinity(0) == [0, 2])
        #expect(w.platformOp(d, Self.ol(.cpuOffline, 1)).rc == 0)
        #expect(w.platformOp(d, Self.ol(.cpuOnline, 3)).rc == 0)
        #expect(m.affinity(0) == [0, 2, 3])
        #expect(w.platformOp(d, Self.ol(.cpuOnline, 1)).rc == 0)
        #expect(m.affinity(0) == [0, 1, 2, 3])
        #expect(w.platformOp(d, Self.ol(.cpuOffline, 0)).rc == errno(.EOPNOTSUPP))
        #expect(w.platformOp(d, Self.ol(.cpuOffline, 4)).rc == errno(.EINVAL))
        #expect(w.platformOp(d, Self.ol(.cpuOffline, 0xFFFF_FFFF)).rc == errno(.EINVAL))
        #expect(w.platformOp(d, Self.ol(.cpuOnline, 4)).rc == errno(.EINVAL))
        #expect(w.platformOp(d, Self.ol(.cpuOnline, 5)).rc == errno(.EIO))
        #expect(w.takeEvents() == [.offline(PCPUID(1)), .online(PCPUID(3)), .online(PCPUID(1))])
    }

    static let everyCommand: [UInt32] = PlatformOpCmd.allCases.map(\.rawValue) + [0, 1, 64, 0xFFFF_FFFF]

    @Test(arguments: everyCommand)
    func unprivilegedCallersGetEPERMForEveryCommand(_ cmd: UInt32) throws {
        let w = try Self.world()
        let (d, m) = try w.domain(privileged: false)
        let before = w.table.all
        var op = XenPlatformOp(cmd: cmd, u: XenpfCPUOl(cpuid: PCPUID(1)).bytes)
        let (rc, out) = w.platformOp(d, op)
        #expect(rc == errno(.EPERM))
        #expect(out == op)
        #expect(w.table.all == before)
        #expect(m.affinity(0) == [0, 1, 2])
        // Xen checks the interface version before privilege (do_platform_op).
        op.interfaceVersion = 0x0300_0000
        #expect(w.platformOp(d, op).rc == errno(.EACCES))
    }

    @Test(arguments: [UInt32(0), 0x0300_0000, 0x0300_0002, 0x0400_0001, 0xFFFF_FFFF])
    func aWrongInterfaceVersionIsEACCES(_ version: UInt32) throws {
        let w = try Self.world()
        let (d, _) = try w.domain(privileged: true)
        var op = Self.ol(.cpuOffline, 1)
        op.interfaceVersion = version
        #expect(w.platformOp(d, op).rc == errno(.EACCES))
        #expect(w.table.cpu(PCPUID(1))?.isOnline == true)
        var info = Self.info(1)
        info.interfaceVersion = version
        let (rc, out) = w.platformOp(d, info)
        #expect(rc == errno(.EACCES))
        #expect(out == info)
    }

    @Test func unknownCommandsAreENOSYS() throws {
        let w = try Self.world()
        let (d, _) = try w.domain(privileged: true)
        for cmd: UInt32 in [0, 1, 64, 1000, 0xFFFF_FFFF, PlatformOpCmd.settime64.rawValue,
                            PlatformOpCmd.cpuHotadd.rawValue, PlatformOpCmd.getCPUVersion.rawValue] {
            #expect(w.platformOp(d, XenPlatformOp(cmd: cmd)).rc == errno(.ENOSYS))
        }
    }

    @Test func aBadPointerIsEFAULT() throws {
        let w = try Self.world()
        let (priv, _) = try w.domain(privileged: true)
        let (unpriv, _) = try w.domain(privileged: false)
        #expect(w.platformOp(priv, Self.info(1), at: GVA(0x7FFF_FFFF_F000)).rc == errno(.EFAULT))
        #expect(w.platformOp(unpriv, Self.info(1), at: GVA(0x7FFF_FFFF_F000)).rc == errno(.EFAULT))
        // The struct straddling the end of RAM: the copy in faults, nothing happens.
        let edge = GVA((4 << 20) - 100)
        #expect(w.platformOp(priv, Self.ol(.cpuOffline, 1), at: edge).rc == errno(.EFAULT))
        #expect(w.table.cpu(PCPUID(1))?.isOnline == true)
    }

    @Test func userModeCallersAreRefusedFirst() throws {
        let w = try Self.world()
        let (d, _) = try w.domain(privileged: true)
        let mem = GuestVirtualMemory(physical: d.memory, translator: IdentityTranslator())
        try mem.copyOut(Self.ol(.cpuOffline, 1).bytes, to: GVA(0x10_0000))
        let ctx = HypercallContext(vcpu: d.vcpus[0], memory: mem, privilegeLevel: 3)
        let rc = Int64(bitPattern: w.hypervisor.dispatch(HypercallArgs(number: 7, 0x10_0000), context: ctx))
        #expect(rc == errno(.EPERM))
        #expect(w.table.cpu(PCPUID(1))?.isOnline == true)
    }
}
