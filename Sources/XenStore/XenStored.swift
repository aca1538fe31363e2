public import Logging
public import XenABI
import Synchronization

/// xenstored: the tree, its permissions, transactions, watches, domains and quotas, behind the
/// wire protocol of `xen/io/xs_wire.h`, behaving as Xen's C xenstored (`tools/xenstored`).
///
/// Transports feed it whole messages from a connection (a unix socket client, a guest's
/// shared ring, an in-process client) and it answers through that connection's transport.
/// The toolstack also uses it directly as dom0 (`XenStored+Toolstack.swift`).
///
/// Locking: one lock (`lock`) guards all state — the node database, connections, domains,
/// transactions and watches — so every request is atomic, as in the single-threaded C daemon.
/// Transports' `deliver` runs with the lock held and must only queue. Public methods take the
/// lock themselves; none may be called from a transport's `deliver` or an in-process client's
/// message callback.
public final class XenStored: @unchecked Sendable {
    /// A way to reach a guest's `xenstore_domain_interface` page: given at INTRODUCE time with
    /// the domain, the frame it names and the event-channel port (Xen maps the page by grant).
    public typealias RingProvider = @Sendable (DomainID, GFN, EvtchnPort) throws(XenStoreError) -> any XenStoreRingAccess

    public let config: XenStoreConfig
    let logger: Logger
    let ringProvider: RingProvider?
    private let lock = Mutex<Void>(())

    // Guarded by `lock`.
    let db = NodeDatabase()
    /// Live connections in creation order.
    var connections: [Connection] = []
    var domains: [DomainID: DomainRecord] = [:]
    private var nextSerial: UInt64 = 0
    /// The in-process toolstack's identity: dom0, no transport, no watches.
    let toolstack = Connection(serial: 0, domid: .control, privileged: true, transport: nil)

    public init(config: XenStoreConfig = XenStoreConfig(),
                logger: Logger = Logger(label: "petrel.xenstored"),
                ringProvider: RingProvider? = nil) {
        self.config = config
        self.logger = logger
        self.ringProvider = ringProvider
    }

    /// Runs `body` with the lock held.
    func locked<T: Sendable, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        try lock.withLock { (_: inout Void) throws(E) -> T in try body() }
    }

    // MARK: Connections (under the lock)

    func addConnection(domid: DomainID, privileged: Bool, transport: (any XenStoreTransport)?) -> Connection {
        nextSerial += 1
        let c = Connection(serial: nextSerial, domid: domid, privileged: privileged, transport: transport)
        connections.append(c)
        return c
    }

    func removeConnection(_ c: Connection) {
        c.reset()
        c.isIgnored = true
        c.transport = nil
        connections.removeAll { $0 === c }
    }

    /// Xen's `ignore_connection`: stop serving a connection that broke the protocol.
    func ignore(_ c: Connection, error: UInt32) {
        logger.warning("xenstored: dropping connection of \(c.domid) (error \(error))")
        c.reset()
        c.isIgnored = true
        c.transport?.disconnected(error: error)
    }

    func isPrivileged(_ domid: DomainID) -> Bool { config.privilegedDomains.contains(domid) }

    // MARK: Requests (under the lock)

    /// Xen's `process_message`: one request, one reply (after any watch events it caused on the
    /// same connection).
    func process(_ message: XenStoreMessage, from conn: Connection) {
        guard !conn.isIgnored else { return }
        do throws(XenStoreError) {
            let (type, payload) = try dispatch(message, from: conn)
            guard payload.count <= XenStoreLimits.payloadMax else { throw .E2BIG }
            conn.send(XenStoreMessage(rawType: type.rawValue, requestID: message.requestID,
                                      transactionID: message.transactionID, payload: payload))
            for m in conn.afterReply { conn.send(m) }
            conn.afterReply.removeAll()
        } catch {
            conn.afterReply.removeAll()
            conn.send(XenStoreMessage(.error, requestID: message.requestID,
                                      transactionID: message.transactionID, payload: error.wirePayload))
        }
    }

    private func dispatch(_ m: XenStoreMessage, from conn: Connection)
        throws(XenStoreError) -> (XenStoreMessageType, [UInt8])
    {
        guard let type = m.type, type != .watchEvent, type != .error else { throw .ENOSYS }
        if type.requiresPrivilege && !conn.privileged { throw .EACCES }
        var tx: Transaction?
        if !type.ignoresTransactionID && m.transactionID != 0 {
            guard let t = conn.transactions[m.transactionID] else { throw .ENOENT }
            tx = t
        }
        let r = Request(message: m, conn: conn, tx: tx, db: db, config: config)
        let payload: [UInt8]
        switch type {
        case .directory: payload = try doDirectory(r)
        case .directoryPart: payload = try doDirectoryPart(r)
        case .read: payload = try doRead(r)
        case .write: payload = try doWrite(r)
        case .mkdir: payload = try doMkdir(r)
        case .rm: payload = try doRm(r)
        case .getPerms: payload = try doGetPerms(r)
        case .setPerms: payload = try doSetPerms(r)
        case .watch: payload = try doWatch(r)
        case .unwatch: payload = try doUnwatch(r)
        case .transactionStart: payload = try doTransactionStart(r)
        case .transactionEnd: payload = try doTransactionEnd(r)
        case .resetWatches: payload = doResetWatches(r)
        case .getDomainPath: payload = try doGetDomainPath(r)
        case .introduce: payload = try doIntroduce(r)
        case .release: payload = try doRelease(r)
        case .isDomainIntroduced: payload = try doIsDomainIntroduced(r)
        case .resume: payload = try doResume(r)
        case .setTarget: payload = try doSetTarget(r)
        case .control: payload = try doControl(r)
        case .watchEvent, .error: throw .ENOSYS
        }
        return (type, payload)
    }

    // MARK: Watches (under the lock)

    /// Fires the watches a change triggers, or queues them in the transaction it happened in.
    func fire(_ changes: [NodeChange], in tx: Transaction?) {
        if let tx {
            for c in changes { tx.queueWatch(c.name, exact: c.exact) }
            return
        }
        for c in changes { fireNow(c) }
    }

    /// `fire_watches`: each matching watch of each connection that may read the node (or its
    /// parent, or the node under its old permissions) gets one event.
    func fireNow(_ c: NodeChange) {
        for conn in connections where !conn.isIgnored && !conn.watches.isEmpty {
            let who = conn.requester
            guard c.perms.contains(where: { who.rights(on: $0).contains(.read) }) else { continue }
            for w in conn.watches where w.matches(c.name, exact: c.exact) {
                if let p = w.eventPayload(for: c.name) { conn.send(XenStoreMessage(.watchEvent, payload: p)) }
            }
        }
    }

    /// `fire_special_watches`: `@introduceDomain` / `@releaseDomain`, exact, through the special
    /// node's permissions.
    func fireSpecial(_ name: String) {
        guard let n = db[name] else { return }
        var perms = [n.perms]
        if let root = db[XenStorePath.root] { perms.append(root.perms) }
        fireNow(NodeChange(name: name, exact: true, perms: perms))
    }
}

extension XenStoreMessageType {
    /// Xen's `XS_FLAG_PRIV`: only dom0, privileged domains and the socket.
    var requiresPrivilege: Bool {
        switch self {
        case .control, .introduce, .release, .isDomainIntroduced, .resume, .setTarget: true
        default: false
        }
    }

    /// Xen's `XS_FLAG_NOTID`: the header's tx_id is not looked up.
    var ignoresTransactionID: Bool { self == .watch || self == .unwatch }
}

/// One request in flight: the message, who sent it, the transaction it runs in, and its view.
struct Request {
    let message: XenStoreMessage
    let conn: Connection
    let tx: Transaction?
    let db: NodeDatabase
    let config: XenStoreConfig

    var view: TreeView { TreeView(db: db, tx: tx, requester: conn.requester, config: config) }

    /// Canonicalises a name argument for this connection.
    func name(_ raw: [UInt8], allowSpecial: Bool = false) throws(XenStoreError) -> (name: String, relative: Bool) {
        try XenStorePath.canonicalize(raw, home: conn.home, allowSpecial: allowSpecial,
                                      pathQuota: conn.privileged ? nil : config.maxRelativePathLength)
    }

    /// The single string argument (`onearg`), or `EINVAL`.
    func oneArgument() throws(XenStoreError) -> [UInt8] {
        guard let a = message.oneArgument else { throw .EINVAL }
        return a
    }
}

/// The acknowledgement payload of requests that return nothing else.
let xenStoreAck: [UInt8] = Array("OK".utf8) + [0]
