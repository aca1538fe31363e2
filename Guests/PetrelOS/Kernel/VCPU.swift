// HYPERVISOR_vcpu_op (hypercall 24, xen/vcpu.h): one wrapper per VCPUOP. Xen answers
// -ENOENT for a vCPU id at or above the domain's max_vcpus.

enum VCPU {
    @inline(__always)
    static func op(_ cmd: Int32, _ vcpu: Int, _ arg: UInt64 = 0) -> Int64 {
        // vcpuid is an `unsigned int` in Xen.
        Xen.call(__HYPERVISOR_vcpu_op, UInt64(UInt32(bitPattern: cmd)), UInt64(UInt32(truncatingIfNeeded: vcpu)), arg)
    }

    /// VCPUOP_initialise with a struct vcpu_hvm_context at `context`.
    static func initialise(_ vcpu: Int, context: UInt64) -> Int64 { op(VCPUOP_initialise, vcpu, context) }
    static func up(_ vcpu: Int) -> Int64 { op(VCPUOP_up, vcpu) }
    static func down(_ vcpu: Int) -> Int64 { op(VCPUOP_down, vcpu) }
    /// 1 if up, 0 if down, or -errno.
    static func isUp(_ vcpu: Int) -> Int64 { op(VCPUOP_is_up, vcpu) }

    /// VCPUOP_get_runstate_info into the vcpu_runstate_info at `into`.
    static func getRunstateInfo(_ vcpu: Int, into: UInt64) -> Int64 { op(VCPUOP_get_runstate_info, vcpu, into) }

    /// VCPUOP_register_runstate_memory_area: Xen keeps the vcpu_runstate_info at
    /// `area` (guest-virtual) up to date.
    static func registerRunstateMemoryArea(_ vcpu: Int, area: UInt64) -> Int64 {
        var arg = vcpu_register_runstate_memory_area()
        arg.addr.p = area
        return withGuestAddress(of: &arg) { op(VCPUOP_register_runstate_memory_area, vcpu, $0) }
    }

    /// VCPUOP_register_vcpu_info: move `vcpu`'s vcpu_info to gfn:offset.
    static func registerVcpuInfo(_ vcpu: Int, gfn: UInt64, offset: UInt32) -> Int64 {
        var arg = vcpu_register_vcpu_info(mfn: gfn, offset: offset, rsvd: 0)
        return withGuestAddress(of: &arg) { op(VCPUOP_register_vcpu_info, vcpu, $0) }
    }
}

/// A vcpu_runstate_info (vcpu.h) in guest memory.
struct Runstate {
    let region: PhysRegion

    var state: Int32 { Int32(bitPattern: region.load32(Int(PETREL_RUNSTATE_STATE))) }
    /// state_entry_time without the XEN_RUNSTATE_UPDATE flag (bit 63).
    var entryTime: UInt64 { region.load64(Int(PETREL_RUNSTATE_ENTRY_TIME)) & ~(UInt64(1) << 63) }
    func time(_ state: Int32) -> UInt64 { region.load64(Int(PETREL_RUNSTATE_TIME) + 8 * Int(state)) }
    var total: UInt64 { time(0) &+ time(1) &+ time(2) &+ time(3) }
}
