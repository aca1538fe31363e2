public import XenABI

/// A guest's connection to xenstored over its shared ring (Xen's domain.c `readchn`/`writechn`
/// and core.c `handle_input`/`write_messages`).
///
/// The hypervisor calls `handleEvent()` whenever the guest signals the domain's xenstore event
/// channel: xenstored then writes what it can of queued replies and events into the response ring,
/// reads requests from the request ring (never past the message it is assembling), answers
/// them, and signals back. Replies and watch events that do not fit wait for the guest to consume
/// and signal again. An unprivileged guest with `maxOutstandingRequests` replies unconsumed is not
/// read until it catches up, and watch events beyond `maxPendingOutputBytes` are dropped.
///
/// A guest that corrupts its indexes (`XENSTORE_ERROR_RINGIDX`) or announces a payload over
/// 4096 bytes (`XENSTORE_ERROR_PROTO`) gets the error in the page's `error` word and is no
/// longer served until the toolstack introduces it again.
///
/// The connection does not keep its `XenStored` alive: once the daemon is gone, `handleEvent()`
/// does nothing.
///
/// Locking: all state is guarded by the owning `XenStored`'s lock.
public final class XenStoreRingConnection: @unchecked Sendable {
    public let domid: DomainID
    /// The event channel the toolstack introduced the ring with.
    public private(set) var port: EvtchnPort
    private weak var daemon: XenStored?
    private let access: any XenStoreRingAccess
    var connection: Connection?

    private var reader = XenStoreFrameReader()
    private var output: [(bytes: [UInt8], isReply: Bool)] = []
    private var outputOffset = 0
    private var pendingBytes = 0
    private var queuedReplies = 0
    private var stopped = false

    init(daemon: XenStored, domid: DomainID, port: EvtchnPort, access: any XenStoreRingAccess) {
        self.daemon = daemon
        self.domid = domid
        self.port = port
        self.access = access
    }

    /// The guest signalled the xenstore event channel (or the hypervisor polls): serve the ring.
    /// Safe from any thread; the work (and the `notify()` back) happens on the caller's thread
    /// under xenstored's lock, so the caller must not hold a lock that `XenStoreRingAccess.notify`
    /// takes, or it should hand the call to a thread of its own.
    public func handleEvent() {
        guard let daemon else { return }
        daemon.locked { serviceLocked(daemon) }
    }

    private func serviceLocked(_ daemon: XenStored) {
        guard let conn = connection, !stopped else { return }
        flush()
        var consumed = false
        while !stopped {
            if !conn.privileged && queuedReplies >= daemon.config.maxOutstandingRequests { break }
            let cons = access.readWord(at: XenStoreRingLayout.requestConsumer)
            let prod = access.readWord(at: XenStoreRingLayout.requestProducer)
            guard XenStoreRingIndex.isValid(consumer: cons, producer: prod) else {
                fail(XenStoreRingLayout.errorRingIndex)
                break
            }
            let chunk = XenStoreRingIndex.inputChunk(consumer: cons, producer: prod)
            let n = min(chunk.length, reader.bytesNeeded)
            if n == 0 { break }
            let bytes = access.readBytes(at: XenStoreRingLayout.requestRing + chunk.offset, count: n)
            access.writeWord(at: XenStoreRingLayout.requestConsumer, cons &+ UInt32(n))
            consumed = true
            reader.append(bytes)
            while !stopped, let frame = reader.next() {
                switch frame {
                case .message(let m): daemon.process(m, from: conn)
                case .oversized: fail(XenStoreRingLayout.errorProtocol)
                }
            }
        }
        if consumed { access.notify() }
    }

    /// Writes queued output into the response ring as far as it fits.
    private func flush() {
        var wrote = false
        while !stopped, let first = output.first {
            let cons = access.readWord(at: XenStoreRingLayout.responseConsumer)
            let prod = access.readWord(at: XenStoreRingLayout.responseProducer)
            guard XenStoreRingIndex.isValid(consumer: cons, producer: prod) else {
                fail(XenStoreRingLayout.errorRingIndex)
                return
            }
            let chunk = XenStoreRingIndex.outputChunk(consumer: cons, producer: prod)
            let n = min(chunk.length, first.bytes.count - outputOffset)
            if n == 0 { break }
            access.writeBytes(at: XenStoreRingLayout.responseRing + chunk.offset,
                              Array(first.bytes[outputOffset..<(outputOffset + n)]))
            access.writeWord(at: XenStoreRingLayout.responseProducer, prod &+ UInt32(n))
            wrote = true
            outputOffset += n
            pendingBytes -= n
            if outputOffset == first.bytes.count {
                output.removeFirst()
                outputOffset = 0
                if first.isReply { queuedReplies -= 1 }
            }
        }
        if wrote { access.notify() }
    }

    private func fail(_ error: UInt32) {
        guard !stopped else { return }
        access.writeWord(at: XenStoreRingLayout.error, error)
        if let conn = connection, let daemon { daemon.ignore(conn, error: error) }
        disconnected(error: error)
    }

    /// INTRODUCE again: the guest's ring is at a new port.
    func rebind(port: EvtchnPort) { self.port = port }

    /// `domain_conn_reset` at INTRODUCE: forget partial input and queued output, zero the
    /// indexes, advertise the error word, and complete a guest-requested reconnection.
    func resetRing() {
        reader.reset()
        output.removeAll()
        outputOffset = 0
        pendingBytes = 0
        queuedReplies = 0
        stopped = false
        for field in [XenStoreRingLayout.requestConsumer, XenStoreRingLayout.requestProducer,
                      XenStoreRingLayout.responseConsumer, XenStoreRingLayout.responseProducer,
                      XenStoreRingLayout.error] {
            access.writeWord(at: field, 0)
        }
        access.writeWord(at: XenStoreRingLayout.serverFeatures, XenStoreRingLayout.featureError)
        if access.readWord(at: XenStoreRingLayout.connection) == XenStoreRingLayout.reconnect {
            access.writeWord(at: XenStoreRingLayout.connection, XenStoreRingLayout.connected)
            access.notify()
        }
    }
}

extension XenStoreRingConnection: XenStoreTransport {
    func deliver(_ message: XenStoreMessage) {
        guard !stopped else { return }
        let bytes = message.encoded
        let isReply = message.type != .watchEvent
        if !isReply, let daemon, pendingBytes + bytes.count > daemon.config.maxPendingOutputBytes {
            daemon.logger.warning("xenstored: \(domid) is not consuming its ring; watch event dropped")
            return
        }
        output.append((bytes, isReply))
        pendingBytes += bytes.count
        if isReply { queuedReplies += 1 }
        flush()
    }

    func disconnected(error: UInt32) {
        stopped = true
        output.removeAll()
        outputOffset = 0
        pendingBytes = 0
        queuedReplies = 0
    }
}
