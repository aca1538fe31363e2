// The xenstore ring, the guest's side (xen/io/xs_wire.h: struct xenstore_domain_interface),
// as Linux's drivers/xen/xenbus/xenbus_comms.c (xb_write, xb_read):
//
//  - The page is at HVM_PARAM_STORE_PFN << 12, its event channel HVM_PARAM_STORE_EVTCHN
//    (a port bound to xenstored by the toolstack; EVTCHNOP_send on it wakes xenstored).
//  - req[] is ours to produce into, rsp[] xenstored's; indexes run freely (mod 2^32) and
//    MASK_XENSTORE_IDX picks the offset. A producer more than a ring ahead of its consumer
//    is a corrupt page: the connection is unusable (EIO).
//  - Write: read both indexes, mb, copy data, wmb, publish req_prod, notify.
//    Read: read rsp_prod, rmb, copy data, mb, publish rsp_cons; notify if the ring was full
//    (xenstored may have more to write).
//  - Waiting (ring full, no reply yet) is SCHEDOP_poll on the port, with a deadline; the port
//    stays masked (no upcall), and its pending bit is cleared after each wakeup before the
//    ring is looked at again, so an event between the check and the poll ends the poll.
//
// Each load/store of an index is one instruction (Atomics.swift); x86 is TSO, so mb/wmb/rmb
// are petrel_barrier() (mfence), which also stops the compiler reordering around them.

enum XenStoreRing {
    nonisolated(unsafe) private(set) static var page: PhysRegion? = nil
    nonisolated(unsafe) private(set) static var port: UInt32 = 0

    static let size = UInt32(XENSTORE_RING_SIZE)
    private static let reqOffset = Int(PETREL_XS_REQ)
    private static let rspOffset = Int(PETREL_XS_RSP)
    private static let reqCons = Int(PETREL_XS_REQ_CONS)
    private static let reqProd = Int(PETREL_XS_REQ_PROD)
    private static let rspCons = Int(PETREL_XS_RSP_CONS)
    private static let rspProd = Int(PETREL_XS_RSP_PROD)
    static let serverFeaturesOffset = Int(PETREL_XS_SERVER_FEATURES)
    static let errorOffset = Int(PETREL_XS_ERROR)

    /// Finds the page and port from the HVM params. The runtime (shared_info, Events.start)
    /// must be running: waiting clears the port's pending bit in shared_info.
    static func setup() -> XenBusError? {
        guard Events.started else { return .EINVAL }
        let (rcPfn, pfn) = Xen.hvmGetParam(HVM_PARAM_STORE_PFN)
        if rcPfn < 0 { return XenBusError(errno: -rcPfn) }
        let (rcPort, evtchn) = Xen.hvmGetParam(HVM_PARAM_STORE_EVTCHN)
        if rcPort < 0 { return XenBusError(errno: -rcPort) }
        // No store, or a page outside what PetrelOS maps: no xenstore to talk to.
        guard pfn != 0, evtchn != 0, evtchn < UInt64(Events.maxPorts),
              pfn < (identityMappedLimit >> 12) - 1 else { return .ENODEV }
        page = PhysRegion(base: pfn << 12, size: Int(PETREL_XS_INTERFACE_SIZE))
        port = UInt32(evtchn)
        Events.mask(port)
        return nil
    }

    /// The error xenstored reported in the page (XENSTORE_ERROR_*), if it advertises the field.
    static var serverError: UInt32 {
        guard let p = page else { return 0 }
        guard p.load32(serverFeaturesOffset) & UInt32(XENSTORE_SERVER_FEATURE_ERROR) != 0 else { return 0 }
        return p.load32(errorOffset)
    }

    static func notify() { _ = EventChannel.send(port) }

    /// Sleeps until the port fires or system time reaches `deadline`; false once it has passed.
    /// Clears the pending bit afterwards: the caller looks at the ring again.
    static func wait(until deadline: UInt64) -> Bool {
        if Clock.now() >= deadline { return false }
        _ = Sched.poll(port: port, timeout: deadline, window: false)
        Events.clearPending(port)
        return true
    }

    /// Copies `count` bytes at `address` into req[], waiting for room. EIO for a corrupt
    /// page, ETIMEDOUT if xenstored makes no room before `deadline`.
    static func write(from address: UInt64, count: Int, deadline: UInt64) -> XenBusError? {
        guard let p = page else { return .ENODEV }
        var done = 0
        while done < count {
            let cons = p.load32(reqCons)
            let prod = p.load32(reqProd)
            let used = prod &- cons
            if used > size { return .EIO }
            if used == size {
                notify()
                if !wait(until: deadline) { return .ETIMEDOUT }
                continue
            }
            petrel_barrier()                       // mb: indexes before data
            let offset = Int(prod & (size - 1))
            let n = min(Int(size - used), Int(size) - offset, count - done)
            petrel_memcpy(p.checkedAddress(reqOffset + offset, n), address + UInt64(done), UInt64(n))
            petrel_barrier()                       // wmb: data before the index
            p.store32(reqProd, prod &+ UInt32(n))
            done += n
        }
        notify()
        return nil
    }

    /// True if rsp[] holds unread bytes (or its indexes are corrupt: the reader will say so).
    static var hasInput: Bool {
        guard let p = page else { return false }
        return p.load32(rspProd) != p.load32(rspCons)
    }

    /// Copies `count` bytes out of rsp[] to `address`, waiting for them. EIO for a corrupt
    /// page, ETIMEDOUT if they do not all arrive before `deadline`.
    static func read(into address: UInt64, count: Int, deadline: UInt64) -> XenBusError? {
        guard let p = page else { return .ENODEV }
        var done = 0
        while done < count {
            let cons = p.load32(rspCons)
            let prod = p.load32(rspProd)
            let avail = prod &- cons
            if avail > size { return .EIO }
            if avail == 0 {
                if !wait(until: deadline) { return .ETIMEDOUT }
                continue
            }
            petrel_barrier()                       // rmb: the index before the data
            let offset = Int(cons & (size - 1))
            let n = min(Int(avail), Int(size) - offset, count - done)
            petrel_memcpy(address + UInt64(done), p.checkedAddress(rspOffset + offset, n), UInt64(n))
            petrel_barrier()                       // mb: data read before the space is freed
            p.store32(rspCons, cons &+ UInt32(n))
            // xenstored stops writing when the ring is full: tell it there is room again.
            if avail == size { notify() }
            done += n
        }
        return nil
    }

    /// Reads and drops `count` bytes (a message no one wants) in chunks through `scratch`.
    static func skip(_ count: Int, through scratch: PhysRegion, deadline: UInt64) -> XenBusError? {
        var left = count
        while left > 0 {
            let n = min(left, scratch.size)
            if let e = read(into: scratch.base, count: n, deadline: deadline) { return e }
            left -= n
        }
        return nil
    }
}
