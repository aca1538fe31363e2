// struct hvm_start_info (xen/arch-x86/hvm/start_info.h), version 0 and 1:
// command line, module list and (v1) memory map, all by guest-physical address.

struct MemmapEntry {
    let address: UInt64
    let size: UInt64
    let type: UInt32

    var end: UInt64 { address &+ size }

    var typeName: StaticString {
        switch Int32(bitPattern: type) {
        case XEN_HVM_MEMMAP_TYPE_RAM: return "ram"
        case XEN_HVM_MEMMAP_TYPE_RESERVED: return "reserved"
        case XEN_HVM_MEMMAP_TYPE_ACPI: return "acpi"
        case XEN_HVM_MEMMAP_TYPE_NVS: return "nvs"
        case XEN_HVM_MEMMAP_TYPE_UNUSABLE: return "unusable"
        case XEN_HVM_MEMMAP_TYPE_DISABLED: return "disabled"
        case XEN_HVM_MEMMAP_TYPE_PMEM: return "pmem"
        default: return "unknown"
        }
    }
}

struct ModuleEntry {
    let address: UInt64
    let size: UInt64
    let cmdlineAddress: UInt64
}

struct StartInfo {
    static let maxMemmapEntries = 128
    static let maxModules = 64

    let address: UInt64
    let info: hvm_start_info

    /// Validates the magic and that the structure is reachable. nil if unusable.
    init?(address: UInt64) {
        let size = UInt64(MemoryLayout<hvm_start_info>.size)
        guard address != 0, address + size <= identityMappedLimit else { return nil }
        let info = PhysRegion(base: address, size: Int(size)).load(hvm_start_info.self, at: 0)
        guard info.magic == UInt32(XEN_HVM_START_MAGIC_VALUE) else { return nil }
        self.address = address
        self.info = info
    }

    var version: UInt32 { info.version }

    var memmapCount: Int {
        guard info.version >= 1, info.memmap_paddr != 0 else { return 0 }
        return min(Int(info.memmap_entries), StartInfo.maxMemmapEntries)
    }

    func memmap(_ i: Int) -> MemmapEntry {
        precondition(i >= 0 && i < memmapCount)
        let stride = MemoryLayout<hvm_memmap_table_entry>.stride
        let e = PhysRegion(base: info.memmap_paddr, size: memmapCount * stride)
            .load(hvm_memmap_table_entry.self, at: i * stride)
        return MemmapEntry(address: e.addr, size: e.size, type: e.type)
    }

    var moduleCount: Int { min(Int(info.nr_modules), StartInfo.maxModules) }

    func module(_ i: Int) -> ModuleEntry {
        precondition(i >= 0 && i < moduleCount)
        let stride = MemoryLayout<hvm_modlist_entry>.stride
        let m = PhysRegion(base: info.modlist_paddr, size: moduleCount * stride)
            .load(hvm_modlist_entry.self, at: i * stride)
        return ModuleEntry(address: m.paddr, size: m.size, cmdlineAddress: m.cmdline_paddr)
    }

    var cmdlineAddress: UInt64 { info.cmdline_paddr }

    /// Total bytes of RAM-type memmap entries.
    var ramBytes: UInt64 {
        var total: UInt64 = 0
        for i in 0..<memmapCount where memmap(i).type == UInt32(XEN_HVM_MEMMAP_TYPE_RAM) {
            total &+= memmap(i).size
        }
        return total
    }

    /// End of the highest RAM entry.
    var ramEnd: UInt64 {
        var top: UInt64 = 0
        for i in 0..<memmapCount {
            let e = memmap(i)
            if e.type == UInt32(XEN_HVM_MEMMAP_TYPE_RAM) && e.end > top { top = e.end }
        }
        return top
    }
}
