/// `grant_table_op` (grant_table.h): op numbers, the shared v1 entry, statuses, flags and the
/// op structs at their x86-64 offsets (Xen 4.17 interface).

/// `GNTTABOP_*`.
public enum GrantTableOpCmd: UInt32, Sendable {
    case mapGrantRef = 0, unmapGrantRef = 1, setupTable = 2, dumpTable = 3, transfer = 4
    case copy = 5, querySize = 6, unmapAndReplace = 7, setVersion = 8, getStatusFrames = 9
    case getVersion = 10, swapGrantRef = 11, cacheFlush = 12
}

/// Xen keeps a continuation argument above the command's low 12 bits (`GNTTABOP_CMD_MASK`).
public let gnttabopCmdMask: UInt32 = 0xFFF

/// `GNTTAB_NR_RESERVED_ENTRIES` and the two reserved refs the toolstack fills.
public let gnttabNrReservedEntries = 8
public let gnttabReservedConsole = GrantRef(0)
public let gnttabReservedXenstore = GrantRef(1)

/// `GTF_*`: the `flags` of a shared grant entry.
public struct GrantEntryFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// `GTF_invalid`, `GTF_permit_access`, `GTF_accept_transfer`, `GTF_transitive`: the type.
    public static let typeMask = GrantEntryFlags(rawValue: 3)
    public static let invalid = GrantEntryFlags([])
    public static let permitAccess = GrantEntryFlags(rawValue: 1)
    public static let acceptTransfer = GrantEntryFlags(rawValue: 2)
    public static let transitive = GrantEntryFlags(rawValue: 3)
    public static let readonly = GrantEntryFlags(rawValue: 1 << 2)
    /// Set by Xen while the grantee has the frame mapped or is copying from it.
    public static let reading = GrantEntryFlags(rawValue: 1 << 3)
    /// Set by Xen while the grantee has the frame mapped writable or is copying to it.
    public static let writing = GrantEntryFlags(rawValue: 1 << 4)
    public static let pwt = GrantEntryFlags(rawValue: 1 << 5)
    public static let pcd = GrantEntryFlags(rawValue: 1 << 6)
    public static let pat = GrantEntryFlags(rawValue: 1 << 7)
    public static let subPage = GrantEntryFlags(rawValue: 1 << 8)
    /// Transfer flags (share bits 2 and 3 with `readonly`/`reading`).
    public static let transferCommitted = GrantEntryFlags(rawValue: 1 << 2)
    public static let transferCompleted = GrantEntryFlags(rawValue: 1 << 3)

    /// The entry's type field alone.
    public var type: GrantEntryFlags { intersection(.typeMask) }
}

/// `struct grant_entry_v1`: one 8-byte entry of a v1 shared grant frame.
public struct GrantEntryV1: XenStruct, Equatable, Sendable {
    public static let size = 8
    public enum Offset { public static let flags = 0, domid = 2, frame = 4 }
    /// Entries in one 4 KiB frame.
    public static let perFrame = 4096 / size
    public var flags: GrantEntryFlags
    /// The domain being granted access.
    public var domid: DomainID
    /// The granted frame (a gfn in a translated granter).
    public var frame: UInt32
    public init(flags: GrantEntryFlags, domid: DomainID, frame: UInt32) {
        self.flags = flags; self.domid = domid; self.frame = frame
    }
    public init(bytes b: [UInt8]) {
        flags = GrantEntryFlags(rawValue: b.le(UInt16.self, at: Offset.flags))
        domid = DomainID(b.le(UInt16.self, at: Offset.domid))
        frame = b.le(UInt32.self, at: Offset.frame)
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(flags.rawValue, at: Offset.flags)
        b.setLE(domid.raw, at: Offset.domid)
        b.setLE(frame, at: Offset.frame)
        return b
    }
}

/// `GNTST_*`: the per-op status of a grant op (`enum grant_status`). Thrown by the typed grant
/// API, written into each op's `status` field by the hypercall.
public struct GrantStatus: Error, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int16
    public init(_ raw: Int16) { rawValue = raw }

    public static let okay = GrantStatus(0)
    public static let generalError = GrantStatus(-1)
    public static let badDomain = GrantStatus(-2)
    public static let badGntref = GrantStatus(-3)
    public static let badHandle = GrantStatus(-4)
    public static let badVirtAddr = GrantStatus(-5)
    public static let badDevAddr = GrantStatus(-6)
    public static let noDeviceSpace = GrantStatus(-7)
    public static let permissionDenied = GrantStatus(-8)
    public static let badPage = GrantStatus(-9)
    public static let badCopyArg = GrantStatus(-10)
    public static let addressTooBig = GrantStatus(-11)
    public static let eagain = GrantStatus(-12)
    public static let noSpace = GrantStatus(-13)

    /// `GNTTABOP_error_msgs`.
    static let messages = [
        "okay", "undefined error", "unrecognised domain id", "invalid grant reference",
        "invalid mapping handle", "invalid virtual address", "invalid device address",
        "no spare translation slot in the I/O MMU", "permission denied", "bad page",
        "copy arguments cross page boundary", "page address size too large",
        "operation not done; try again", "out of space",
    ]
    public var description: String {
        let i = -Int(rawValue)
        return i >= 0 && i < Self.messages.count ? Self.messages[i] : "GNTST \(rawValue)"
    }
}

/// `GNTMAP_*`: flags of `gnttab_map_grant_ref`.
public struct GrantMapFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let deviceMap = GrantMapFlags(rawValue: 1 << 0)
    public static let hostMap = GrantMapFlags(rawValue: 1 << 1)
    public static let readonly = GrantMapFlags(rawValue: 1 << 2)
    public static let applicationMap = GrantMapFlags(rawValue: 1 << 3)
    public static let containsPTE = GrantMapFlags(rawValue: 1 << 4)
    /// `GNTMAP_guest_avail_mask`: bits the guest may use for itself.
    public static let guestAvailMask = GrantMapFlags(rawValue: ~UInt32(0) << 16)
}

/// `GNTCOPY_*`: flags of `gnttab_copy`.
public struct GrantCopyFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let sourceGref = GrantCopyFlags(rawValue: 1 << 0)
    public static let destGref = GrantCopyFlags(rawValue: 1 << 1)
}

/// `grant_handle_t`: a mapping handle the mapper gets back from `GNTTABOP_map_grant_ref`.
public struct GrantHandle: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var raw: UInt32
    public init(_ raw: UInt32) { self.raw = raw }
    public static func < (a: Self, b: Self) -> Bool { a.raw < b.raw }
    public var description: String { "handle \(raw)" }
}

/// `struct gnttab_map_grant_ref`.
public struct GnttabMapGrantRef: XenStruct, Equatable, Sendable {
    public static let size = 32
    public enum Offset {
        public static let hostAddr = 0, flags = 8, ref = 12, dom = 16, status = 18, handle = 20
        public static let devBusAddr = 24
    }
    public var hostAddr: UInt64
    public var flags: GrantMapFlags
    public var ref: GrantRef
    public var dom: DomainID
    public var status: GrantStatus
    public var handle: GrantHandle
    public var devBusAddr: UInt64
    public init(hostAddr: UInt64, flags: GrantMapFlags, ref: GrantRef, dom: DomainID,
                status: GrantStatus = .okay, handle: GrantHandle = GrantHandle(0), devBusAddr: UInt64 = 0) {
        self.hostAddr = hostAddr; self.flags = flags; self.ref = ref; self.dom = dom
        self.status = status; self.handle = handle; self.devBusAddr = devBusAddr
    }
    public init(bytes b: [UInt8]) {
        hostAddr = b.le(UInt64.self, at: Offset.hostAddr)
        flags = GrantMapFlags(rawValue: b.le(UInt32.self, at: Offset.flags))
        ref = GrantRef(b.le(UInt32.self, at: Offset.ref))
        dom = DomainID(b.le(UInt16.self, at: Offset.dom))
        status = GrantStatus(Int16(bitPattern: b.le(UInt16.self, at: Offset.status)))
        handle = GrantHandle(b.le(UInt32.self, at: Offset.handle))
        devBusAddr = b.le(UInt64.self, at: Offset.devBusAddr)
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(hostAddr, at: Offset.hostAddr)
        b.setLE(flags.rawValue, at: Offset.flags)
        b.setLE(ref.raw, at: Offset.ref)
        b.setLE(dom.raw, at: Offset.dom)
        b.setLE(UInt16(bitPattern: status.rawValue), at: Offset.status)
        b.setLE(handle.raw, at: Offset.handle)
        b.setLE(devBusAddr, at: Offset.devBusAddr)
        return b
    }
}

/// `struct gnttab_unmap_grant_ref`.
public struct GnttabUnmapGrantRef: XenStruct, Equatable, Sendable {
    public static let size = 24
    public enum Offset { public static let hostAddr = 0, devBusAddr = 8, handle = 16, status = 20 }
    public var hostAddr: UInt64
    public var devBusAddr: UInt64
    public var handle: GrantHandle
    public var status: GrantStatus
    public init(hostAddr: UInt64, devBusAddr: UInt64 = 0, handle: GrantHandle, status: GrantStatus = .okay) {
        self.hostAddr = hostAddr; self.devBusAddr = devBusAddr; self.handle = handle; self.status = status
    }
    public init(bytes b: [UInt8]) {
        hostAddr = b.le(UInt64.self, at: Offset.hostAddr)
        devBusAddr = b.le(UInt64.self, at: Offset.devBusAddr)
        handle = GrantHandle(b.le(UInt32.self, at: Offset.handle))
        status = GrantStatus(Int16(bitPattern: b.le(UInt16.self, at: Offset.status)))
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(hostAddr, at: Offset.hostAddr)
        b.setLE(devBusAddr, at: Offset.devBusAddr)
        b.setLE(handle.raw, at: Offset.handle)
        b.setLE(UInt16(bitPattern: status.rawValue), at: Offset.status)
        return b
    }
}

/// `struct gnttab_setup_table` (`frame_list` is a guest handle to `xen_pfn_t`s).
public struct GnttabSetupTable: XenStruct, Equatable, Sendable {
    public static let size = 24
    public enum Offset { public static let dom = 0, nrFrames = 4, status = 8, frameList = 16 }
    public var dom: DomainID
    public var nrFrames: UInt32
    public var status: GrantStatus
    public var frameList: GVA
    public init(dom: DomainID, nrFrames: UInt32, status: GrantStatus = .okay, frameList: GVA) {
        self.dom = dom; self.nrFrames = nrFrames; self.status = status; self.frameList = frameList
    }
    public init(bytes b: [UInt8]) {
        dom = DomainID(b.le(UInt16.self, at: Offset.dom))
        nrFrames = b.le(UInt32.self, at: Offset.nrFrames)
        status = GrantStatus(Int16(bitPattern: b.le(UInt16.self, at: Offset.status)))
        frameList = GVA(b.le(UInt64.self, at: Offset.frameList))
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(dom.raw, at: Offset.dom)
        b.setLE(nrFrames, at: Offset.nrFrames)
        b.setLE(UInt16(bitPattern: status.rawValue), at: Offset.status)
        b.setLE(frameList.raw, at: Offset.frameList)
        return b
    }
}

/// `struct gnttab_query_size`.
public struct GnttabQuerySize: XenStruct, Equatable, Sendable {
    public static let size = 16
    public enum Offset { public static let dom = 0, nrFrames = 4, maxNrFrames = 8, status = 12 }
    public var dom: DomainID
    public var nrFrames: UInt32
    public var maxNrFrames: UInt32
    public var status: GrantStatus
    public init(dom: DomainID, nrFrames: UInt32 = 0, maxNrFrames: UInt32 = 0, status: GrantStatus = .okay) {
        self.dom = dom; self.nrFrames = nrFrames; self.maxNrFrames = maxNrFrames; self.status = status
    }
    public init(bytes b: [UInt8]) {
        dom = DomainID(b.le(UInt16.self, at: Offset.dom))
        nrFrames = b.le(UInt32.self, at: Offset.nrFrames)
        maxNrFrames = b.le(UInt32.self, at: Offset.maxNrFrames)
        status = GrantStatus(Int16(bitPattern: b.le(UInt16.self, at: Offset.status)))
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(dom.raw, at: Offset.dom)
        b.setLE(nrFrames, at: Offset.nrFrames)
        b.setLE(maxNrFrames, at: Offset.maxNrFrames)
        b.setLE(UInt16(bitPattern: status.rawValue), at: Offset.status)
        return b
    }
}

/// `struct gnttab_set_version`.
public struct GnttabSetVersion: XenStruct, Equatable, Sendable {
    public static let size = 4
    public enum Offset { public static let version = 0 }
    public var version: UInt32
    public init(version: UInt32) { self.version = version }
    public init(bytes b: [UInt8]) { version = b.le(UInt32.self, at: Offset.version) }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(version, at: Offset.version)
        return b
    }
}

/// `struct gnttab_get_status_frames` (`frame_list` is a guest handle to `uint64_t`s).
public struct GnttabGetStatusFrames: XenStruct, Equatable, Sendable {
    public static let size = 16
    public enum Offset { public static let nrFrames = 0, dom = 4, status = 6, frameList = 8 }
    public var nrFrames: UInt32
    public var dom: DomainID
    public var status: GrantStatus
    public var frameList: GVA
    public init(nrFrames: UInt32, dom: DomainID, status: GrantStatus = .okay, frameList: GVA) {
        self.nrFrames = nrFrames; self.dom = dom; self.status = status; self.frameList = frameList
    }
    public init(bytes b: [UInt8]) {
        nrFrames = b.le(UInt32.self, at: Offset.nrFrames)
        dom = DomainID(b.le(UInt16.self, at: Offset.dom))
        status = GrantStatus(Int16(bitPattern: b.le(UInt16.self, at: Offset.status)))
        frameList = GVA(b.le(UInt64.self, at: Offset.frameList))
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(nrFrames, at: Offset.nrFrames)
        b.setLE(dom.raw, at: Offset.dom)
        b.setLE(UInt16(bitPattern: status.rawValue), at: Offset.status)
        b.setLE(frameList.raw, at: Offset.frameList)
        return b
    }
}

/// `struct gnttab_get_version`.
public struct GnttabGetVersion: XenStruct, Equatable, Sendable {
    public static let size = 8
    public enum Offset { public static let dom = 0, pad = 2, version = 4 }
    public var dom: DomainID
    public var version: UInt32
    public init(dom: DomainID, version: UInt32 = 0) { self.dom = dom; self.version = version }
    public init(bytes b: [UInt8]) {
        dom = DomainID(b.le(UInt16.self, at: Offset.dom))
        version = b.le(UInt32.self, at: Offset.version)
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(dom.raw, at: Offset.dom)
        b.setLE(version, at: Offset.version)
        return b
    }
}

/// `struct gnttab_copy_ptr`: a grant ref or a gmfn (the union `u`), a domain and an offset.
public struct GnttabCopyPtr: Equatable, Sendable {
    public static let size = 16
    public enum Offset { public static let u = 0, domid = 8, offset = 10 }
    /// The union: `ref` (low 32 bits) when the op's gref flag is set, else `gmfn`.
    public var u: UInt64
    public var domid: DomainID
    public var offset: UInt16
    public init(ref: GrantRef, domid: DomainID, offset: UInt16) {
        u = UInt64(ref.raw); self.domid = domid; self.offset = offset
    }
    public init(gmfn: GFN, domid: DomainID = .domidSelf, offset: UInt16) {
        u = gmfn.raw; self.domid = domid; self.offset = offset
    }
    public var ref: GrantRef { GrantRef(UInt32(truncatingIfNeeded: u)) }
    public var gmfn: GFN { GFN(u) }
}

/// `struct gnttab_copy`.
public struct GnttabCopy: XenStruct, Equatable, Sendable {
    public static let size = 40
    public enum Offset { public static let source = 0, dest = 16, len = 32, flags = 34, status = 36 }
    public var source: GnttabCopyPtr
    public var dest: GnttabCopyPtr
    public var len: UInt16
    public var flags: GrantCopyFlags
    public var status: GrantStatus
    public init(source: GnttabCopyPtr, dest: GnttabCopyPtr, len: UInt16, flags: GrantCopyFlags,
                status: GrantStatus = .okay) {
        self.source = source; self.dest = dest; self.len = len; self.flags = flags; self.status = status
    }
    public init(bytes b: [UInt8]) { self.init(bytes: b, at: 0) }

    /// Decodes the op at `base` in an array of ops, without slicing.
    public init(bytes b: [UInt8], at base: Int) {
        func ptr(_ o: Int) -> GnttabCopyPtr {
            var p = GnttabCopyPtr(gmfn: GFN(b.le(UInt64.self, at: o + GnttabCopyPtr.Offset.u)),
                                  offset: b.le(UInt16.self, at: o + GnttabCopyPtr.Offset.offset))
            p.domid = DomainID(b.le(UInt16.self, at: o + GnttabCopyPtr.Offset.domid))
            return p
        }
        source = ptr(base + Offset.source)
        dest = ptr(base + Offset.dest)
        len = b.le(UInt16.self, at: base + Offset.len)
        flags = GrantCopyFlags(rawValue: b.le(UInt16.self, at: base + Offset.flags))
        status = GrantStatus(Int16(bitPattern: b.le(UInt16.self, at: base + Offset.status)))
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        for (o, p) in [(Offset.source, source), (Offset.dest, dest)] {
            b.setLE(p.u, at: o + GnttabCopyPtr.Offset.u)
            b.setLE(p.domid.raw, at: o + GnttabCopyPtr.Offset.domid)
            b.setLE(p.offset, at: o + GnttabCopyPtr.Offset.offset)
        }
        b.setLE(len, at: Offset.len)
        b.setLE(flags.rawValue, at: Offset.flags)
        b.setLE(UInt16(bitPattern: status.rawValue), at: Offset.status)
        return b
    }
}
