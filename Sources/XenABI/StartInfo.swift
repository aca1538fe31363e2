/// PVH boot ABI: `arch-x86/hvm/start_info.h`.

public let hvmStartMagic: UInt32 = 0x336e_c578

/// `struct hvm_start_info` (version 1: memmap fields present).
public struct HVMStartInfo: XenStruct, Equatable, Sendable {
    public static let size = 56
    public enum Offset {
        public static let magic = 0, version = 4, flags = 8, nrModules = 12, modlistPaddr = 16
        public static let cmdlinePaddr = 24, rsdpPaddr = 32, memmapPaddr = 40, memmapEntries = 48
        public static let reserved = 52
    }
    public var magic: UInt32 = hvmStartMagic
    public var version: UInt32 = 1
    public var flags: UInt32 = 0
    public var nrModules: UInt32 = 0
    public var modlistPaddr: UInt64 = 0
    public var cmdlinePaddr: UInt64 = 0
    public var rsdpPaddr: UInt64 = 0
    public var memmapPaddr: UInt64 = 0
    public var memmapEntries: UInt32 = 0

    public init() {}
    public init(bytes b: [UInt8]) {
        magic = b.le(UInt32.self, at: Offset.magic)
        version = b.le(UInt32.self, at: Offset.version)
        flags = b.le(UInt32.self, at: Offset.flags)
        nrModules = b.le(UInt32.self, at: Offset.nrModules)
        modlistPaddr = b.le(UInt64.self, at: Offset.modlistPaddr)
        cmdlinePaddr = b.le(UInt64.self, at: Offset.cmdlinePaddr)
        rsdpPaddr = b.le(UInt64.self, at: Offset.rsdpPaddr)
        memmapPaddr = b.le(UInt64.self, at: Offset.memmapPaddr)
        memmapEntries = b.le(UInt32.self, at: Offset.memmapEntries)
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(magic, at: Offset.magic)
        b.setLE(version, at: Offset.version)
        b.setLE(flags, at: Offset.flags)
        b.setLE(nrModules, at: Offset.nrModules)
        b.setLE(modlistPaddr, at: Offset.modlistPaddr)
        b.setLE(cmdlinePaddr, at: Offset.cmdlinePaddr)
        b.setLE(rsdpPaddr, at: Offset.rsdpPaddr)
        b.setLE(memmapPaddr, at: Offset.memmapPaddr)
        b.setLE(memmapEntries, at: Offset.memmapEntries)
        return b
    }
}

/// `struct hvm_modlist_entry`.
public struct HVMModlistEntry: XenStruct, Equatable, Sendable {
    public static let size = 32
    public enum Offset { public static let paddr = 0, size = 8, cmdlinePaddr = 16, reserved = 24 }
    public var paddr: UInt64
    public var size: UInt64
    public var cmdlinePaddr: UInt64
    public init(paddr: UInt64, size: UInt64, cmdlinePaddr: UInt64 = 0) {
        self.paddr = paddr; self.size = size; self.cmdlinePaddr = cmdlinePaddr
    }
    public init(bytes b: [UInt8]) {
        paddr = b.le(UInt64.self, at: Offset.paddr)
        size = b.le(UInt64.self, at: Offset.size)
        cmdlinePaddr = b.le(UInt64.self, at: Offset.cmdlinePaddr)
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(paddr, at: Offset.paddr)
        b.setLE(size, at: Offset.size)
        b.setLE(cmdlinePaddr, at: Offset.cmdlinePaddr)
        return b
    }
}

/// E820-style memory types (`XEN_HVM_MEMMAP_TYPE_*`), also used by `XENMEM_memory_map`.
public enum MemoryType: UInt32, Sendable {
    case ram = 1
    case reserved = 2
    case acpi = 3
    case nvs = 4
    case unusable = 5
    case disabled = 6
    case pmem = 7
}

/// `struct hvm_memmap_table_entry`.
public struct HVMMemmapEntry: XenStruct, Equatable, Sendable {
    public static let size = 24
    public enum Offset { public static let addr = 0, size = 8, type = 16, reserved = 20 }
    public var addr: UInt64
    public var size: UInt64
    public var type: UInt32
    public init(addr: UInt64, size: UInt64, type: MemoryType) {
        self.addr = addr; self.size = size; self.type = type.rawValue
    }
    public init(bytes b: [UInt8]) {
        addr = b.le(UInt64.self, at: Offset.addr)
        size = b.le(UInt64.self, at: Offset.size)
        type = b.le(UInt32.self, at: Offset.type)
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(addr, at: Offset.addr)
        b.setLE(size, at: Offset.size)
        b.setLE(type, at: Offset.type)
        return b
    }
}

/// The packed 20-byte `struct e820entry` that `XENMEM_memory_map` fills (x86 Xen's layout).
public struct E820Entry: XenStruct, Equatable, Sendable {
    public static let size = 20
    public enum Offset { public static let addr = 0, size = 8, type = 16 }
    public var addr: UInt64
    public var size: UInt64
    public var type: UInt32
    public init(addr: UInt64, size: UInt64, type: UInt32) {
        self.addr = addr; self.size = size; self.type = type
    }
    public init(bytes b: [UInt8]) {
        addr = b.le(UInt64.self, at: Offset.addr)
        size = b.le(UInt64.self, at: Offset.size)
        type = b.le(UInt32.self, at: Offset.type)
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(addr, at: Offset.addr)
        b.setLE(size, at: Offset.size)
        b.setLE(type, at: Offset.type)
        return b
    }
}
