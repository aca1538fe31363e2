import GuestMemory
import XenABI

/// Where a PVH domain's memory goes, as libxl lays out an HVM/PVH guest: RAM from 0 up to the
/// MMIO hole below 4 GiB (the rest above 4 GiB), and Xen's special pages (console ring,
/// xenstore ring, …) in a reserved range just below 0xFF000000.
public struct DomainLayout: Sendable, Equatable {
    /// RAM below 4 GiB ends here at the latest (libxl's default MMIO hole start).
    public static let lowRAMLimit: UInt64 = 0xF000_0000
    public static let highRAMStart: UInt64 = 0x1_0000_0000
    /// libxl's special pages: `X86_HVM_END_SPECIAL_REGION` (0xff000) minus 8 pages.
    public static let specialBase = GFN(0xFEFF8)
    public static let specialPages: UInt64 = 8

    /// Index of each special page (libxc's `SPECIALPAGE_*`).
    public enum SpecialPage: UInt64, Sendable {
        case xenstore = 4
        case console = 7
    }

    public let ramBytes: UInt64

    public init(ramBytes: UInt64) {
        self.ramBytes = ramBytes
    }

    public static func gfn(of page: SpecialPage) -> GFN { GFN(specialBase.raw + page.rawValue) }

    /// RAM ranges (start, size).
    public var ramRanges: [(start: GPA, size: UInt64)] {
        let low = min(ramBytes, Self.lowRAMLimit)
        var r: [(GPA, UInt64)] = [(GPA(0), low)]
        if ramBytes > low { r.append((GPA(Self.highRAMStart), ramBytes - low)) }
        return r
    }

    /// The memory map the guest sees (start info and XENMEM_memory_map), sorted by address.
    public var memmap: [HVMMemmapEntry] {
        var m = ramRanges.map { HVMMemmapEntry(addr: $0.start.raw, size: $0.size, type: .ram) }
        m.append(HVMMemmapEntry(addr: Self.specialBase.address.raw, size: Self.specialPages * xenPageSize, type: .reserved))
        return m.sorted { $0.addr < $1.addr }
    }

    /// Creates the RAM and special-page regions in `memory`.
    public func populate(_ memory: GuestPhysicalMemory) throws {
        for r in ramRanges { try memory.addRegion(at: r.start, size: r.size, kind: .ram) }
        try memory.addRegion(at: Self.specialBase.address, size: Self.specialPages * xenPageSize,
                             kind: .special("xen special pages"))
    }
}
