// The xenbus client: xenstore requests over the shared ring (xen/io/xs_wire.h), as Linux's
// drivers/xen/xenbus/xenbus_xs.c speaks them.
//
//  - A request is a struct xsd_sockmsg header {type, req_id, tx_id, len} and `len` payload
//    bytes (at most XENSTORE_PAYLOAD_MAX = 4096; larger requests are refused here with E2BIG
//    before anything is written: xenstored would drop the connection). Arguments are
//    NUL-terminated strings, except a written value.
//  - Replies echo req_id and tx_id; XS_ERROR carries the error's name ("ENOENT\0"), which
//    becomes a XenBusError with Xen's errno (unknown names EINVAL, as Linux's get_error).
//    A reply whose req_id is not the one awaited (left over from a request that timed out)
//    is dropped.
//  - XS_WATCH_EVENT ("path\0token\0") may arrive at any time, before or after a reply: events
//    are queued apart from replies, in a fixed 8 KiB FIFO, and taken with waitWatchEvent.
//    Events that do not fit are dropped and counted (droppedEvents), as xenstored itself
//    drops events for a guest that does not read them.
//  - Memory: WorkArea.xenbus, 4 pages: the reply, the event handed out, the event FIFO. A
//    reply or event returned as XsBytes stays valid until the next XenBus call.
//  - One request at a time, from one vCPU (PetrelOS's tests run on the boot vCPU); no lock.
//    A ring failure in the middle of a message (corrupt indexes, a stalled xenstored) leaves
//    the stream unusable: every later call fails with that error.

/// A xenstore failure: the Xen errno (xen/errno.h, positive) of the XS_ERROR name xenstored
/// sent, or of a local failure (E2BIG: request too long; EIO: corrupt ring or message;
/// ETIMEDOUT: no reply in time; ENODEV: no xenstore).
struct XenBusError: Error, Equatable {
    let errno: Int64

    static let EINVAL = XenBusError(errno: Int64(XEN_EINVAL.rawValue))
    static let EACCES = XenBusError(errno: Int64(XEN_EACCES.rawValue))
    static let EEXIST = XenBusError(errno: Int64(XEN_EEXIST.rawValue))
    static let EISDIR = XenBusError(errno: Int64(XEN_EISDIR.rawValue))
    static let ENOENT = XenBusError(errno: Int64(XEN_ENOENT.rawValue))
    static let ENOMEM = XenBusError(errno: Int64(XEN_ENOMEM.rawValue))
    static let ENOSPC = XenBusError(errno: Int64(XEN_ENOSPC.rawValue))
    static let EIO = XenBusError(errno: Int64(XEN_EIO.rawValue))
    static let ENOTEMPTY = XenBusError(errno: Int64(XEN_ENOTEMPTY.rawValue))
    static let ENOSYS = XenBusError(errno: Int64(XEN_ENOSYS.rawValue))
    static let EROFS = XenBusError(errno: Int64(XEN_EROFS.rawValue))
    static let EBUSY = XenBusError(errno: Int64(XEN_EBUSY.rawValue))
    static let EAGAIN = XenBusError(errno: Int64(XEN_EAGAIN.rawValue))
    static let EISCONN = XenBusError(errno: Int64(XEN_EISCONN.rawValue))
    static let E2BIG = XenBusError(errno: Int64(XEN_E2BIG.rawValue))
    static let EPERM = XenBusError(errno: Int64(XEN_EPERM.rawValue))
    static let ETIMEDOUT = XenBusError(errno: Int64(XEN_ETIMEDOUT.rawValue))
    static let ENODEV = XenBusError(errno: Int64(XEN_ENODEV.rawValue))

    /// The errno's name (xen/errno.h).
    var name: StaticString { XenErrno.name(errno) ?? "E?" }

    /// The error an XS_ERROR payload names: the xsd_errors table of xs_wire.h.
    init(wireName raw: XsBytes) {
        let n = raw.trimmingNul
        if n.equals("EINVAL") { self = .EINVAL }
        else if n.equals("EACCES") { self = .EACCES }
        else if n.equals("EEXIST") { self = .EEXIST }
        else if n.equals("EISDIR") { self = .EISDIR }
        else if n.equals("ENOENT") { self = .ENOENT }
        else if n.equals("ENOMEM") { self = .ENOMEM }
        else if n.equals("ENOSPC") { self = .ENOSPC }
        else if n.equals("EIO") { self = .EIO }
        else if n.equals("ENOTEMPTY") { self = .ENOTEMPTY }
        else if n.equals("ENOSYS") { self = .ENOSYS }
        else if n.equals("EROFS") { self = .EROFS }
        else if n.equals("EBUSY") { self = .EBUSY }
        else if n.equals("EAGAIN") { self = .EAGAIN }
        else if n.equals("EISCONN") { self = .EISCONN }
        else if n.equals("E2BIG") { self = .E2BIG }
        else if n.equals("EPERM") { self = .EPERM }
        else { self = .EINVAL }
    }

    init(errno: Int64) { self.errno = errno }
}

/// One XS_WATCH_EVENT: the path that changed (as the watch was registered: relative paths stay
/// relative) and the watch's token.
struct XsWatchEvent {
    let path: XsBytes
    let token: XsBytes
}

/// A request argument: bytes, and whether a NUL follows them on the wire.
struct XsArg {
    let bytes: XsBytes
    let nul: Bool
    static func string(_ b: XsBytes) -> XsArg { XsArg(bytes: b, nul: true) }
    var wireCount: Int { bytes.count + (nul ? 1 : 0) }
}

extension XsBytes: ExpressibleByStringLiteral {
    init(stringLiteral value: StaticString) { self.init(value) }
}

enum XenBus {
    static let payloadMax = Int(XENSTORE_PAYLOAD_MAX)
    static let headerSize = Int(PETREL_XS_HEADER_SIZE)
    /// How long a request waits for its reply (xenstored answers inside our EVTCHNOP_send on
    /// Petrel; elsewhere it is another domain's process).
    static let replyTimeout: UInt64 = 10 * nsPerSec

    nonisolated(unsafe) private static var started = false
    nonisolated(unsafe) private static var broken: XenBusError? = nil
    nonisolated(unsafe) private static var nextRequestID: UInt32 = 1
    nonisolated(unsafe) private static var queueUsed = 0
    nonisolated(unsafe) private(set) static var queuedEvents = 0
    nonisolated(unsafe) private(set) static var droppedEvents = 0

    private static var reply: PhysRegion { WorkArea.xenbus.sub(0, 4096) }
    private static var event: PhysRegion { WorkArea.xenbus.sub(4096, 4096) }
    private static var queue: PhysRegion { WorkArea.xenbus.sub(8192, 8192) }

    /// Connects to xenstore (needs the runtime: Events.start). Idempotent.
    static func start() throws(XenBusError) {
        if started { return }
        if let e = XenStoreRing.setup() { throw e }
        if XenStoreRing.serverError != 0 { throw .EIO }
        queueUsed = 0
        queuedEvents = 0
        droppedEvents = 0
        broken = nil
        started = true
    }

    // MARK: operations (xenbus_xs.c names)

    /// XS_READ: the node's value.
    static func read(_ path: XsBytes, tx: UInt32 = 0) throws(XenBusError) -> XsBytes {
        try talk(XS_READ, tx: tx, .string(path))
    }

    /// XS_WRITE: `path\0value` (the value has no NUL).
    static func write(_ path: XsBytes, _ value: XsBytes, tx: UInt32 = 0) throws(XenBusError) {
        _ = try talk(XS_WRITE, tx: tx, .string(path), XsArg(bytes: value, nul: false))
    }

    static func mkdir(_ path: XsBytes, tx: UInt32 = 0) throws(XenBusError) {
        _ = try talk(XS_MKDIR, tx: tx, .string(path))
    }

    static func rm(_ path: XsBytes, tx: UInt32 = 0) throws(XenBusError) {
        _ = try talk(XS_RM, tx: tx, .string(path))
    }

    /// XS_DIRECTORY: the children's names, each NUL-terminated (XsBytes.forEachString).
    static func directory(_ path: XsBytes, tx: UInt32 = 0) throws(XenBusError) -> XsBytes {
        try talk(XS_DIRECTORY, tx: tx, .string(path))
    }

    /// XS_GET_PERMS: "<letter><domid>\0" per entry, the owner's first.
    static func getPerms(_ path: XsBytes, tx: UInt32 = 0) throws(XenBusError) -> XsBytes {
        try talk(XS_GET_PERMS, tx: tx, .string(path))
    }

    /// XS_SET_PERMS with up to three entries ("n5", "r0", …), the owner's first.
    static func setPerms(_ path: XsBytes, _ owner: XsBytes, _ p1: XsBytes? = nil, _ p2: XsBytes? = nil,
                         tx: UInt32 = 0) throws(XenBusError) {
        _ = try talk(XS_SET_PERMS, tx: tx, .string(path), .string(owner), p1.map { .string($0) }, p2.map { .string($0) })
    }

    /// XS_WATCH: events for `path` and below carry `token`; the first comes at once.
    static func watch(_ path: XsBytes, token: XsBytes) throws(XenBusError) {
        _ = try talk(XS_WATCH, tx: 0, .string(path), .string(token))
    }

    static func unwatch(_ path: XsBytes, token: XsBytes) throws(XenBusError) {
        _ = try talk(XS_UNWATCH, tx: 0, .string(path), .string(token))
    }

    /// XS_TRANSACTION_START: the new transaction's id.
    static func transactionStart() throws(XenBusError) -> UInt32 {
        let r = try talk(XS_TRANSACTION_START, tx: 0, .string(.empty))
        guard let id = r.trimmingNul.decimal, id != 0, id <= UInt64(UInt32.max) else { throw .EIO }
        return UInt32(id)
    }

    /// XS_TRANSACTION_END: commit ("T") or abort ("F"). EAGAIN: a conflict, try again.
    static func transactionEnd(_ tx: UInt32, commit: Bool) throws(XenBusError) {
        _ = try talk(XS_TRANSACTION_END, tx: tx, .string(commit ? "T" : "F"))
    }

    /// XS_GET_DOMAIN_PATH: "/local/domain/<domid>".
    static func getDomainPath(_ domid: UInt64) throws(XenBusError) -> XsBytes {
        // The event page is free during a request (events handed out so far are now stale).
        var text = XsText(event.sub(0, 32))
        text.append(decimal: domid)
        return try talk(XS_GET_DOMAIN_PATH, tx: 0, .string(text.bytes)).trimmingNul
    }

    // MARK: watch events

    /// The next watch event, waiting up to `timeout` ns for one (0: only what has arrived);
    /// ETIMEDOUT if none comes. The event stays valid until the next XenBus call.
    static func waitWatchEvent(timeout: UInt64) throws(XenBusError) -> XsWatchEvent {
        try usable()
        let deadline = Clock.now() &+ timeout
        while true {
            if queuedEvents > 0, let e = popEvent() { return e }
            if !XenStoreRing.hasInput {
                if !XenStoreRing.wait(until: deadline) && !XenStoreRing.hasInput { throw .ETIMEDOUT }
                continue
            }
            // Nothing is awaited: a reply now is stale and dropped.
            _ = try receive(awaiting: nil)
        }
    }

    // MARK: the exchange

    private static func usable() throws(XenBusError) {
        guard started else { throw .ENODEV }
        if let b = broken { throw b }
    }

    private static func fail(_ e: XenBusError) -> XenBusError {
        broken = e
        return e
    }

    /// Sends one request and waits for its reply.
    private static func talk(_ type: xsd_sockmsg_type, tx: UInt32, _ a: XsArg, _ b: XsArg? = nil,
                             _ c: XsArg? = nil, _ d: XsArg? = nil) throws(XenBusError) -> XsBytes {
        try usable()
        let length = a.wireCount + (b?.wireCount ?? 0) + (c?.wireCount ?? 0) + (d?.wireCount ?? 0)
        guard length <= payloadMax else { throw .E2BIG }
        let id = nextRequestID
        nextRequestID = nextRequestID == UInt32.max ? 1 : nextRequestID + 1
        let deadline = Clock.now() &+ replyTimeout

        var header = xsd_sockmsg(type: type.rawValue, req_id: id, tx_id: tx, len: UInt32(length))
        let e = withGuestAddress(of: &header) { XenStoreRing.write(from: $0, count: headerSize, deadline: deadline) }
        if let e { throw fail(e) }
        try send(a, deadline)
        if let b { try send(b, deadline) }
        if let c { try send(c, deadline) }
        if let d { try send(d, deadline) }

        while true {
            if !XenStoreRing.hasInput {
                // Nothing half-read yet: a timeout here leaves the stream intact.
                if !XenStoreRing.wait(until: deadline) && !XenStoreRing.hasInput { throw .ETIMEDOUT }
                continue
            }
            if let r = try receive(awaiting: id) { return r }
        }
    }

    private static func send(_ arg: XsArg, _ deadline: UInt64) throws(XenBusError) {
        if arg.bytes.count > 0,
           let e = XenStoreRing.write(from: arg.bytes.address, count: arg.bytes.count, deadline: deadline) {
            throw fail(e)
        }
        guard arg.nul else { return }
        var nul: UInt8 = 0
        if let e = withGuestAddress(of: &nul, { XenStoreRing.write(from: $0, count: 1, deadline: deadline) }) {
            throw fail(e)
        }
    }

    /// Reads one whole message. A watch event is queued; a reply to `id` is returned (an
    /// XS_ERROR one thrown); any other reply is dropped (nil).
    private static func receive(awaiting id: UInt32?) throws(XenBusError) -> XsBytes? {
        // Once a header has started, the rest of the message is on its way: a generous deadline.
        let deadline = Clock.now() &+ replyTimeout
        var header = xsd_sockmsg()
        let e = withGuestAddress(of: &header) { XenStoreRing.read(into: $0, count: headerSize, deadline: deadline) }
        if let e { throw fail(e) }
        let length = Int(header.len)
        guard length <= payloadMax else { throw fail(.EIO) }

        if header.type == XS_WATCH_EVENT.rawValue {
            try enqueueEvent(length, deadline)
            return nil
        }
        if let e = XenStoreRing.read(into: reply.base, count: length, deadline: deadline) { throw fail(e) }
        guard let id, header.req_id == id else { return nil }
        let payload = XsBytes(reply, count: length)
        if header.type == XS_ERROR.rawValue { throw XenBusError(wireName: payload) }
        return payload
    }

    // MARK: the event FIFO (entries: u32 length, u32 pad, payload padded to 8)

    private static func enqueueEvent(_ length: Int, _ deadline: UInt64) throws(XenBusError) {
        let need = 8 + (length + 7) & ~7
        guard queueUsed + need <= queue.size else {
            if let e = XenStoreRing.skip(length, through: event, deadline: deadline) { throw fail(e) }
            droppedEvents += 1
            return
        }
        if let e = XenStoreRing.read(into: queue.checkedAddress(queueUsed + 8, length), count: length,
                                     deadline: deadline) { throw fail(e) }
        queue.store32(queueUsed, UInt32(length))
        queueUsed += need
        queuedEvents += 1
    }

    /// Moves the oldest queued event to the event page; nil (dropping it) if it is malformed.
    private static func popEvent() -> XsWatchEvent? {
        let length = Int(queue.load32(0))
        let entry = 8 + (length + 7) & ~7
        if length > 0 { petrel_memcpy(event.base, queue.checkedAddress(8, length), UInt64(length)) }
        // Shift the rest down (a forward copy to a lower address is safe when ranges overlap).
        let rest = queueUsed - entry
        if rest > 0 { petrel_memcpy(queue.base, queue.checkedAddress(entry, rest), UInt64(rest)) }
        queueUsed = rest
        queuedEvents -= 1
        let payload = XsBytes(event, count: length)
        guard let path = payload.string(0), let token = payload.string(1) else {
            droppedEvents += 1
            return nil
        }
        return XsWatchEvent(path: path, token: token)
    }
}
