public import XenABI
import Synchronization

/// The in-process API: the toolstack acting as dom0 (as libxl does through libxenstore), the
/// hypervisor introducing domains with their rings, and in-process clients speaking the wire
/// protocol. Every method takes `XenStored`'s lock; changes fire watches as the same request from
/// a dom0 connection would.
extension XenStored {
    /// `/local/domain/<domid>`, the domain's home (XS_GET_DOMAIN_PATH).
    public static func domainPath(_ domid: DomainID) -> String { XenStorePath.home(of: domid.raw) }

    private func toolstackName(_ path: String, allowSpecial: Bool = false) throws(XenStoreError) -> String {
        try XenStorePath.canonicalize(Array(path.utf8), home: toolstack.home, allowSpecial: allowSpecial,
                                      pathQuota: nil).name
    }

    private var toolstackView: TreeView { TreeView(db: db, tx: nil, requester: toolstack.requester, config: config) }

    /// XS_READ as dom0.
    public func read(_ path: String) throws(XenStoreError) -> [UInt8] {
        try locked { () throws(XenStoreError) in try toolstackView.read(toolstackName(path)) }
    }

    /// XS_READ as dom0, decoded as UTF-8.
    public func readString(_ path: String) throws(XenStoreError) -> String {
        String(decoding: try read(path), as: UTF8.self)
    }

    /// Whether the node exists (a read that does not fail with ENOENT).
    public func exists(_ path: String) -> Bool {
        (try? locked { () throws(XenStoreError) in try toolstackView.node(toolstackName(path)) != nil }) ?? false
    }

    /// XS_WRITE as dom0: creates missing ancestors (inheriting their parent's permissions).
    public func write(_ path: String, _ value: [UInt8]) throws(XenStoreError) {
        try locked { () throws(XenStoreError) in
            fire(try toolstackView.write(toolstackName(path), value), in: nil)
        }
    }

    public func write(_ path: String, _ value: String) throws(XenStoreError) {
        try write(path, Array(value.utf8))
    }

    /// XS_MKDIR as dom0.
    public func mkdir(_ path: String) throws(XenStoreError) {
        try locked { () throws(XenStoreError) in fire(try toolstackView.mkdir(toolstackName(path)), in: nil) }
    }

    /// XS_RM as dom0 (recursive).
    public func rm(_ path: String) throws(XenStoreError) {
        try locked { () throws(XenStoreError) in fire(try toolstackView.rm(toolstackName(path)), in: nil) }
    }

    /// XS_DIRECTORY as dom0.
    public func directory(_ path: String) throws(XenStoreError) -> [String] {
        try locked { () throws(XenStoreError) in try toolstackView.directory(toolstackName(path)).children }
    }

    /// XS_GET_PERMS as dom0.
    public func permissions(_ path: String) throws(XenStoreError) -> XenStorePermissions {
        try locked { () throws(XenStoreError) in
            try toolstackView.permissions(toolstackName(path, allowSpecial: true))
        }
    }

    /// XS_SET_PERMS as dom0.
    public func setPermissions(_ path: String, _ perms: XenStorePermissions) throws(XenStoreError) {
        try locked { () throws(XenStoreError) in
            fire(try toolstackView.setPermissions(toolstackName(path, allowSpecial: true), perms), in: nil)
        }
    }

    /// The node layout libxl's `libxl__domain_make` gives a new domain, in one atomic step:
    /// `/local/domain/<id>` owned by dom0 and readable by the domain, with `name` and `domid`;
    /// `cpu`, `memory`, `device`, `control` likewise; `control/shutdown`, `control/feature-*`,
    /// `control/sysrq`, `data`, `drivers`, `feature`, `attr`, `error` owned by the domain.
    public func createDomainHome(_ domid: DomainID, name: String) throws(XenStoreError) {
        let home = Self.domainPath(domid)
        let readOnly = XenStorePermissions(owner: .control, others: .none, [XenStorePermission(domid, .read)])
        let domainOwned = XenStorePermissions(owner: domid, others: .none)
        try locked { () throws(XenStoreError) in
            let view = toolstackView
            var changes: [NodeChange] = []
            func node(_ sub: String, _ perms: XenStorePermissions, _ value: String? = nil) throws(XenStoreError) {
                let path = sub.isEmpty ? home : home + "/" + sub
                if let value {
                    changes += try view.write(path, Array(value.utf8))
                } else {
                    changes += try view.mkdir(path)
                }
                changes += try view.setPermissions(path, perms)
            }
            try node("", readOnly)
            for sub in ["cpu", "memory", "device", "control"] { try node(sub, readOnly) }
            for sub in ["control/shutdown", "control/feature-poweroff", "control/feature-reboot",
                        "control/feature-suspend", "control/sysrq", "data", "drivers", "feature", "attr", "error"] {
                try node(sub, domainOwned)
            }
            try node("name", readOnly, name)
            try node("domid", readOnly, String(domid.raw))
            fire(changes, in: nil)
        }
    }

    // MARK: Domains

    /// XS_INTRODUCE from the toolstack: `domid`'s xenstore page (at `gfn`) is reachable through
    /// `ring`, and the guest signals on `port`. Fires `@introduceDomain` for a new domain.
    /// Afterwards the hypervisor calls `handleEvent()` on the returned connection whenever the
    /// guest signals `port`. Without `ring`, the configured `RingProvider` is asked; with neither,
    /// the domain is recorded as introduced without a transport. Introducing a known domain again
    /// keeps its ring, takes the new port, and resets the ring and the connection (Xen's
    /// `domain_conn_reset`).
    @discardableResult
    public func introduceDomain(_ domid: DomainID, gfn: GFN, port: EvtchnPort,
                                ring: (any XenStoreRingAccess)? = nil) throws(XenStoreError) -> XenStoreRingConnection? {
        guard !domid.isReserved else { throw .EINVAL }
        return try locked { () throws(XenStoreError) in try introduceLocked(domid, gfn: gfn, port: port, ring: ring) }
    }

    /// XS_RELEASE from the toolstack: drops the domain's connection and the nodes it owns, fires
    /// `@releaseDomain`.
    public func releaseDomain(_ domid: DomainID) throws(XenStoreError) {
        try locked { () throws(XenStoreError) in try releaseLocked(domid) }
    }

    /// XS_IS_DOMAIN_INTRODUCED.
    public func isDomainIntroduced(_ domid: DomainID) -> Bool {
        locked { domains[domid] != nil }
    }

    /// The ring connection of an introduced domain, for the hypervisor's event routing.
    public func ringConnection(for domid: DomainID) -> XenStoreRingConnection? {
        locked { domains[domid]?.ring }
    }

    // MARK: In-process clients

    /// Opens a wire-protocol connection as `domid` (privileged if `domid` is in
    /// `config.privilegedDomains`, as a unix-socket client is). `onMessage` receives each reply
    /// and watch event in order, with xenstored's lock held: it must not call into xenstored.
    public func connect(as domid: DomainID = .control,
                        onMessage: @escaping @Sendable (XenStoreMessage) -> Void) -> XenStoreClientConnection {
        let sink = CallbackTransport(onMessage)
        let conn = locked {
            let c = addConnection(domid: domid, privileged: isPrivileged(domid), transport: sink)
            c.target = domains[domid]?.target
            return c
        }
        return XenStoreClientConnection(daemon: self, connection: conn)
    }
}

/// An in-process client connection (`XenStored.connect`). Thread-safe.
public final class XenStoreClientConnection: @unchecked Sendable {
    private let daemon: XenStored
    /// Guarded by the daemon's lock.
    private let connection: Connection

    init(daemon: XenStored, connection: Connection) {
        self.daemon = daemon
        self.connection = connection
    }

    /// Sends one request; its reply (and any watch events) arrive through `onMessage`.
    public func send(_ message: XenStoreMessage) {
        daemon.locked { daemon.process(message, from: connection) }
    }

    /// Closes the connection: its watches and transactions go.
    public func close() {
        daemon.locked { daemon.removeConnection(connection) }
    }
}

final class CallbackTransport: XenStoreTransport {
    let onMessage: @Sendable (XenStoreMessage) -> Void
    init(_ onMessage: @escaping @Sendable (XenStoreMessage) -> Void) { self.onMessage = onMessage }
    func deliver(_ message: XenStoreMessage) { onMessage(message) }
    func disconnected(error: UInt32) {}
}
