/// `memory_op` (memory.h).
public enum MemoryOpCmd: UInt64, Sendable {
    case increaseReservation = 0, decreaseReservation = 1, maximumRAMPage = 2
    case currentReservation = 3, maximumReservation = 4, populatePhysmap = 6
    case addToPhysmap = 7, memoryMap = 9, machineMemoryMap = 10, maximumGPFN = 14
    case removeFromPhysmap = 15, addToPhysmapBatch = 23
}

/// `XENMEM_*` commands carry an extent-start in their upper bits (`MEMOP_EXTENT_SHIFT`).
public let memopCmdMask: UInt64 = 0x3f

/// `enum phys_map_space` (`XENMAPSPACE_*`).
public enum MapSpace: UInt32, Sendable {
    case sharedInfo = 0, grantTable = 1, gmfn = 2, gmfnRange = 3, gmfnForeign = 4, devMMIO = 5
}
public let xenMapIdxGrantTableStatus: UInt64 = 0x8000_0000

/// `struct xen_add_to_physmap` (x86-64 layout).
public struct XenAddToPhysmap: XenStruct, Equatable, Sendable {
    public static let size = 24
    public enum Offset { public static let domid = 0, size = 2, space = 4, idx = 8, gpfn = 16 }
    public var domid: DomainID
    public var count: UInt16
    public var space: UInt32
    public var idx: UInt64
    public var gpfn: GFN
    public init(domid: DomainID, count: UInt16 = 0, space: UInt32, idx: UInt64, gpfn: GFN) {
        self.domid = domid; self.count = count; self.space = space; self.idx = idx; self.gpfn = gpfn
    }
    public init(bytes b: [UInt8]) {
        domid = DomainID(b.le(UInt16.self, at: Offset.domid))
        count = b.le(UInt16.self, at: Offset.size)
        space = b.le(UInt32.self, at: Offset.space)
        idx = b.le(UInt64.self, at: Offset.idx)
        gpfn = GFN(b.le(UInt64.self, at: Offset.gpfn))
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(domid.raw, at: Offset.domid)
        b.setLE(count, at: Offset.size)
        b.setLE(space, at: Offset.space)
        b.setLE(idx, at: Offset.idx)
        b.setLE(gpfn.raw, at: Offset.gpfn)
        return b
    }
}

/// `struct xen_memory_map` (x86-64 layout: the handle is a pointer).
public struct XenMemoryMap: XenStruct, Equatable, Sendable {
    public static let size = 16
    public enum Offset { public static let nrEntries = 0, buffer = 8 }
    public var nrEntries: UInt32
    public var buffer: GVA
    public init(nrEntries: UInt32, buffer: GVA) { self.nrEntries = nrEntries; self.buffer = buffer }
    public init(bytes b: [UInt8]) {
        nrEntries = b.le(UInt32.self, at: Offset.nrEntries)
        buffer = GVA(b.le(UInt64.self, at: Offset.buffer))
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(nrEntries, at: Offset.nrEntries)
        b.setLE(buffer.raw, at: Offset.buffer)
        return b
    }
}
