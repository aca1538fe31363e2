// test=pcpu mode=self-offline and mode=unpriv (see TestPCPU.swift): Xen's answers to the
// XENPF commands, from a privileged and from an unprivileged guest.

enum TestPCPUChecks {
    static func selfOffline(_ t: inout TestContext) {
        guard let cpu = TestRunner.parameter(&t, "cpu", default: 1, range: 1...0xFFFF_FFFE) else { return }
        t.expectRC("bind VIRQ_TIMER on vCPU 0", Timer.bindVirq(cpu: 0), 0)
        do { try PCPU.start() } catch { return t.expectRC("pcpu start (bind VIRQ_PCPU_STATE, enumerate)", -error.errno, 0) }
        TestPCPU.printList()
        TestPCPU.checkList(&t)
        errnos(&t)
        guard t.ok else { return }
        let target = PCPUIndex(UInt32(cpu))
        let before = PCPU.generation

        let rc = TestPCPU.errnoOf { () throws(PCPUError) in try PCPU.offline(target) }
        out.s("pcpu self-offline cpu=").dec(cpu).s(" rc=").rc(rc).end()
        t.expectRC("XENPF_cpu_offline of our pCPU", rc, 0)
        guard t.ok else { return }
        // Our own request comes back as VIRQ_PCPU_STATE, like anyone else's.
        t.expect("VIRQ_PCPU_STATE after our own offline", PCPU.waitForChange(until: Clock.now() + 5 * nsPerSec),
                 expected: "an event within 5 s", got: 0)
        guard t.ok else { return }
        do { try PCPU.sync() } catch { return t.expectRC("resync", -error.errno, 0) }
        t.expectEqual("resyncs", PCPU.generation, before + 1)
        do {
            let c = try PCPU.info(target)
            t.expect("our list shows the pCPU offline", !c.online, expected: "offline", got: 1)
        } catch {
            t.expectRC("info(offlined pCPU)", -error.errno, 0)
        }
        t.expectRC("XENPF_cpu_offline again (already offline)", TestPCPU.errnoOf { () throws(PCPUError) in try PCPU.offline(target) }, 0)
        if PCPU.counts.online == 1 {
            // pCPU 0 is now the last online one: CPU 0 is refused first, as Xen does.
            t.expectRC("XENPF_cpu_offline of the last online pCPU (0)",
                       TestPCPU.errnoOf { () throws(PCPUError) in try PCPU.offline(PCPUIndex(0)) }, -XenErrno.EOPNOTSUPP)
        }
        TestPCPU.printList()
        guard t.ok else { return }
        out.s("pcpu self-offline done").end()
        TestPCPU.watch(&t, quiet: false)
    }

    /// Xen's errnos for requests that change nothing.
    private static func errnos(_ t: inout TestContext) {
        let past = PCPU.maxPresent + 1
        t.expectRC("XENPF_cpu_offline(0)", TestPCPU.errnoOf { () throws(PCPUError) in try PCPU.offline(PCPUIndex(0)) }, -XenErrno.EOPNOTSUPP)
        t.expectRC("XENPF_cpu_offline(max_present + 1)", TestPCPU.errnoOf { () throws(PCPUError) in try PCPU.offline(PCPUIndex(past)) },
                   -XenErrno.EINVAL)
        t.expectRC("XENPF_cpu_offline(~0)", TestPCPU.errnoOf { () throws(PCPUError) in try PCPU.offline(PCPUIndex(0xFFFF_FFFF)) },
                   -XenErrno.EINVAL)
        t.expectRC("XENPF_cpu_online(max_present + 1)", TestPCPU.errnoOf { () throws(PCPUError) in try PCPU.online(PCPUIndex(past)) },
                   -XenErrno.EINVAL)
        t.expectRC("XENPF_cpu_online(0), already online", TestPCPU.errnoOf { () throws(PCPUError) in try PCPU.online(PCPUIndex(0)) }, 0)

        let (rc, info) = PlatformOp.getCPUInfo(past, apicSeed: 0x1234, acpiSeed: 0x5678)
        t.expectRC("XENPF_get_cpuinfo(max_present + 1)", rc, 0)
        t.expectEqual("flags of a CPU that is not present", UInt64(info.flags), UInt64(XEN_PCPU_FLAGS_INVALID))
        t.expectEqual("apic_id kept for an INVALID entry", UInt64(info.apic_id), 0x1234)
        t.expectEqual("acpi_id kept for an INVALID entry", UInt64(info.acpi_id), 0x5678)
        t.expectEqual("max_present", UInt64(info.max_present), UInt64(PCPU.maxPresent))

        var bad = PlatformOp.make(UInt32(XENPF_get_cpuinfo), version: PlatformOp.interfaceVersion &+ 1)
        t.expectRC("platform_op with a wrong interface_version", PlatformOp.call(&bad), -Int64(XEN_EACCES.rawValue))
        var unknown = PlatformOp.make(250)
        t.expectRC("platform_op with an unknown command", PlatformOp.call(&unknown), -XenErrno.ENOSYS)
    }

    /// Every XENPF command is -EPERM for a guest that is not privileged, reads included; the
    /// version is checked before the privilege (-EACCES); the driver returns the error and
    /// is left unbound.
    static func unprivileged(_ t: inout TestContext) {
        var cmd: UInt32 = 0
        while cmd < 256 && t.ok {
            var op = PlatformOp.make(cmd)
            op.u.cpu_ol.cpuid = 1
            let rc = PlatformOp.call(&op)
            if rc != -XenErrno.EPERM { out.s("pcpu unpriv: XENPF command ").dec(UInt64(cmd)).s(" rc=").rc(rc).end() }
            t.expectRC("platform_op from an unprivileged guest", rc, -XenErrno.EPERM)
            cmd += 1
        }
        var bad = PlatformOp.make(UInt32(XENPF_get_cpuinfo), version: 0)
        t.expectRC("platform_op with interface_version 0", PlatformOp.call(&bad), -Int64(XEN_EACCES.rawValue))
        t.expectRC("XENPF_get_cpuinfo(0)", PlatformOp.getCPUInfo(0).rc, -XenErrno.EPERM)
        t.expectRC("pcpu start", TestPCPU.errnoOf { () throws(PCPUError) in try PCPU.start() }, -XenErrno.EPERM)
        t.expect("VIRQ_PCPU_STATE unbound after a failed start", PCPU.port == nil, expected: "no port", got: 1)
        t.expectRC("info(0) with no list", TestPCPU.errnoOf { () throws(PCPUError) in _ = try PCPU.info(PCPUIndex(0)) },
                   -Int64(XEN_ENODEV.rawValue))
        t.expectRC("index(apic: 0) with no list", TestPCPU.errnoOf { () throws(PCPUError) in _ = try PCPU.index(apic: APICID(0)) },
                   -Int64(XEN_ENODEV.rawValue))
        t.expectRC("XENPF_cpu_offline(1)", TestPCPU.errnoOf { () throws(PCPUError) in try PCPU.offline(PCPUIndex(1)) }, -XenErrno.EPERM)
        t.expectRC("XENPF_cpu_online(1)", TestPCPU.errnoOf { () throws(PCPUError) in try PCPU.online(PCPUIndex(1)) }, -XenErrno.EPERM)
        if t.ok { out.s("pcpu unpriv: 256 commands -EPERM").end() }
    }
}
