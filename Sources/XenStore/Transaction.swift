import XenABI

/// One open transaction of one connection (Xen's `transaction.c`), kept as a journal over the
/// global database rather than a copy of it.
///
/// Every node the transaction touches (read, written, created, deleted — including the
/// ancestors and descendants an operation walks) is recorded with the global generation count it
/// had at first touch (`nil`: absent). Reads see the journal's copy; writes change only the
/// journal. Commit (`TRANSACTION_END "T"`) fails with `EAGAIN` if any recorded node's global
/// generation differs from the one recorded, i.e. anyone else changed, created or deleted it
/// since; otherwise the modified nodes are written globally, each with a fresh generation, and
/// the watches the transaction's changes would have fired fire then.
///
/// Not thread-safe: used only under `XenStored`'s lock.
final class Transaction {
    struct Entry {
        /// Global generation at first touch; `nil` if the node did not exist.
        var observed: UInt64?
        /// Permissions at first touch: a watcher that could read the node before the
        /// transaction changed them still hears of the change.
        var originalPerms: XenStorePermissions?
        /// The node as the transaction sees it now (`nil`: absent or deleted).
        var current: Node?
        var modified = false
        /// Queued watch event for this node, and whether only exact watches match.
        var fireWatch = false
        var watchExact = true
    }

    /// The connection-local id (`tx_id` in headers; never 0).
    let id: UInt32
    private(set) var entries: [String: Entry] = [:]
    /// Names in first-touch order: commit applies and fires in this order, as Xen does.
    private(set) var order: [String] = []
    /// Per-owner change of node counts inside the transaction ("nodes" quota).
    private(set) var ownedDelta: [DomainID: Int] = [:]
    /// Set when a touch failed half-way (transaction-nodes quota): commit then fails (`ENOMEM`,
    /// as Xen's `fail_transaction`).
    var failed = false
    private(set) var createdNodes = false

    init(id: UInt32) { self.id = id }

    /// The node as seen in the transaction, recording the first touch.
    func node(_ name: String, db: NodeDatabase, nodeLimit: Int?) throws(XenStoreError) -> Node? {
        if let e = entries[name] { return e.current }
        try touch(name, db: db, nodeLimit: nodeLimit)
        return entries[name]!.current
    }

    /// Replaces (or deletes) a node in the journal, with a fresh generation.
    func put(_ name: String, _ node: Node?, db: NodeDatabase, nodeLimit: Int?) throws(XenStoreError) {
        if entries[name] == nil { try touch(name, db: db, nodeLimit: nodeLimit) }
        let old = entries[name]!.current
        if let old { ownedDelta[old.perms.owner, default: 0] -= 1 }
        var new = node
        if new != nil {
            new!.generation = db.nextGeneration()
            ownedDelta[new!.perms.owner, default: 0] += 1
            if old == nil { createdNodes = true }
        }
        entries[name]!.current = new
        entries[name]!.modified = true
    }

    private func touch(_ name: String, db: NodeDatabase, nodeLimit: Int?) throws(XenStoreError) {
        if let limit = nodeLimit, order.count + 1 > limit {
            failed = true
            throw .ENOSPC
        }
        let global = db[name]
        entries[name] = Entry(observed: global?.generation, originalPerms: global?.perms, current: global)
        order.append(name)
    }

    /// Queues a watch event for a changed node; a non-exact event replaces an exact one.
    func queueWatch(_ name: String, exact: Bool) {
        guard entries[name] != nil else { failed = true; return }
        if !entries[name]!.fireWatch {
            entries[name]!.fireWatch = true
            entries[name]!.watchExact = exact
        } else if !exact {
            entries[name]!.watchExact = false
        }
    }

    /// Checks for conflicts and quota, then writes the journal into `db`.
    /// - Parameter entryLimit: for an unprivileged committer, the nodes quota its owners must keep.
    /// - Returns: the watch events to fire: name, exact, and the permissions before the
    ///   transaction touched the node.
    func commit(into db: NodeDatabase, entryLimit: Int?)
        throws(XenStoreError) -> [(name: String, exact: Bool, originalPerms: XenStorePermissions?)]
    {
        if failed { throw .ENOMEM }
        for name in order where db[name]?.generation != entries[name]!.observed {
            throw .EAGAIN
        }
        if let limit = entryLimit, createdNodes {
            for (domid, delta) in ownedDelta where delta > 0 && db.owned(by: domid) + delta > limit {
                throw .ENOSPC
            }
        }
        var events: [(String, Bool, XenStorePermissions?)] = []
        for name in order {
            let e = entries[name]!
            if e.modified && !(e.observed == nil && e.current == nil) { db.set(name, e.current) }
            if e.fireWatch { events.append((name, e.watchExact, e.originalPerms)) }
        }
        return events
    }
}
