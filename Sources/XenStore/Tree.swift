import XenABI

/// A change that may fire watches: the node's name, whether only watches on exactly that name
/// match (descendants removed by RM), and the permissions a watcher may read it through.
struct NodeChange {
    var name: String
    var exact: Bool
    /// The watcher needs read access through at least one: old permissions (SET_PERMS), the
    /// node's, its parent's (`watch_permitted` in Xen's watch.c).
    var perms: [XenStorePermissions]
}

/// One request's view of the tree: the global database, or inside a transaction its journal
/// over it, as seen by one requester. The tree operations (Xen's `core.c`) are methods here; each
/// checks everything before changing anything, so a failed request changes nothing.
///
/// Not thread-safe: used only under `XenStored`'s lock.
struct TreeView {
    let db: NodeDatabase
    let tx: Transaction?
    let requester: Requester
    let config: XenStoreConfig

    /// Quotas bind unprivileged requesters only.
    private var quotas: Bool { !requester.privileged }

    func node(_ name: String) throws(XenStoreError) -> Node? {
        guard let tx else { return db[name] }
        return try tx.node(name, db: db, nodeLimit: quotas ? config.maxNodesPerTransaction : nil)
    }

    func put(_ name: String, _ node: Node?) throws(XenStoreError) {
        guard let tx else { db.set(name, node); return }
        try tx.put(name, node, db: db, nodeLimit: quotas ? config.maxNodesPerTransaction : nil)
    }

    /// Nodes `domid` owns as this view sees them.
    func owned(by domid: DomainID) -> Int { db.owned(by: domid) + (tx?.ownedDelta[domid] ?? 0) }

    // MARK: Permission checks

    /// `errno_from_parents`: a missing or forbidden node reports `error` only if the nearest
    /// existing ancestor grants some of `need`; otherwise `EACCES`, so that a guest learns nothing
    /// about nodes it may not see.
    private func errorFromParents(_ name: String, _ error: XenStoreError, need: NodeRights)
        throws(XenStoreError) -> XenStoreError
    {
        var cur = name
        repeat {
            cur = XenStorePath.parent(of: cur)
            if let n = try node(cur) {
                return requester.rights(on: n.perms).isDisjoint(with: need) ? .EACCES : error
            }
        } while cur != XenStorePath.root
        return .EACCES
    }

    /// `get_node`: the node if the requester has `need` on it; `nil` if it does not exist (and
    /// the requester may know that); throws `EACCES` otherwise.
    func get(_ name: String, need: NodeRights) throws(XenStoreError) -> Node? {
        if let n = try node(name) {
            guard requester.rights(on: n.perms).isSuperset(of: need) else {
                throw try errorFromParents(name, .EACCES, need: need)
            }
            return n
        }
        let e = try errorFromParents(name, .ENOENT, need: need)
        if e != .ENOENT { throw e }
        return nil
    }

    private func checkSize(_ n: Node) throws(XenStoreError) {
        if quotas && n.accountedSize > config.maxNodeSize { throw .ENOSPC }
    }

    /// Watch permissions for a change of `name` whose node (now or just before deletion) has
    /// `perms`. Read from the global database: outside a transaction that is the view.
    private func change(_ name: String, exact: Bool, perms: [XenStorePermissions]) -> NodeChange {
        var all = perms
        if let p = db[XenStorePath.parent(of: name)] { all.append(p.perms) }
        return NodeChange(name: name, exact: exact, perms: all)
    }

    // MARK: Operations

    /// XS_READ.
    func read(_ name: String) throws(XenStoreError) -> [UInt8] {
        guard let n = try get(name, need: .read) else { throw .ENOENT }
        return n.value
    }

    /// XS_DIRECTORY / XS_DIRECTORY_PART: the node, readable.
    func directory(_ name: String) throws(XenStoreError) -> Node {
        guard let n = try get(name, need: .read) else { throw .ENOENT }
        return n
    }

    /// XS_GET_PERMS.
    func permissions(_ name: String) throws(XenStoreError) -> XenStorePermissions {
        guard let n = try get(name, need: .read) else { throw .ENOENT }
        return n.perms
    }

    /// XS_WRITE: replaces the value, creating the node and missing ancestors.
    func write(_ name: String, _ value: [UInt8]) throws(XenStoreError) -> [NodeChange] {
        if var n = try get(name, need: .write) {
            n.value = value
            try checkSize(n)
            try put(name, n)
            return [change(name, exact: false, perms: [n.perms])]
        }
        return try create(name, value: value)
    }

    /// XS_MKDIR: creates the node (empty) and missing ancestors; an existing node is fine.
    func mkdir(_ name: String) throws(XenStoreError) -> [NodeChange] {
        if try get(name, need: .write) != nil { return [] }
        return try create(name, value: [])
    }

    /// `create_node`: new nodes inherit the permissions of the nearest existing ancestor, and an
    /// unprivileged creator owns them.
    private func create(_ name: String, value: [UInt8]) throws(XenStoreError) -> [NodeChange] {
        var missing = [name]
        var ancestorName = XenStorePath.parent(of: name)
        var ancestor: Node
        while true {
            if let a = try node(ancestorName) { ancestor = a; break }
            // The root always exists, so this walk ends there at the latest.
            missing.append(ancestorName)
            ancestorName = XenStorePath.parent(of: ancestorName)
        }
        if quotas && owned(by: requester.domid) + missing.count > config.maxEntriesPerDomain {
            throw .ENOSPC
        }
        var perms = ancestor.perms
        if quotas { perms.owner = requester.domid }

        ancestor.children.append(XenStorePath.basename(of: missing.last!))
        try checkSize(ancestor)
        var built: [(String, Node)] = []
        for (i, n) in missing.enumerated().reversed() {
            var node = Node(perms: perms)
            if i == 0 {
                node.value = value
            } else {
                node.children = [XenStorePath.basename(of: missing[i - 1])]
            }
            try checkSize(node)
            built.append((n, node))
        }
        try put(ancestorName, ancestor)
        for (n, node) in built { try put(n, node) }
        return [change(name, exact: false, perms: [perms])]
    }

    /// XS_RM: removes the node and everything below it. A missing node whose parent exists is
    /// fine; `/` cannot be removed.
    func rm(_ name: String) throws(XenStoreError) -> [NodeChange] {
        guard let target = try get(name, need: .write) else {
            if try node(XenStorePath.parent(of: name)) != nil { return [] }
            throw .ENOENT
        }
        if name == XenStorePath.root { throw .EINVAL }
        let parentName = XenStorePath.parent(of: name)
        guard var parent = try node(parentName) else { throw .EINVAL }

        // Post-order walk (children before parents, as Xen's delnode_sub): descendants fire
        // exact watches only; the removed node fires its own and its ancestors' watches.
        var changes: [NodeChange] = []
        var stack: [(name: String, node: Node, parentPerms: XenStorePermissions, expanded: Bool)] =
            [(name, target, parent.perms, false)]
        while let top = stack.popLast() {
            if !top.expanded {
                stack.append((top.name, top.node, top.parentPerms, true))
                for child in top.node.children.reversed() {
                    let childName = XenStorePath.child(top.name, child)
                    if let c = try node(childName) { stack.append((childName, c, top.node.perms, false)) }
                }
                continue
            }
            try put(top.name, nil)
            changes.append(NodeChange(name: top.name, exact: top.name != name,
                                      perms: [top.node.perms, top.parentPerms]))
        }
        if let i = parent.children.firstIndex(of: XenStorePath.basename(of: name)) {
            parent.children.remove(at: i)
        }
        try put(parentName, parent)
        return changes
    }

    /// XS_SET_PERMS: owner or privileged only; an unprivileged owner cannot give the node away.
    func setPermissions(_ name: String, _ perms: XenStorePermissions) throws(XenStoreError) -> [NodeChange] {
        guard var n = try get(name, need: [.write, .owner]) else { throw .ENOENT }
        if quotas && perms.owner != n.perms.owner { throw .EPERM }
        let old = n.perms
        n.perms = perms
        try checkSize(n)
        try put(name, n)
        return [change(name, exact: false, perms: [old, perms])]
    }
}
