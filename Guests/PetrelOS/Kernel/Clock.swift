// Xen system time (ns since the domain's clock started) from the running vCPU's
// vcpu_info.time (struct vcpu_time_info, xen.h), the pvclock:
//
//   ns = system_time + ((((tsc - tsc_timestamp) << tsc_shift) * tsc_to_system_mul) >> 32)
//
// (a negative tsc_shift shifts right), read under `version` like a seqlock. The
// reader is Boot/pvclock.S: guest instructions are expensive on this host and the
// upcall handlers read the clock.

enum Clock {
    struct Params {
        var version: UInt32
        var tscTimestamp: UInt64
        var systemTime: UInt64
        var mul: UInt32
        var shift: Int8
    }

    private static let base = Int(PETREL_VCPU_INFO_TIME)

    /// System time in ns on the running vCPU.
    @inline(__always)
    static func now() -> UInt64 { petrel_pvclock_now() }

    /// System time in ns when the running vCPU's last upcall began (its entry TSC, converted
    /// with the current pvclock): when the event reached the guest, before any dispatching.
    static func atUpcallEntry() -> UInt64 {
        let info = PerCPU.current.vcpuInfo
        return petrel_pvclock_at(info.checkedAddress(base, Int(PETREL_VCPU_INFO_SIZE) - base),
                                 Events.upcallTSC(cpu: CPU.index))
    }

    /// System time in ns from `vcpuInfo`'s time fields.
    static func read(_ vcpuInfo: PhysRegion) -> UInt64 {
        petrel_pvclock_read(vcpuInfo.checkedAddress(base, Int(PETREL_VCPU_INFO_SIZE) - base))
    }

    /// A consistent snapshot of `vcpuInfo.time`.
    static func params(_ vcpuInfo: PhysRegion) -> Params {
        while true {
            let v1 = vcpuInfo.load32(base + Int(PETREL_TIME_VERSION))
            if v1 & 1 != 0 { CPU.pause(); continue }
            let p = Params(version: v1,
                           tscTimestamp: vcpuInfo.load64(base + Int(PETREL_TIME_TSC_TIMESTAMP)),
                           systemTime: vcpuInfo.load64(base + Int(PETREL_TIME_SYSTEM_TIME)),
                           mul: vcpuInfo.load32(base + Int(PETREL_TIME_TSC_TO_SYSTEM_MUL)),
                           shift: Int8(bitPattern: vcpuInfo.load8(base + Int(PETREL_TIME_TSC_SHIFT))))
            if vcpuInfo.load32(base + Int(PETREL_TIME_VERSION)) == v1 { return p }
        }
    }

    /// The TSC frequency the parameters imply: ((10^9 << 32) / mul) >> shift (Hz).
    static func tscHz(mul: UInt32, shift: Int8) -> UInt64 {
        guard mul != 0 else { return 0 }
        var hz = (nsPerSec << 32) / UInt64(mul)
        if shift < 0 { hz <<= UInt64(-Int(shift)) } else { hz >>= UInt64(shift) }
        return hz
    }
}
