import CXenLayout
import Testing
@testable import XenABI

// Every numeric constant XenABI declares, against the C macro of the same meaning.

@Suite("Hypercall numbers (__HYPERVISOR_*)")
struct HypercallNumberTests {
    static let cNames: [HypercallNumber: String] = [
        .setTrapTable: "set_trap_table", .mmuUpdate: "mmu_update", .setGDT: "set_gdt",
        .stackSwitch: "stack_switch", .setCallbacks: "set_callbacks",
        .fpuTaskswitch: "fpu_taskswitch", .schedOpCompat: "sched_op_compat",
        .platformOp: "platform_op", .setDebugreg: "set_debugreg", .getDebugreg: "get_debugreg",
        .updateDescriptor: "update_descriptor", .memoryOp: "memory_op", .multicall: "multicall",
        .updateVAMapping: "update_va_mapping", .setTimerOp: "set_timer_op",
        .eventChannelOpCompat: "event_channel_op_compat", .xenVersion: "xen_version",
        .consoleIO: "console_io", .physdevOpCompat: "physdev_op_compat",
        .grantTableOp: "grant_table_op", .vmAssist: "vm_assist",
        .updateVAMappingOtherdomain: "update_va_mapping_otherdomain", .iret: "iret",
        .vcpuOp: "vcpu_op", .setSegmentBase: "set_segment_base", .mmuextOp: "mmuext_op",
        .xsmOp: "xsm_op", .nmiOp: "nmi_op", .schedOp: "sched_op", .callbackOp: "callback_op",
        .xenoprofOp: "xenoprof_op", .eventChannelOp: "event_channel_op",
        .physdevOp: "physdev_op", .hvmOp: "hvm_op", .sysctl: "sysctl", .domctl: "domctl",
        .kexecOp: "kexec_op", .tmemOp: "tmem_op", .argoOp: "argo_op", .xenpmuOp: "xenpmu_op",
        .dmOp: "dm_op", .hypfsOp: "hypfs_op",
    ]

    @Test func everyCaseHasACName() {
        #expect(Set(Self.cNames.keys) == Set(HypercallNumber.allCases))
    }

    @Test(arguments: HypercallNumber.allCases)
    func matchesC(_ n: HypercallNumber) throws {
        let name = try #require(Self.cNames[n])
        expectConstant(ConstSpec("__HYPERVISOR_\(name)", n.rawValue))
    }

    @Test func numbersAreDistinct() {
        #expect(Set(HypercallNumber.allCases.map(\.rawValue)).count == HypercallNumber.allCases.count)
    }

    @Test func hypercallPageSlots() {
        #expect(hypercallSlotSize * hypercallSlotCount == Int(xenPageSize))
        // Every hypercall number has a slot in the one page.
        #expect(HypercallNumber.allCases.allSatisfy { $0.rawValue < UInt64(hypercallSlotCount) })
    }
}

@Suite("Sub-op numbers")
struct SubOpConstantTests {
    static let specs: [ConstSpec] = [
        // xen_version
        ConstSpec("XENVER_version", XenVersionCmd.version.rawValue),
        ConstSpec("XENVER_extraversion", XenVersionCmd.extraversion.rawValue),
        ConstSpec("XENVER_compile_info", XenVersionCmd.compileInfo.rawValue),
        ConstSpec("XENVER_capabilities", XenVersionCmd.capabilities.rawValue),
        ConstSpec("XENVER_changeset", XenVersionCmd.changeset.rawValue),
        ConstSpec("XENVER_platform_parameters", XenVersionCmd.platformParameters.rawValue),
        ConstSpec("XENVER_get_features", XenVersionCmd.getFeatures.rawValue),
        ConstSpec("XENVER_pagesize", XenVersionCmd.pagesize.rawValue),
        ConstSpec("XENVER_guest_handle", XenVersionCmd.guestHandle.rawValue),
        ConstSpec("XENVER_commandline", XenVersionCmd.commandline.rawValue),
        ConstSpec("XENVER_build_id", XenVersionCmd.buildID.rawValue),
        ConstSpec("XEN_EXTRAVERSION_LEN", xenExtraversionLength),
        ConstSpec("XEN_CAPABILITIES_INFO_LEN", xenCapabilitiesLength),
        ConstSpec("XEN_CHANGESET_INFO_LEN", xenChangesetLength),
        // hvm_op
        ConstSpec("HVMOP_set_param", HVMOpCmd.setParam.rawValue),
        ConstSpec("HVMOP_get_param", HVMOpCmd.getParam.rawValue),
        // memory_op
        ConstSpec("XENMEM_increase_reservation", MemoryOpCmd.increaseReservation.rawValue),
        ConstSpec("XENMEM_decrease_reservation", MemoryOpCmd.decreaseReservation.rawValue),
        ConstSpec("XENMEM_maximum_ram_page", MemoryOpCmd.maximumRAMPage.rawValue),
        ConstSpec("XENMEM_current_reservation", MemoryOpCmd.currentReservation.rawValue),
        ConstSpec("XENMEM_maximum_reservation", MemoryOpCmd.maximumReservation.rawValue),
        ConstSpec("XENMEM_populate_physmap", MemoryOpCmd.populatePhysmap.rawValue),
        ConstSpec("XENMEM_add_to_physmap", MemoryOpCmd.addToPhysmap.rawValue),
        ConstSpec("XENMEM_memory_map", MemoryOpCmd.memoryMap.rawValue),
        ConstSpec("XENMEM_machine_memory_map", MemoryOpCmd.machineMemoryMap.rawValue),
        ConstSpec("XENMEM_maximum_gpfn", MemoryOpCmd.maximumGPFN.rawValue),
        ConstSpec("XENMEM_remove_from_physmap", MemoryOpCmd.removeFromPhysmap.rawValue),
        ConstSpec("XENMEM_add_to_physmap_batch", MemoryOpCmd.addToPhysmapBatch.rawValue),
        ConstSpec("XENMAPSPACE_shared_info", MapSpace.sharedInfo.rawValue),
        ConstSpec("XENMAPSPACE_grant_table", MapSpace.grantTable.rawValue),
        ConstSpec("XENMAPSPACE_gmfn", MapSpace.gmfn.rawValue),
        ConstSpec("XENMAPSPACE_gmfn_range", MapSpace.gmfnRange.rawValue),
        ConstSpec("XENMAPSPACE_gmfn_foreign", MapSpace.gmfnForeign.rawValue),
        ConstSpec("XENMAPSPACE_dev_mmio", MapSpace.devMMIO.rawValue),
        ConstSpec("XENMAPIDX_grant_table_status", xenMapIdxGrantTableStatus),
        // sched_op
        ConstSpec("SCHEDOP_yield", SchedOpCmd.yield.rawValue),
        ConstSpec("SCHEDOP_block", SchedOpCmd.block.rawValue),
        ConstSpec("SCHEDOP_shutdown", SchedOpCmd.shutdown.rawValue),
        ConstSpec("SCHEDOP_poll", SchedOpCmd.poll.rawValue),
        ConstSpec("SCHEDOP_remote_shutdown", SchedOpCmd.remoteShutdown.rawValue),
        ConstSpec("SCHEDOP_shutdown_code", SchedOpCmd.shutdownCode.rawValue),
        ConstSpec("SCHEDOP_watchdog", SchedOpCmd.watchdog.rawValue),
        ConstSpec("SCHEDOP_pin_override", SchedOpCmd.pinOverride.rawValue),
        ConstSpec("SHUTDOWN_poweroff", ShutdownReason.poweroff.rawValue),
        ConstSpec("SHUTDOWN_reboot", ShutdownReason.reboot.rawValue),
        ConstSpec("SHUTDOWN_suspend", ShutdownReason.suspend.rawValue),
        ConstSpec("SHUTDOWN_crash", ShutdownReason.crash.rawValue),
        ConstSpec("SHUTDOWN_watchdog", ShutdownReason.watchdog.rawValue),
        ConstSpec("SHUTDOWN_soft_reset", ShutdownReason.softReset.rawValue),
        ConstSpec("SHUTDOWN_MAX", ShutdownReason.softReset.rawValue),
        // console_io
        ConstSpec("CONSOLEIO_write", ConsoleIOCmd.write.rawValue),
        ConstSpec("CONSOLEIO_read", ConsoleIOCmd.read.rawValue),
        // event_channel_op (EVTCHNOP_reset_cont: see below)
        ConstSpec("EVTCHNOP_bind_interdomain", EvtchnOpCmd.bindInterdomain.rawValue),
        ConstSpec("EVTCHNOP_bind_virq", EvtchnOpCmd.bindVirq.rawValue),
        ConstSpec("EVTCHNOP_bind_pirq", EvtchnOpCmd.bindPirq.rawValue),
        ConstSpec("EVTCHNOP_close", EvtchnOpCmd.close.rawValue),
        ConstSpec("EVTCHNOP_send", EvtchnOpCmd.send.rawValue),
        ConstSpec("EVTCHNOP_status", EvtchnOpCmd.status.rawValue),
        ConstSpec("EVTCHNOP_alloc_unbound", EvtchnOpCmd.allocUnbound.rawValue),
        ConstSpec("EVTCHNOP_bind_ipi", EvtchnOpCmd.bindIPI.rawValue),
        ConstSpec("EVTCHNOP_bind_vcpu", EvtchnOpCmd.bindVCPU.rawValue),
        ConstSpec("EVTCHNOP_unmask", EvtchnOpCmd.unmask.rawValue),
        ConstSpec("EVTCHNOP_reset", EvtchnOpCmd.reset.rawValue),
        ConstSpec("EVTCHNOP_init_control", EvtchnOpCmd.initControl.rawValue),
        ConstSpec("EVTCHNOP_expand_array", EvtchnOpCmd.expandArray.rawValue),
        ConstSpec("EVTCHNOP_set_priority", EvtchnOpCmd.setPriority.rawValue),
    ]

    @Test(arguments: specs) func matchesC(_ spec: ConstSpec) { expectConstant(spec) }

    @Test func hiddenFromGuestHeaders() {
        // event_channel.h defines EVTCHNOP_reset_cont 14 only under __XEN__; Xen's
        // do_event_channel_op still accepts it from guests (the continuation of a reset).
        #expect(EvtchnOpCmd.resetCont.rawValue == 14)
        // MEMOP_EXTENT_SHIFT is 6 in xen/include/xen/hypercall.h (not a public header):
        // a memory_op cmd carries its restart extent above bit 6.
        #expect(memopCmdMask == (1 << 6) - 1)
        // Each MemoryOpCmd fits below the extent bits.
        for cmd: MemoryOpCmd in [.increaseReservation, .addToPhysmapBatch, .removeFromPhysmap] {
            #expect(cmd.rawValue & ~memopCmdMask == 0)
        }
    }

    @Test func shutdownReasonDescriptions() {
        #expect(ShutdownReason.poweroff.description == "poweroff")
        #expect(ShutdownReason.softReset.description == "soft_reset")
        #expect(ShutdownReason(rawValue: 6) == nil)
    }
}

@Suite("HVM params (HVM_PARAM_*)")
struct HVMParamConstantTests {
    static let specs: [ConstSpec] = [
        ConstSpec("HVM_PARAM_CALLBACK_IRQ", HVMParam.callbackIRQ),
        ConstSpec("HVM_PARAM_STORE_PFN", HVMParam.storePFN),
        ConstSpec("HVM_PARAM_STORE_EVTCHN", HVMParam.storeEvtchn),
        ConstSpec("HVM_PARAM_PAE_ENABLED", HVMParam.paeEnabled),
        ConstSpec("HVM_PARAM_IOREQ_PFN", HVMParam.ioreqPFN),
        ConstSpec("HVM_PARAM_BUFIOREQ_PFN", HVMParam.bufioreqPFN),
        ConstSpec("HVM_PARAM_TIMER_MODE", HVMParam.timerMode),
        ConstSpec("HVM_PARAM_HPET_ENABLED", HVMParam.hpetEnabled),
        ConstSpec("HVM_PARAM_IDENT_PT", HVMParam.identityPT),
        ConstSpec("HVM_PARAM_DM_DOMAIN", HVMParam.dmDomain),
        ConstSpec("HVM_PARAM_ACPI_S_STATE", HVMParam.acpiSState),
        ConstSpec("HVM_PARAM_VM86_TSS", HVMParam.vm86TSS),
        ConstSpec("HVM_PARAM_VPT_ALIGN", HVMParam.vpt_align),
        ConstSpec("HVM_PARAM_CONSOLE_PFN", HVMParam.consolePFN),
        ConstSpec("HVM_PARAM_CONSOLE_EVTCHN", HVMParam.consoleEvtchn),
        ConstSpec("HVM_PARAM_ACPI_IOPORTS_LOCATION", HVMParam.acpiIOPortsLocation),
        ConstSpec("HVM_PARAM_MEMORY_EVENT_CR0", HVMParam.memoryEventCR0),
        ConstSpec("HVM_PARAM_MEMORY_EVENT_CR3", HVMParam.memoryEventCR3),
        ConstSpec("HVM_PARAM_MEMORY_EVENT_CR4", HVMParam.memoryEventCR4),
        ConstSpec("HVM_PARAM_MEMORY_EVENT_INT3", HVMParam.memoryEventINT3),
        ConstSpec("HVM_PARAM_NESTEDHVM", HVMParam.nestedHVM),
        ConstSpec("HVM_PARAM_MEMORY_EVENT_SINGLE_STEP", HVMParam.memoryEventSingleStep),
        ConstSpec("HVM_PARAM_BUFIOREQ_EVTCHN", HVMParam.bufioreqEvtchn),
        ConstSpec("HVM_PARAM_PAGING_RING_PFN", HVMParam.pagingRingPFN),
        ConstSpec("HVM_PARAM_MONITOR_RING_PFN", HVMParam.monitorRingPFN),
        ConstSpec("HVM_PARAM_SHARING_RING_PFN", HVMParam.sharingRingPFN),
        ConstSpec("HVM_PARAM_MEMORY_EVENT_MSR", HVMParam.memoryEventMSR),
        ConstSpec("HVM_PARAM_TRIPLE_FAULT_REASON", HVMParam.triplFaultReason),
        ConstSpec("HVM_PARAM_IOREQ_SERVER_PFN", HVMParam.ioreqServerPFN),
        ConstSpec("HVM_PARAM_NR_IOREQ_SERVER_PAGES", HVMParam.nrIoreqServerPages),
        ConstSpec("HVM_PARAM_VM_GENERATION_ID_ADDR", HVMParam.vmGenerationIDAddr),
        ConstSpec("HVM_PARAM_ALTP2M", HVMParam.altp2m),
        ConstSpec("HVM_PARAM_X87_FIP_WIDTH", HVMParam.x87FIPWidth),
        ConstSpec("HVM_PARAM_VM86_TSS_SIZED", HVMParam.vm86TSSSized),
        ConstSpec("HVM_PARAM_MCA_CAP", HVMParam.mcaCap),
        ConstSpec("HVM_NR_PARAMS", HVMParam.count),
        ConstSpec("HVM_PARAM_CALLBACK_TYPE_GSI", HVMParam.callbackTypeGSI),
        ConstSpec("HVM_PARAM_CALLBACK_TYPE_PCI_INTX", HVMParam.callbackTypePCIIntx),
        ConstSpec("HVM_PARAM_CALLBACK_TYPE_VECTOR", HVMParam.callbackTypeVector),
        ConstSpec("HVM_PARAM_CALLBACK_IRQ_TYPE_MASK", UInt64(0xFF) << HVMParam.callbackTypeShift),
    ]

    @Test(arguments: specs) func matchesC(_ spec: ConstSpec) { expectConstant(spec) }

    @Test func armCallbackTypePPI() {
        // Only defined when params.h is compiled for Arm; CXenLayout compiles it that way.
        #expect(Int64(HVMParam.callbackTypePPI) == cxl_arm_callback_type_ppi())
    }

    @Test func everyParamIsBelowTheCount() {
        for spec in Self.specs where spec.cName.hasPrefix("HVM_PARAM_") && !spec.cName.contains("CALLBACK_") {
            #expect(spec.swift < Int64(HVMParam.count), "\(spec.cName)")
        }
    }
}

@Suite("Features, CPUID, domain ids, PVH magic")
struct MiscConstantTests {
    static let specs: [ConstSpec] = [
        ConstSpec("XENFEAT_writable_page_tables", XenFeature.writablePageTables.rawValue),
        ConstSpec("XENFEAT_writable_descriptor_tables", XenFeature.writableDescriptorTables.rawValue),
        ConstSpec("XENFEAT_auto_translated_physmap", XenFeature.autoTranslatedPhysmap.rawValue),
        ConstSpec("XENFEAT_supervisor_mode_kernel", XenFeature.supervisorModeKernel.rawValue),
        ConstSpec("XENFEAT_pae_pgdir_above_4gb", XenFeature.paePgdirAbove4gb.rawValue),
        ConstSpec("XENFEAT_mmu_pt_update_preserve_ad", XenFeature.mmuPtUpdatePreserveAD.rawValue),
        ConstSpec("XENFEAT_highmem_assist", XenFeature.highmemAssist.rawValue),
        ConstSpec("XENFEAT_gnttab_map_avail_bits", XenFeature.gnttabMapAvailBits.rawValue),
        ConstSpec("XENFEAT_hvm_callback_vector", XenFeature.hvmCallbackVector.rawValue),
        ConstSpec("XENFEAT_hvm_safe_pvclock", XenFeature.hvmSafePvclock.rawValue),
        ConstSpec("XENFEAT_hvm_pirqs", XenFeature.hvmPirqs.rawValue),
        ConstSpec("XENFEAT_dom0", XenFeature.dom0.rawValue),
        ConstSpec("XENFEAT_memory_op_vnode_supported", XenFeature.memoryOpVnodeSupported.rawValue),
        ConstSpec("XENFEAT_ARM_SMCCC_supported", XenFeature.armSMCCCSupported.rawValue),
        ConstSpec("XENFEAT_linux_rsdp_unrestricted", XenFeature.linuxRSDPUnrestricted.rawValue),
        ConstSpec("XENFEAT_not_direct_mapped", XenFeature.notDirectMapped.rawValue),
        ConstSpec("XENFEAT_direct_mapped", XenFeature.directMapped.rawValue),
        ConstSpec("XENFEAT_NR_SUBMAPS", xenFeatureSubmaps),

        ConstSpec("XEN_CPUID_FIRST_LEAF", XenCPUID.firstLeaf),
        ConstSpec("XEN_CPUID_SIGNATURE_EBX", XenCPUID.signatureEBX),
        ConstSpec("XEN_CPUID_SIGNATURE_ECX", XenCPUID.signatureECX),
        ConstSpec("XEN_CPUID_SIGNATURE_EDX", XenCPUID.signatureEDX),
        ConstSpec("XEN_CPUID_MAX_NUM_LEAVES", XenCPUID.maxLeaves),
        ConstSpec("XEN_HVM_CPUID_VCPU_ID_PRESENT", XenCPUID.hvmVCPUIDPresent),
        ConstSpec("XEN_HVM_CPUID_DOMID_PRESENT", XenCPUID.hvmDomIDPresent),

        ConstSpec("DOMID_FIRST_RESERVED", DomainID.firstReserved.raw),
        ConstSpec("DOMID_SELF", DomainID.domidSelf.raw),
        ConstSpec("DOMID_IO", DomainID.io.raw),
        ConstSpec("DOMID_XEN", DomainID.xen.raw),
        ConstSpec("DOMID_COW", DomainID.cow.raw),
        ConstSpec("DOMID_INVALID", DomainID.invalid.raw),
        ConstSpec("DOMID_IDLE", DomainID.idle.raw),

        ConstSpec("__HYPERVISOR_VIRT_START", x86HypervisorVirtStart),

        ConstSpec("XEN_HVM_START_MAGIC_VALUE", hvmStartMagic),
        ConstSpec("XEN_HVM_MEMMAP_TYPE_RAM", MemoryType.ram.rawValue),
        ConstSpec("XEN_HVM_MEMMAP_TYPE_RESERVED", MemoryType.reserved.rawValue),
        ConstSpec("XEN_HVM_MEMMAP_TYPE_ACPI", MemoryType.acpi.rawValue),
        ConstSpec("XEN_HVM_MEMMAP_TYPE_NVS", MemoryType.nvs.rawValue),
        ConstSpec("XEN_HVM_MEMMAP_TYPE_UNUSABLE", MemoryType.unusable.rawValue),
        ConstSpec("XEN_HVM_MEMMAP_TYPE_DISABLED", MemoryType.disabled.rawValue),
        ConstSpec("XEN_HVM_MEMMAP_TYPE_PMEM", MemoryType.pmem.rawValue),
    ]

    @Test(arguments: specs) func matchesC(_ spec: ConstSpec) { expectConstant(spec) }

    @Test func grantMapIdentity() {
        // features.h comments XENFEAT_grant_map_identity (12) out as deprecated; the number stays.
        #expect(XenFeature.grantMapIdentity.rawValue == 12)
    }

    @Test func featureBitsFitTheSubmaps() {
        #expect(XenFeature.directMapped.rawValue < 32 * xenFeatureSubmaps)
    }

    @Test func cpuidSignatureSpellsXenVMMXenVMM() {
        let words = [XenCPUID.signatureEBX, XenCPUID.signatureECX, XenCPUID.signatureEDX]
        let bytes = words.flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (8 * $0)) } }
        #expect(String(decoding: bytes, as: UTF8.self) == "XenVMMXenVMM")
    }

    @Test func reservedDomainIDs() {
        #expect(DomainID.domidSelf.isReserved && DomainID.idle.isReserved && DomainID.invalid.isReserved)
        #expect(!DomainID(0x7FEF).isReserved && !DomainID.control.isReserved)
    }
}
