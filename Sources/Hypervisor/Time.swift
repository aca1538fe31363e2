import GuestMemory
import XenABI

/// Xen's view of time for a guest (xen/arch/x86/time.c): per-vCPU `vcpu_time_info` (pvclock)
/// and the wallclock in shared_info. System time is nanoseconds since the domain was created
/// (host CLOCK_MONOTONIC), so it is monotonic and the same on every vCPU.
public enum XenTime {
    /// `set_time_scale`: a 32.32 multiplier and a shift turning counter ticks into ns.
    public static func scale(counterHz: UInt64) -> (mul: UInt32, shift: Int8) {
        var tps64 = max(counterHz, 1)
        var shift: Int8 = 0
        while tps64 > 2_000_000_000 { tps64 >>= 1; shift -= 1 }
        var tps32 = UInt32(tps64)
        while tps32 <= 1_000_000_000 { tps32 <<= 1; shift += 1 }
        let mul = UInt32((UInt64(1_000_000_000) << 32) / UInt64(tps32))
        return (mul, shift)
    }

    /// Converts a counter delta to ns the way a pvclock guest does.
    public static func nanoseconds(ticks: UInt64, mul: UInt32, shift: Int8) -> UInt64 {
        let t = shift >= 0 ? ticks << UInt64(shift) : ticks >> UInt64(-shift)
        return UInt64((t.multipliedFullWidth(by: UInt64(mul)).high << 32) | (t.multipliedFullWidth(by: UInt64(mul)).low >> 32))
    }

    /// The engine's counter and the domain's system time at the same instant.
    static func snapshot(_ d: Domain) -> (counter: UInt64, systemTime: UInt64, hz: UInt64) {
        if let m = d.machine {
            let t = m.timestamp()
            return (t.counter, d.systemTime(atMonotonic: t.monotonicNanoseconds), m.counterFrequency)
        }
        let now = d.hypervisor.services.monotonicNanoseconds()
        return (now, d.systemTime(atMonotonic: now), 1_000_000_000)
    }

    /// `update_vcpu_system_time`: writes the vCPU's `vcpu_time_info` with the version
    /// odd while it changes, as the pvclock protocol requires.
    public static func updateVCPUTime(_ v: VCPU) {
        guard let info = v.vcpuInfo else { return }
        let d = v.domain
        let base = info.advanced(by: UInt64(X86VCPUInfo.Offset.time))
        let s = snapshot(d)
        let (mul, shift) = scale(counterHz: s.hz)
        let mem = d.memory
        do {
            let version = try mem.load(UInt32.self, at: base)
            let odd = (version | 1) &+ (version & 1 == 1 ? 2 : 0)
            try mem.storeRelease(odd, at: base)
            try mem.store(s.counter, at: base.advanced(by: UInt64(VCPUTimeInfo.Offset.tscTimestamp)))
            try mem.store(s.systemTime, at: base.advanced(by: UInt64(VCPUTimeInfo.Offset.systemTime)))
            try mem.store(mul, at: base.advanced(by: UInt64(VCPUTimeInfo.Offset.tscToSystemMul)))
            try mem.store(UInt8(bitPattern: shift), at: base.advanced(by: UInt64(VCPUTimeInfo.Offset.tscShift)))
            try mem.store(pvclockTSCStableBit, at: base.advanced(by: UInt64(VCPUTimeInfo.Offset.flags)))
            try mem.storeRelease(odd &+ 1, at: base)
        } catch {
            // The page went away under us (the guest remapped it): nothing to update.
        }
    }

    /// `update_domain_wallclock_time`: the wallclock at system time 0, in shared_info.
    public static func updateWallclock(_ d: Domain) {
        guard let si = d.physmap.location(of: .sharedInfo)?.address else { return }
        let sec = d.wallclockBase / 1_000_000_000
        let nsec = UInt32(d.wallclockBase % 1_000_000_000)
        let mem = d.memory
        do {
            let versionAt = si.advanced(by: UInt64(X86SharedInfo.Offset.wcVersion))
            let version = try mem.load(UInt32.self, at: versionAt)
            let odd = (version | 1) &+ (version & 1 == 1 ? 2 : 0)
            try mem.storeRelease(odd, at: versionAt)
            try mem.store(UInt32(truncatingIfNeeded: sec), at: si.advanced(by: UInt64(X86SharedInfo.Offset.wcSec)))
            try mem.store(nsec, at: si.advanced(by: UInt64(X86SharedInfo.Offset.wcNsec)))
            try mem.store(UInt32(truncatingIfNeeded: sec >> 32), at: si.advanced(by: UInt64(X86SharedInfo.Offset.wcSecHi)))
            try mem.storeRelease(odd &+ 1, at: versionAt)
        } catch {}
    }

    /// Everything time-related the guest can see, after shared_info moves.
    public static func updateAll(_ d: Domain) {
        updateWallclock(d)
        for v in d.vcpus { updateVCPUTime(v) }
    }
}
