// Xen discovery and the hypercall page (Xen's x86 HVM/PVH interface).
//
// CPUID leaves 0x40000000 + n*0x100 carry the "XenVMMXenVMM" signature; leaf base+1
// eax = version (major<<16 | minor); base+2 eax = number of hypercall pages, ebx =
// the MSR to which the guest writes the GPA of its hypercall page. Hypercall N is
// then a call to page + N*32 (Boot/cpu.S: petrel_hypercall5).

enum Xen {
    /// CPUID base leaf where Xen was found, or 0 if there is no Xen.
    nonisolated(unsafe) private(set) static var cpuidBase: UInt32 = 0
    /// Version from CPUID leaf base+1 (major<<16 | minor).
    nonisolated(unsafe) private(set) static var cpuidVersion: UInt32 = 0
    nonisolated(unsafe) private(set) static var hypercallMSR: UInt32 = 0

    static var present: Bool { cpuidBase != 0 }

    /// Finds Xen's CPUID leaves and installs the hypercall page. Returns false without Xen.
    static func discover() -> Bool {
        var leaf: UInt32 = 0x4000_0000
        while leaf <= 0x4001_0000 {
            let r = petrel_cpuid(leaf, 0)
            // "XenV" "MMXe" "nVMM" in ebx, ecx, edx (little-endian).
            if r.ebx == 0x566e_6558 && r.ecx == 0x6558_4d4d && r.edx == 0x4d4d_566e && r.eax >= leaf + 2 {
                let pages = petrel_cpuid(leaf + 2, 0)
                guard pages.eax >= 1 else { return false }
                cpuidBase = leaf
                cpuidVersion = petrel_cpuid(leaf + 1, 0).eax
                hypercallMSR = pages.ebx
                // Writing the GPA makes Xen fill the page with the hypercall stubs.
                petrel_wrmsr(hypercallMSR, petrel_hypercall_page_address())
                return true
            }
            leaf += 0x100
        }
        return false
    }

    /// Raw hypercall: result is 0/positive on success, -errno on failure.
    @inline(__always)
    static func call(_ nr: Int32, _ a1: UInt64 = 0, _ a2: UInt64 = 0, _ a3: UInt64 = 0,
                     _ a4: UInt64 = 0, _ a5: UInt64 = 0) -> Int64 {
        petrel_hypercall5(UInt64(nr), a1, a2, a3, a4, a5)
    }

    // MARK: console_io (hypercall 18)

    /// HYPERVISOR_console_io(CONSOLEIO_write, count, buffer). Xen returns 0 on success.
    static func consoleWrite(address: UInt64, count: Int) -> Int64 {
        call(__HYPERVISOR_console_io, UInt64(CONSOLEIO_write), UInt64(count), address)
    }

    // MARK: xen_version (hypercall 17)

    static func version(_ cmd: Int32, _ arg: UInt64 = 0) -> Int64 {
        call(__HYPERVISOR_xen_version, UInt64(UInt32(bitPattern: cmd)), arg)
    }

    // MARK: sched_op (hypercall 29)

    static func schedOp(_ cmd: Int32, _ arg: UInt64 = 0) -> Int64 {
        call(__HYPERVISOR_sched_op, UInt64(UInt32(bitPattern: cmd)), arg)
    }

    static func yield() -> Int64 { schedOp(SCHEDOP_yield) }

    /// SCHEDOP_shutdown with struct sched_shutdown { reason }.
    static func shutdown(reason: UInt32) -> Int64 {
        var arg = sched_shutdown(reason: reason)
        return withGuestAddress(of: &arg) { schedOp(SCHEDOP_shutdown, $0) }
    }

    // MARK: hvm_op (hypercall 34)

    /// HVMOP_get_param; returns (rc, value).
    static func hvmGetParam(_ index: Int32, domid: UInt16 = UInt16(PETREL_DOMID_SELF)) -> (Int64, UInt64) {
        var param = xen_hvm_param(domid: domid, pad: 0, index: UInt32(index), value: 0)
        let rc = withGuestAddress(of: &param) {
            call(__HYPERVISOR_hvm_op, UInt64(HVMOP_get_param), $0)
        }
        return (rc, param.value)
    }

    /// HVMOP_set_param.
    static func hvmSetParam(_ index: Int32, _ value: UInt64, domid: UInt16 = UInt16(PETREL_DOMID_SELF)) -> Int64 {
        var param = xen_hvm_param(domid: domid, pad: 0, index: UInt32(index), value: value)
        return withGuestAddress(of: &param) {
            call(__HYPERVISOR_hvm_op, UInt64(HVMOP_set_param), $0)
        }
    }

    // MARK: event_channel_op (hypercall 32)

    /// EVTCHNOP_send with struct evtchn_send { port }.
    static func eventChannelSend(port: UInt32) -> Int64 {
        var arg = evtchn_send(port: port)
        return withGuestAddress(of: &arg) {
            call(__HYPERVISOR_event_channel_op, UInt64(EVTCHNOP_send), $0)
        }
    }

    // MARK: memory_op (hypercall 12)

    static func memoryOp(_ cmd: Int32, _ arg: UInt64) -> Int64 {
        call(__HYPERVISOR_memory_op, UInt64(UInt32(bitPattern: cmd)), arg)
    }

    /// XENMEM_current_reservation / XENMEM_maximum_reservation for a domain (pages).
    static func reservation(_ cmd: Int32, domid: UInt16 = UInt16(PETREL_DOMID_SELF)) -> Int64 {
        var arg = xen_memory_domain(domid: domid)
        return withGuestAddress(of: &arg) { memoryOp(cmd, $0) }
    }

    /// XENMEM_add_to_physmap(space, idx) at gfn.
    static func addToPhysmap(space: UInt32, index: UInt64, gfn: UInt64,
                             domid: UInt16 = UInt16(PETREL_DOMID_SELF)) -> Int64 {
        var arg = xen_add_to_physmap(domid: domid, size: 0, space: space, idx: UInt(index), gpfn: xen_pfn_t(gfn))
        return withGuestAddress(of: &arg) { memoryOp(XENMEM_add_to_physmap, $0) }
    }
}
