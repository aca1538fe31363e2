import XenABI

/// Where a connection's outgoing messages go: a socket channel, a guest ring, an in-process
/// client. `deliver` is called with `XenStored`'s lock held, in the order messages are produced;
/// it must queue and return, never call back into the daemon.
protocol XenStoreTransport: AnyObject {
    func deliver(_ message: XenStoreMessage)
    /// The daemon stopped serving this connection (release, protocol error).
    func disconnected(error: UInt32)
}

/// One client of xenstored (Xen's `struct connection`): a domain's ring, a socket, or an
/// in-process client; its identity, watches and open transactions.
///
/// Not thread-safe: every field is read and written only under `XenStored`'s lock.
final class Connection: @unchecked Sendable {
    /// Creation order: watch events go to connections in this order, as in Xen.
    let serial: UInt64
    let domid: DomainID
    let privileged: Bool
    /// Set by SET_TARGET (a device-model stub domain acting for its target).
    var target: DomainID?
    var watches: [Watch] = []
    var transactions: [UInt32: Transaction] = [:]
    var nextTransactionID: UInt32 = 1
    var transport: (any XenStoreTransport)?
    /// Stopped (Xen's `is_ignored`): no more requests are processed, nothing more is sent.
    var isIgnored = false
    /// Messages to send right after the current request's reply (WATCH's first event).
    var afterReply: [XenStoreMessage] = []

    init(serial: UInt64, domid: DomainID, privileged: Bool, transport: (any XenStoreTransport)?) {
        self.serial = serial
        self.domid = domid
        self.privileged = privileged
        self.transport = transport
    }

    var requester: Requester { Requester(domid: domid, privileged: privileged, target: target) }
    var home: String { requester.home }

    func send(_ message: XenStoreMessage) {
        guard !isIgnored else { return }
        transport?.deliver(message)
    }

    /// Drops watches and transactions (RESET_WATCHES, INTRODUCE, close).
    func reset() {
        watches.removeAll()
        transactions.removeAll()
    }
}
