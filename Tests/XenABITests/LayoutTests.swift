import CXenLayout
import Testing
@testable import XenABI

// Every size and offset XenABI declares, against Xen's headers compiled by C (CXenLayout), and
// every XenStruct's encoder/decoder against bytes placed at C's offsets.

@Suite("hvm_start_info (PVH boot)")
struct HVMStartInfoLayoutTests {
    static let fields: [FieldSpec] = {
        typealias O = HVMStartInfo.Offset
        return [
            FieldSpec("hvm_start_info.magic", O.magic, 4),
            FieldSpec("hvm_start_info.version", O.version, 4),
            FieldSpec("hvm_start_info.flags", O.flags, 4),
            FieldSpec("hvm_start_info.nr_modules", O.nrModules, 4),
            FieldSpec("hvm_start_info.modlist_paddr", O.modlistPaddr, 8),
            FieldSpec("hvm_start_info.cmdline_paddr", O.cmdlinePaddr, 8),
            FieldSpec("hvm_start_info.rsdp_paddr", O.rsdpPaddr, 8),
            FieldSpec("hvm_start_info.memmap_paddr", O.memmapPaddr, 8),
            FieldSpec("hvm_start_info.memmap_entries", O.memmapEntries, 4),
            FieldSpec("hvm_start_info.reserved", O.reserved, 4),
        ]
    }()

    @Test func size() { #expect(HVMStartInfo.size == CLayout.size("hvm_start_info")) }
    @Test(arguments: fields) func field(_ f: FieldSpec) { expectField(f) }

    static func sample() -> HVMStartInfo {
        var s = HVMStartInfo()
        s.flags = 0x0102_0304
        s.nrModules = 3
        s.modlistPaddr = 0x1111_2222_3333_4444
        s.cmdlinePaddr = 0x5555_6666_7777_8888
        s.rsdpPaddr = 0x0000_0000_000E_0000
        s.memmapPaddr = 0x99AA_BBCC_DDEE_FF00
        s.memmapEntries = 0xDEAD_BEEF
        return s
    }

    @Test func defaults() {
        let s = HVMStartInfo()
        #expect(s.magic == 0x336E_C578)
        #expect(s.version == 1)
    }

    @Test func encodesAtCOffsets() {
        let s = Self.sample()
        let c = cStructBytes("hvm_start_info", [
            ("magic", UInt64(s.magic)), ("version", 1), ("flags", 0x0102_0304), ("nr_modules", 3),
            ("modlist_paddr", s.modlistPaddr), ("cmdline_paddr", s.cmdlinePaddr),
            ("rsdp_paddr", s.rsdpPaddr), ("memmap_paddr", s.memmapPaddr),
            ("memmap_entries", 0xDEAD_BEEF),
        ])
        #expect(s.bytes == c)
        #expect(HVMStartInfo(bytes: c) == s)
    }

    @Test func roundTrip() {
        let s = Self.sample()
        #expect(s.bytes.count == HVMStartInfo.size)
        #expect(HVMStartInfo(bytes: s.bytes) == s)
    }

    @Test func reservedIsZeroOnEncodeAndIgnoredOnDecode() {
        var b = Self.sample().bytes
        #expect(b[HVMStartInfo.Offset.reserved..<HVMStartInfo.size].allSatisfy { $0 == 0 })
        b.setLE(UInt32.max, at: HVMStartInfo.Offset.reserved)
        #expect(HVMStartInfo(bytes: b) == Self.sample())
    }
}

@Suite("hvm_modlist_entry")
struct HVMModlistEntryLayoutTests {
    static let fields: [FieldSpec] = {
        typealias O = HVMModlistEntry.Offset
        return [
            FieldSpec("hvm_modlist_entry.paddr", O.paddr, 8),
            FieldSpec("hvm_modlist_entry.size", O.size, 8),
            FieldSpec("hvm_modlist_entry.cmdline_paddr", O.cmdlinePaddr, 8),
            FieldSpec("hvm_modlist_entry.reserved", O.reserved, 8),
        ]
    }()

    @Test func size() { #expect(HVMModlistEntry.size == CLayout.size("hvm_modlist_entry")) }
    @Test(arguments: fields) func field(_ f: FieldSpec) { expectField(f) }

    @Test func encodesAtCOffsetsAndRoundTrips() {
        let e = HVMModlistEntry(paddr: 0x0123_4567_89AB_CDEF, size: 0x10_0000, cmdlinePaddr: 0xFEDC_BA98)
        let c = cStructBytes("hvm_modlist_entry", [
            ("paddr", e.paddr), ("size", e.size), ("cmdline_paddr", e.cmdlinePaddr),
        ])
        #expect(e.bytes == c)
        #expect(HVMModlistEntry(bytes: c) == e)
        #expect(HVMModlistEntry(bytes: e.bytes) == e)
        #expect(HVMModlistEntry(paddr: 1, size: 2).cmdlinePaddr == 0)
    }
}

@Suite("hvm_memmap_table_entry")
struct HVMMemmapEntryLayoutTests {
    static let fields: [FieldSpec] = {
        typealias O = HVMMemmapEntry.Offset
        return [
            FieldSpec("hvm_memmap_table_entry.addr", O.addr, 8),
            FieldSpec("hvm_memmap_table_entry.size", O.size, 8),
            FieldSpec("hvm_memmap_table_entry.type", O.type, 4),
            FieldSpec("hvm_memmap_table_entry.reserved", O.reserved, 4),
        ]
    }()

    @Test func size() { #expect(HVMMemmapEntry.size == CLayout.size("hvm_memmap_table_entry")) }
    @Test(arguments: fields) func field(_ f: FieldSpec) { expectField(f) }

    @Test func encodesAtCOffsetsAndRoundTrips() {
        let e = HVMMemmapEntry(addr: 0x1_0000_0000, size: 0xF_FFFF_F000, type: .acpi)
        let c = cStructBytes("hvm_memmap_table_entry", [
            ("addr", e.addr), ("size", e.size), ("type", 3),
        ])
        #expect(e.bytes == c)
        #expect(HVMMemmapEntry(bytes: c) == e)
        #expect(HVMMemmapEntry(bytes: e.bytes) == e)
    }
}

/// `struct e820entry`, which XENMEM_memory_map fills, is not in the public headers. Xen defines it
/// in xen/arch/x86/include/asm/e820.h as
/// `struct __packed e820entry { uint64_t addr; uint64_t size; uint32_t type; };` — 20 bytes, packed,
/// so consecutive entries sit 20 bytes apart and `type` is not padded to 8.
@Suite("e820entry (XENMEM_memory_map)")
struct E820EntryLayoutTests {
    @Test func packedLayout() {
        #expect(E820Entry.size == 20)
        #expect(E820Entry.Offset.addr == 0)
        #expect(E820Entry.Offset.size == 8)
        #expect(E820Entry.Offset.type == 16)
    }

    @Test func bytePositionsAndRoundTrip() {
        let e = E820Entry(addr: 0x0807_0605_0403_0201, size: 0x1817_1615_1413_1211, type: 0x2423_2221)
        let addr: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]
        let size: [UInt8] = [0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18]
        let type: [UInt8] = [0x21, 0x22, 0x23, 0x24]
        #expect(e.bytes == addr + size + type)
        #expect(E820Entry(bytes: e.bytes) == e)
    }

    @Test func typesAreTheHVMMemmapTypes() {
        // Xen's E820_RAM .. E820_UNUSABLE are 1..5, as XEN_HVM_MEMMAP_TYPE_* are.
        #expect(MemoryType.ram.rawValue == 1)
        #expect(MemoryType.unusable.rawValue == 5)
    }
}

@Suite("xen_hvm_param (HVMOP_set/get_param)")
struct XenHVMParamLayoutTests {
    static let fields: [FieldSpec] = {
        typealias O = XenHVMParam.Offset
        return [
            FieldSpec("xen_hvm_param.domid", O.domid, 2),
            FieldSpec("xen_hvm_param.pad", O.pad, 2),
            FieldSpec("xen_hvm_param.index", O.index, 4),
            FieldSpec("xen_hvm_param.value", O.value, 8),
        ]
    }()

    @Test func size() { #expect(XenHVMParam.size == CLayout.size("xen_hvm_param")) }
    @Test(arguments: fields) func field(_ f: FieldSpec) { expectField(f) }

    @Test func encodesAtCOffsetsAndRoundTrips() {
        let p = XenHVMParam(domid: .domidSelf, index: HVMParam.callbackIRQ,
                            value: HVMParam.callbackTypeVector << HVMParam.callbackTypeShift | 0xF3)
        let c = cStructBytes("xen_hvm_param", [
            ("domid", 0x7FF0), ("index", 0), ("value", 0x0200_0000_0000_00F3),
        ])
        #expect(p.bytes == c)
        #expect(XenHVMParam(bytes: c) == p)
    }

    @Test func padIgnoredOnDecode() {
        var c = cStructBytes("xen_hvm_param", [("domid", 5), ("pad", 0xFFFF), ("index", 17), ("value", 9)])
        let p = XenHVMParam(bytes: c)
        #expect(p == XenHVMParam(domid: DomainID(5), index: 17, value: 9))
        c.setLE(UInt16(0), at: XenHVMParam.Offset.pad)
        #expect(p.bytes == c)
    }
}

@Suite("xen_add_to_physmap (XENMEM_add_to_physmap)")
struct XenAddToPhysmapLayoutTests {
    static let fields: [FieldSpec] = {
        typealias O = XenAddToPhysmap.Offset
        return [
            FieldSpec("xen_add_to_physmap.domid", O.domid, 2),
            FieldSpec("xen_add_to_physmap.size", O.size, 2),
            FieldSpec("xen_add_to_physmap.space", O.space, 4),
            FieldSpec("xen_add_to_physmap.idx", O.idx, 8),
            FieldSpec("xen_add_to_physmap.gpfn", O.gpfn, 8),
        ]
    }()

    @Test func size() { #expect(XenAddToPhysmap.size == CLayout.size("xen_add_to_physmap")) }
    @Test(arguments: fields) func field(_ f: FieldSpec) { expectField(f) }

    @Test func encodesAtCOffsetsAndRoundTrips() {
        let a = XenAddToPhysmap(domid: .domidSelf, count: 0xABCD, space: MapSpace.grantTable.rawValue,
                                idx: xenMapIdxGrantTableStatus | 3, gpfn: GFN(0xF_EDCB_A987))
        let c = cStructBytes("xen_add_to_physmap", [
            ("domid", 0x7FF0), ("size", 0xABCD), ("space", 1), ("idx", 0x8000_0003),
            ("gpfn", 0xF_EDCB_A987),
        ])
        #expect(a.bytes == c)
        #expect(XenAddToPhysmap(bytes: c) == a)
        #expect(XenAddToPhysmap(bytes: a.bytes) == a)
    }
}

@Suite("xen_memory_map (XENMEM_memory_map)")
struct XenMemoryMapLayoutTests {
    static let fields: [FieldSpec] = [
        FieldSpec("xen_memory_map.nr_entries", XenMemoryMap.Offset.nrEntries, 4),
        FieldSpec("xen_memory_map.buffer", XenMemoryMap.Offset.buffer, 8),
    ]

    @Test func size() { #expect(XenMemoryMap.size == CLayout.size("xen_memory_map")) }
    @Test(arguments: fields) func field(_ f: FieldSpec) { expectField(f) }

    @Test func encodesAtCOffsetsAndRoundTrips() {
        let m = XenMemoryMap(nrEntries: 128, buffer: GVA(0xFFFF_8880_0012_3000))
        let c = cStructBytes("xen_memory_map", [("nr_entries", 128), ("buffer", 0xFFFF_8880_0012_3000)])
        #expect(m.bytes == c)
        #expect(XenMemoryMap(bytes: c) == m)
    }

    @Test func paddingAfterNrEntriesIgnored() {
        var c = cStructBytes("xen_memory_map", [("nr_entries", 2), ("buffer", 0x1000)])
        c[4] = 0xEE; c[7] = 0xEE
        #expect(XenMemoryMap(bytes: c) == XenMemoryMap(nrEntries: 2, buffer: GVA(0x1000)))
    }
}

@Suite("xen_version structs")
struct VersionLayoutTests {
    static let compileFields: [FieldSpec] = {
        typealias O = XenCompileInfo.Offset
        return [
            FieldSpec("xen_compile_info.compiler", O.compiler, 64),
            FieldSpec("xen_compile_info.compile_by", O.compileBy, 16),
            FieldSpec("xen_compile_info.compile_domain", O.compileDomain, 32),
            FieldSpec("xen_compile_info.compile_date", O.compileDate, 32),
        ]
    }()

    @Test func compileInfoSize() { #expect(XenCompileInfo.size == CLayout.size("xen_compile_info")) }
    @Test(arguments: compileFields) func compileInfoField(_ f: FieldSpec) { expectField(f) }

    @Test func compileInfoEncodesEachStringInItsCField() {
        let b = XenCompileInfo.encode(compiler: "swiftc 6.3.1", by: "petrel", domain: "example.org",
                                      date: "Mon Jan 1 00:00:00 UTC 2024")
        #expect(b.count == CLayout.size("xen_compile_info"))
        for (field, text) in [("compiler", "swiftc 6.3.1"), ("compile_by", "petrel"),
                              ("compile_domain", "example.org"),
                              ("compile_date", "Mon Jan 1 00:00:00 UTC 2024")] {
            let off = CLayout.offset("xen_compile_info.\(field)")
            let len = CLayout.fieldSize("xen_compile_info.\(field)")
            #expect(b.cString(at: off, length: len) == text)
            #expect(b[(off + text.utf8.count)..<(off + len)].allSatisfy { $0 == 0 })
        }
    }

    @Test func compileInfoTruncatesWithoutSpillingIntoTheNextField() {
        let long = String(repeating: "x", count: 200)
        let b = XenCompileInfo.encode(compiler: long, by: long, domain: long, date: long)
        for f in Self.compileFields {
            #expect(b.cString(at: f.offset, length: f.width) == String(repeating: "x", count: f.width - 1))
            #expect(b[f.offset + f.width - 1] == 0, "\(f.field) must stay NUL-terminated")
        }
    }

    @Test func featureInfo() {
        #expect(XenFeatureInfo.size == CLayout.size("xen_feature_info"))
        expectField(FieldSpec("xen_feature_info.submap_idx", XenFeatureInfo.Offset.submapIdx, 4))
        expectField(FieldSpec("xen_feature_info.submap", XenFeatureInfo.Offset.submap, 4))
        let f = XenFeatureInfo(submapIdx: 0, submap: 1 << 8 | 1 << 9)
        let c = cStructBytes("xen_feature_info", [("submap_idx", 0), ("submap", 0x300)])
        #expect(f.bytes == c)
        #expect(XenFeatureInfo(bytes: c) == f)
    }

    @Test func platformParameters() {
        #expect(xenPlatformParametersSize == CLayout.size("xen_platform_parameters"))
        expectField(FieldSpec("xen_platform_parameters.virt_start", 0, xenPlatformParametersSize))
    }

    @Test func stringTypes() {
        #expect(xenExtraversionLength == CLayout.size("xen_extraversion_t"))
        #expect(xenCapabilitiesLength == CLayout.size("xen_capabilities_info_t"))
        #expect(xenChangesetLength == CLayout.size("xen_changeset_info_t"))
        #expect(xenCommandlineLength == CLayout.size("xen_commandline_t"))
        #expect(xenDomainHandleSize == CLayout.size("xen_domain_handle_t"))
    }
}

@Suite("xencons_interface (PV console ring)")
struct XenconsLayoutTests {
    static let fields: [FieldSpec] = {
        typealias O = XenconsInterface.Offset
        return [
            FieldSpec("xencons_interface.in", O.in, XenconsInterface.inSize),
            FieldSpec("xencons_interface.out", O.out, XenconsInterface.outSize),
            FieldSpec("xencons_interface.in_cons", O.inCons, 4),
            FieldSpec("xencons_interface.in_prod", O.inProd, 4),
            FieldSpec("xencons_interface.out_cons", O.outCons, 4),
            FieldSpec("xencons_interface.out_prod", O.outProd, 4),
        ]
    }()

    @Test func size() {
        #expect(XenconsInterface.size == CLayout.size("xencons_interface"))
        #expect(CLayout.size("XENCONS_RING_IDX") == 4)
        #expect(XenconsInterface.size <= Int(xenPageSize))
    }
    @Test(arguments: fields) func field(_ f: FieldSpec) { expectField(f) }

    @Test func ringSizesArePowersOfTwo() {
        // MASK_XENCONS_IDX relies on it.
        #expect(XenconsInterface.inSize.nonzeroBitCount == 1)
        #expect(XenconsInterface.outSize.nonzeroBitCount == 1)
    }
}

@Suite("shared_info, vcpu_info, vcpu_time_info (x86-64)")
struct SharedInfoLayoutTests {
    static let sharedFields: [FieldSpec] = {
        typealias O = X86SharedInfo.Offset
        return [
            FieldSpec("shared_info.vcpu_info", O.vcpuInfo, X86SharedInfo.legacyMaxVCPUs * X86VCPUInfo.size),
            FieldSpec("shared_info.evtchn_pending", O.evtchnPending, O.evtchnMask - O.evtchnPending),
            FieldSpec("shared_info.evtchn_mask", O.evtchnMask, O.wcVersion - O.evtchnMask),
            FieldSpec("shared_info.wc_version", O.wcVersion, 4),
            FieldSpec("shared_info.wc_sec", O.wcSec, 4),
            FieldSpec("shared_info.wc_nsec", O.wcNsec, 4),
            FieldSpec("shared_info.wc_sec_hi", O.wcSecHi, 4),
            FieldSpec("shared_info.arch", O.arch, X86SharedInfo.size - O.arch),
        ]
    }()

    static let vcpuFields: [FieldSpec] = {
        typealias O = X86VCPUInfo.Offset
        return [
            FieldSpec("vcpu_info.evtchn_upcall_pending", O.evtchnUpcallPending, 1),
            FieldSpec("vcpu_info.evtchn_upcall_mask", O.evtchnUpcallMask, 1),
            FieldSpec("vcpu_info.evtchn_pending_sel", O.evtchnPendingSel, 8),
            FieldSpec("vcpu_info.arch", O.arch, O.time - O.arch),
            FieldSpec("vcpu_info.time", O.time, VCPUTimeInfo.size),
        ]
    }()

    static let timeFields: [FieldSpec] = {
        typealias O = VCPUTimeInfo.Offset
        return [
            FieldSpec("vcpu_time_info.version", O.version, 4),
            FieldSpec("vcpu_time_info.pad0", O.pad0, 4),
            FieldSpec("vcpu_time_info.tsc_timestamp", O.tscTimestamp, 8),
            FieldSpec("vcpu_time_info.system_time", O.systemTime, 8),
            FieldSpec("vcpu_time_info.tsc_to_system_mul", O.tscToSystemMul, 4),
            FieldSpec("vcpu_time_info.tsc_shift", O.tscShift, 1),
            FieldSpec("vcpu_time_info.flags", O.flags, 1),
            FieldSpec("vcpu_time_info.pad1", O.pad1, 2),
        ]
    }()

    @Test func sizes() {
        #expect(X86SharedInfo.size == CLayout.size("shared_info"))
        #expect(X86VCPUInfo.size == CLayout.size("vcpu_info"))
        #expect(VCPUTimeInfo.size == CLayout.size("vcpu_time_info"))
        #expect(X86SharedInfo.size - X86SharedInfo.Offset.arch == CLayout.size("arch_shared_info"))
        #expect(X86VCPUInfo.Offset.time - X86VCPUInfo.Offset.arch == CLayout.size("arch_vcpu_info"))
        #expect(X86SharedInfo.legacyMaxVCPUs == Int(CLayout.constant("XEN_LEGACY_MAX_VCPUS")))
        #expect(X86SharedInfo.size <= Int(xenPageSize))
    }

    @Test(arguments: sharedFields) func sharedInfoField(_ f: FieldSpec) { expectField(f) }
    @Test(arguments: vcpuFields) func vcpuInfoField(_ f: FieldSpec) { expectField(f) }
    @Test(arguments: timeFields) func timeInfoField(_ f: FieldSpec) { expectField(f) }

    @Test func eventBitmapsHoldOneBitPerTwoLevelPort() {
        // 2-level ABI: 64 words of 64 bits = 4096 ports (EVTCHN_2L_NR_CHANNELS).
        let bytes = X86SharedInfo.Offset.evtchnMask - X86SharedInfo.Offset.evtchnPending
        #expect(bytes * 8 == 4096)
        #expect(CLayout.size("xen_ulong_t") == 8)
    }
}

@Suite("sched_op and event_channel_op structs")
struct SchedAndEvtchnLayoutTests {
    @Test func schedShutdown() {
        #expect(schedShutdownSize == CLayout.size("sched_shutdown"))
        expectField(FieldSpec("sched_shutdown.reason", 0, 4))
    }

    @Test func schedRemoteShutdown() {
        // Sched.swift: "domain_id at 0, reason at 4".
        #expect(schedRemoteShutdownSize == CLayout.size("sched_remote_shutdown"))
        expectField(FieldSpec("sched_remote_shutdown.domain_id", 0, 2))
        expectField(FieldSpec("sched_remote_shutdown.reason", 4, 4))
    }

    @Test func schedPoll() {
        // Sched.swift: "ports handle at 0, nr_ports at 8, timeout at 16".
        #expect(schedPollSize == CLayout.size("sched_poll"))
        expectField(FieldSpec("sched_poll.ports", 0, 8))
        expectField(FieldSpec("sched_poll.nr_ports", 8, 4))
        expectField(FieldSpec("sched_poll.timeout", 16, 8))
    }

    @Test func evtchnSend() {
        #expect(evtchnSendSize == CLayout.size("evtchn_send"))
        expectField(FieldSpec("evtchn_send.port", 0, 4))
        #expect(CLayout.size("evtchn_port_t") == MemoryLayout.size(ofValue: EvtchnPort(0).raw))
    }

    @Test func idTypesMatchCWidths() {
        #expect(CLayout.size("domid_t") == MemoryLayout.size(ofValue: DomainID(0).raw))
        #expect(CLayout.size("xen_pfn_t") == MemoryLayout.size(ofValue: GFN(0).raw))
    }
}
