// struct shared_info (xen.h), mapped with XENMEM_add_to_physmap(XENMAPSPACE_shared_info)
// at Physmap.sharedInfoGfn: the 2-level event bitmaps (evtchn_pending, evtchn_mask),
// vcpu_info[XEN_LEGACY_MAX_VCPUS] and the wallclock.

enum SharedInfo {
    nonisolated(unsafe) private(set) static var page: PhysRegion? = nil

    static let pendingOffset = Int(PETREL_SHINFO_EVTCHN_PENDING)
    static let maskOffset = Int(PETREL_SHINFO_EVTCHN_MASK)
    /// 64-bit words in each bitmap: 64 words x 64 bits = EVTCHN_2L_NR_CHANNELS ports.
    static let words = Int(PETREL_SHINFO_EVTCHN_WORDS)

    /// Maps shared_info (once). Returns the XENMEM_add_to_physmap result.
    static func map() -> Int64 {
        if page != nil { return 0 }
        let gfn = Physmap.sharedInfoGfn
        let rc = Xen.addToPhysmap(space: UInt32(XENMAPSPACE_shared_info), index: 0, gfn: gfn)
        if rc == 0 { page = Physmap.page(gfn) }
        return rc
    }

    static var mapped: PhysRegion {
        guard let p = page else { fatalError("shared_info not mapped") }
        return p
    }

    /// shared_info.vcpu_info[vcpu] (vCPUs below XEN_LEGACY_MAX_VCPUS).
    static func legacyVcpuInfo(_ vcpu: Int) -> PhysRegion {
        precondition(vcpu >= 0 && vcpu < Int(PETREL_LEGACY_MAX_VCPUS))
        let size = Int(PETREL_VCPU_INFO_SIZE)
        return mapped.sub(vcpu * size, size)
    }

    /// Wallclock at system time 0: wc_sec_hi:wc_sec seconds and wc_nsec since the
    /// epoch, read under wc_version (odd = update in progress, retry on change).
    static func wallclock() -> (sec: UInt64, nsec: UInt32) {
        let s = mapped
        while true {
            let v1 = s.load32(Int(PETREL_SHINFO_WC_VERSION))
            if v1 & 1 != 0 { CPU.pause(); continue }
            let sec = s.load32(Int(PETREL_SHINFO_WC_SEC))
            let nsec = s.load32(Int(PETREL_SHINFO_WC_NSEC))
            let hi = s.load32(Int(PETREL_SHINFO_WC_SEC_HI))
            if s.load32(Int(PETREL_SHINFO_WC_VERSION)) == v1 {
                return ((UInt64(hi) << 32) | UInt64(sec), nsec)
            }
        }
    }
}
