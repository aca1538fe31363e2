// The physical-CPU driver of a privileged guest, as Linux's drivers/xen/pcpu.c: the guest's
// own list of the machine's CPUs, read with XENPF_get_cpuinfo and kept in sync on
// VIRQ_PCPU_STATE (PCPUSync.swift), with subscribers told of every change, lookups by APIC
// id and by ACPI id, and XENPF_cpu_online/offline requests.
//
// Three numbering schemes, never mixed, each its own type: the pCPU index Xen's platform ops
// take (PCPUIndex, `xen_cpuid`), the local APIC id (APICID) and the ACPI processor id
// (ACPIID). They coincide on many machines only by accident.
//
// Failures are PCPUError values carrying Xen's errno, never sentinel values: a CPU that is
// not there is ENOENT, an id Xen calls unknown (~0) is EINVAL, a driver that never
// enumerated is ENODEV, a table too small for the machine is ENOSPC.
//
// State (WorkArea.pcpu, one page, no heap; .noinit memory, set up on first use and marked by a
// magic word): a header, then two tables of `capacity`
// 12-byte entries {state, apic_id, acpi_id} indexed by pCPU index; one is current, the other
// receives the next scan and becomes current when it completes (so a failed scan changes
// nothing, and subscribers see the new table). Everything but `pending` and `eventAt` is
// touched only by the vCPU that calls the driver (vCPU 0 in PetrelOS's tests), with no lock;
// the VIRQ handler runs on vCPU 0 too.

/// A pCPU number as Xen's platform ops take it (`xen_cpuid`, `xenpf_cpu_ol.cpuid`).
struct PCPUIndex: Equatable {
    let raw: UInt32
    init(_ raw: UInt32) { self.raw = raw }
}

/// A local (x2)APIC id, as XENPF_get_cpuinfo reports it.
struct APICID: Equatable {
    let raw: UInt32
    init(_ raw: UInt32) { self.raw = raw }
}

/// An ACPI processor id (the MADT's processor UID), as XENPF_get_cpuinfo reports it.
struct ACPIID: Equatable {
    let raw: UInt32
    init(_ raw: UInt32) { self.raw = raw }
}

/// A pCPU driver failure: a Xen errno (xen/errno.h, positive), Xen's own or the driver's.
struct PCPUError: Error, Equatable {
    let errno: Int64

    static let EPERM = PCPUError(errno: XenErrno.EPERM)
    static let ENOENT = PCPUError(errno: XenErrno.ENOENT)
    static let EINVAL = PCPUError(errno: XenErrno.EINVAL)
    static let ENOSPC = PCPUError(errno: XenErrno.ENOSPC)
    static let EBUSY = PCPUError(errno: XenErrno.EBUSY)
    static let EOPNOTSUPP = PCPUError(errno: XenErrno.EOPNOTSUPP)
    static let ENODEV = PCPUError(errno: Int64(XEN_ENODEV.rawValue))
    static let EIO = PCPUError(errno: Int64(XEN_EIO.rawValue))
    static let EACCES = PCPUError(errno: Int64(XEN_EACCES.rawValue))

    /// From a hypercall's negative result.
    init(rc: Int64) { errno = 0 &- rc }
    init(errno: Int64) { self.errno = errno }

    var name: StaticString { XenErrno.name(errno) ?? "E?" }
}

/// One present pCPU as the guest last saw it. An id Xen reported as unknown (~0: BAD_APICID,
/// INVALID_ACPIID) is nil.
struct PCPUInfo: Equatable {
    let index: PCPUIndex
    let apic: APICID?
    let acpi: ACPIID?
    let online: Bool
}

/// What subscribers hear, per pCPU, in this order when several happen at once.
enum PCPUChange: UInt32 {
    case added = 1
    case online = 2
    case offline = 3
    case removed = 4

    var name: StaticString {
        switch self {
        case .added: return "added"
        case .online: return "online"
        case .offline: return "offline"
        case .removed: return "removed"
        }
    }
}

/// A subscriber: (PCPUChange raw value, pCPU index). Runs in the caller of `PCPU.sync`,
/// after the table changed (lookups see the new state), never in the upcall.
typealias PCPUSubscriber = @convention(c) (UInt32, UInt32) -> Void

enum PCPU {
    /// Entries per table: pCPU indexes 0..<capacity (a larger machine is ENOSPC).
    static let capacity = 160
    static let entrySize = 12
    static let stateOffset = 0, apicOffset = 4, acpiOffset = 8
    static let present: UInt32 = 1, onlineBit: UInt32 = 2
    /// Xen's "no such id" (BAD_APICID, INVALID_ACPIID).
    static let unknownID: UInt32 = 0xFFFF_FFFF

    // Header fields (byte offsets in WorkArea.pcpu).
    enum Field: Int {
        case pending = 0        // u64: VIRQ_PCPU_STATE events not yet synced (handler)
        case eventAt = 8        // u64: pvclock ns of the first of them (handler)
        case generation = 16    // u64: completed syncs
        case port = 32          // u32: the VIRQ's port, 0 = not bound
        case known = 36         // u32: current table covers indexes 0..<known; 0 = never synced
        case maxPresent = 40    // u32: max_present of the last sync
        case current = 44       // u32: which table is current (0 or 1)
        case lastEventAt = 48   // u64: eventAt of the events the last sync consumed (0: none)
        case magic = 56         // u32: `magicValue` once initialised (the page is not zeroed at boot)
    }
    static let magicValue: UInt32 = 0x5043_5055  // "UPCP"
    static let subscriberOffset = 64
    static let maxSubscribers = 8
    static let tableOffset = 128

    static var area: PhysRegion { WorkArea.pcpu }

    static func table(_ which: UInt32) -> PhysRegion {
        area.sub(tableOffset + Int(which) * capacity * entrySize, capacity * entrySize)
    }

    static var current: PhysRegion { table(area.load32(Field.current.rawValue)) }

    /// Forgets everything: no table, no subscribers, nothing pending, VIRQ not bound (call
    /// `stop` first if it was).
    static func reset() {
        area.zero()
    }

    /// The page holds the driver's state (it is .noinit memory: garbage until then).
    static var initialized: Bool { area.load32(Field.magic.rawValue) == magicValue }

    static func initializeIfNeeded() {
        guard !initialized else { return }
        area.zero()
        area.store32(Field.magic.rawValue, magicValue)
    }

    // MARK: reading the guest's list

    /// Completed syncs so far.
    static var generation: UInt64 { area.load64(Field.generation.rawValue) }
    /// When the VIRQ that the last sync answered arrived (0 if it answered none).
    static var lastEventAt: UInt64 { area.load64(Field.lastEventAt.rawValue) }
    /// The highest present index at the last sync (Xen's max_present).
    static var maxPresent: UInt32 { area.load32(Field.maxPresent.rawValue) }
    /// VIRQ_PCPU_STATE events not yet answered by a sync.
    static var pending: UInt64 { initialized ? area.load64(Field.pending.rawValue) : 0 }

    private static var known: Int { initialized ? Int(area.load32(Field.known.rawValue)) : 0 }

    static func entry(_ t: PhysRegion, _ i: Int) -> (state: UInt32, apic: UInt32, acpi: UInt32) {
        let o = i * entrySize
        return (t.load32(o + stateOffset), t.load32(o + apicOffset), t.load32(o + acpiOffset))
    }

    private static func info(_ i: Int, _ e: (state: UInt32, apic: UInt32, acpi: UInt32)) -> PCPUInfo {
        PCPUInfo(index: PCPUIndex(UInt32(i)),
                 apic: e.apic == unknownID ? nil : APICID(e.apic),
                 acpi: e.acpi == unknownID ? nil : ACPIID(e.acpi),
                 online: e.state & onlineBit != 0)
    }

    /// The pCPU at `cpu`: ENODEV before the first sync, ENOENT if it is not present.
    static func info(_ cpu: PCPUIndex) throws(PCPUError) -> PCPUInfo {
        let n = known
        guard n > 0 else { throw .ENODEV }
        guard Int(cpu.raw) < n else { throw .ENOENT }
        let e = entry(current, Int(cpu.raw))
        guard e.state & present != 0 else { throw .ENOENT }
        return info(Int(cpu.raw), e)
    }

    /// Calls `body` for each present pCPU, by ascending index.
    static func forEach(_ body: (PCPUInfo) -> Void) {
        let t = current
        for i in 0..<known {
            let e = entry(t, i)
            if e.state & present != 0 { body(info(i, e)) }
        }
    }

    /// Present pCPUs, and how many of them are online.
    static var counts: (present: Int, online: Int) {
        var p = 0, o = 0
        forEach { c in
            p += 1
            if c.online { o += 1 }
        }
        return (p, o)
    }

    /// The present pCPU whose local APIC id is `apic`. ~0 is Xen's "unknown", not an id:
    /// EINVAL. None: ENOENT (ENODEV before the first sync).
    static func index(apic: APICID) throws(PCPUError) -> PCPUIndex {
        guard apic.raw != unknownID else { throw .EINVAL }
        return try find(apicOffset, apic.raw)
    }

    /// The present pCPU whose ACPI processor id is `acpi`; errors as `index(apic:)`.
    static func index(acpi: ACPIID) throws(PCPUError) -> PCPUIndex {
        guard acpi.raw != unknownID else { throw .EINVAL }
        return try find(acpiOffset, acpi.raw)
    }

    private static func find(_ field: Int, _ value: UInt32) throws(PCPUError) -> PCPUIndex {
        let n = known
        guard n > 0 else { throw .ENODEV }
        let t = current
        for i in 0..<n where t.load32(i * entrySize + stateOffset) & present != 0 {
            if t.load32(i * entrySize + field) == value { return PCPUIndex(UInt32(i)) }
        }
        throw .ENOENT
    }

    // MARK: asking Xen to change a pCPU

    /// XENPF_cpu_offline: no vCPU may run on `cpu` once this returns. Xen's errnos: CPU 0
    /// EOPNOTSUPP, no such present CPU EINVAL, the last online CPU EBUSY, a guest that is not
    /// privileged EPERM. The guest's list changes on the VIRQ_PCPU_STATE that follows.
    static func offline(_ cpu: PCPUIndex) throws(PCPUError) {
        let rc = PlatformOp.cpuOffline(cpu.raw)
        if rc != 0 { throw PCPUError(rc: rc) }
    }

    /// XENPF_cpu_online: vCPUs may run on `cpu` again. Xen's errnos: no such present CPU
    /// EINVAL, a CPU the host itself has offline EIO, not privileged EPERM.
    static func online(_ cpu: PCPUIndex) throws(PCPUError) {
        let rc = PlatformOp.cpuOnline(cpu.raw)
        if rc != 0 { throw PCPUError(rc: rc) }
    }

    // MARK: subscribers

    /// Registers `subscriber` for every later change (before or after `start`); ENOSPC when
    /// all slots are taken. Registering one twice makes it hear each change twice.
    static func subscribe(_ subscriber: PCPUSubscriber) throws(PCPUError) {
        initializeIfNeeded()
        let address = UInt64(UInt(bitPattern: unsafeBitCast(subscriber, to: Int.self)))
        for s in 0..<maxSubscribers where area.load64(subscriberOffset + 8 * s) == 0 {
            area.store64(subscriberOffset + 8 * s, address)
            return
        }
        throw .ENOSPC
    }

    /// Removes one registration of `subscriber`; ENOENT if it has none.
    static func unsubscribe(_ subscriber: PCPUSubscriber) throws(PCPUError) {
        guard initialized else { throw .ENOENT }
        let address = UInt64(UInt(bitPattern: unsafeBitCast(subscriber, to: Int.self)))
        for s in 0..<maxSubscribers where area.load64(subscriberOffset + 8 * s) == address {
            area.store64(subscriberOffset + 8 * s, 0)
            return
        }
        throw .ENOENT
    }

    static func notify(_ change: PCPUChange, _ cpu: Int) {
        for s in 0..<maxSubscribers {
            let address = area.load64(subscriberOffset + 8 * s)
            guard address != 0 else { continue }
            let subscriber = unsafeBitCast(Int(bitPattern: UInt(address)), to: PCPUSubscriber.self)
            subscriber(change.rawValue, UInt32(cpu))
        }
    }
}
