/// The tree, watch and transaction requests (Xen's core.c, watch.c, transaction.c). Each runs
/// under `XenStored`'s lock and returns its reply payload or throws the error to reply with.
extension XenStored {
    /// XS_DIRECTORY "path\0" → child names, each NUL-terminated.
    func doDirectory(_ r: Request) throws(XenStoreError) -> [UInt8] {
        let name = try r.name(r.oneArgument()).name
        return try r.view.directory(name).childrenWire
    }

    /// XS_DIRECTORY_PART "path\0offset\0" → the node's generation, then as many child names from
    /// byte `offset` of the child list as fit; an extra NUL marks the end of the list
    /// (`send_directory_part`).
    func doDirectoryPart(_ r: Request) throws(XenStoreError) -> [UInt8] {
        guard r.message.nulCount == 2 else { throw .EINVAL }
        let args = r.message.strings
        let node = try r.view.directory(r.name(args[0]).name)
        let offset = Int(xenAtoi(args[1]))
        let children = node.childrenWire
        let gen = Array(String(node.generation).utf8) + [0]
        if offset >= children.count { return gen + [0] }

        let maxLength = XenStoreLimits.payloadMax - gen.count - 1
        var length = 0
        var atEnd = false
        var child = offset
        while true {
            let end = children[child...].firstIndex(of: 0) ?? children.count
            let nameLength = end - child
            guard length + nameLength < maxLength else { break }
            length += nameLength + 1
            child = end + 1
            if offset + length >= children.count { atEnd = true; break }
        }
        return gen + children[offset..<(offset + length)] + (atEnd ? [0] : [])
    }

    /// XS_READ "path\0" → the value (no NUL added).
    func doRead(_ r: Request) throws(XenStoreError) -> [UInt8] {
        try r.view.read(r.name(r.oneArgument()).name)
    }

    /// XS_WRITE "path\0value" → OK. The value is every byte after the first NUL.
    func doWrite(_ r: Request) throws(XenStoreError) -> [UInt8] {
        let p = r.message.payload
        guard let nul = p.firstIndex(of: 0) else { throw .EINVAL }
        let name = try r.name(Array(p[..<nul])).name
        fire(try r.view.write(name, Array(p[(nul + 1)...])), in: r.tx)
        return xenStoreAck
    }

    /// XS_MKDIR "path\0" → OK.
    func doMkdir(_ r: Request) throws(XenStoreError) -> [UInt8] {
        let name = try r.name(r.oneArgument()).name
        fire(try r.view.mkdir(name), in: r.tx)
        return xenStoreAck
    }

    /// XS_RM "path\0" → OK.
    func doRm(_ r: Request) throws(XenStoreError) -> [UInt8] {
        let name = try r.name(r.oneArgument()).name
        fire(try r.view.rm(name), in: r.tx)
        return xenStoreAck
    }

    /// XS_GET_PERMS "path\0" → "r0\0w5\0"… (special names allowed).
    func doGetPerms(_ r: Request) throws(XenStoreError) -> [UInt8] {
        let name = try r.name(r.oneArgument(), allowSpecial: true).name
        return try r.view.permissions(name).wireEncoding
    }

    /// XS_SET_PERMS "path\0perm\0perm\0…" → OK.
    func doSetPerms(_ r: Request) throws(XenStoreError) -> [UInt8] {
        let count = r.message.nulCount
        guard count >= 2 else { throw .EINVAL }
        if !r.conn.privileged && count - 1 > config.maxPermissionsPerNode { throw .ENOSPC }
        let strings = r.message.strings
        let perms = try XenStorePermissions(wireStrings: Array(strings.dropFirst()))
        let name = try r.name(strings[0], allowSpecial: true).name
        fire(try r.view.setPermissions(name, perms), in: r.tx)
        return xenStoreAck
    }

    /// XS_WATCH "path\0token\0" → OK, then one event for the path at once.
    func doWatch(_ r: Request) throws(XenStoreError) -> [UInt8] {
        let args = r.message.strings
        guard args.count == 2 else { throw .EINVAL }
        let (name, relative) = try r.name(args[0], allowSpecial: true)
        let conn = r.conn
        if conn.watches.contains(where: { $0.name == name && $0.token == args[1] }) { throw .EEXIST }
        if !conn.privileged && conn.watches.count >= config.maxWatchesPerDomain { throw .E2BIG }
        let w = Watch(name: name, token: args[1], prefixLength: relative ? conn.home.utf8.count + 1 : 0)
        conn.watches.append(w)
        if let p = w.eventPayload(for: name) { conn.afterReply.append(XenStoreMessage(.watchEvent, payload: p)) }
        return xenStoreAck
    }

    /// XS_UNWATCH "path\0token\0" → OK, or ENOENT if no such watch.
    func doUnwatch(_ r: Request) throws(XenStoreError) -> [UInt8] {
        let args = r.message.strings
        guard args.count == 2 else { throw .EINVAL }
        let name = try r.name(args[0], allowSpecial: true).name
        guard let i = r.conn.watches.firstIndex(where: { $0.name == name && $0.token == args[1] }) else {
            throw .ENOENT
        }
        r.conn.watches.remove(at: i)
        return xenStoreAck
    }

    /// XS_RESET_WATCHES → OK: drops the connection's watches and transactions.
    func doResetWatches(_ r: Request) -> [UInt8] {
        r.conn.reset()
        return xenStoreAck
    }

    /// XS_TRANSACTION_START → the new id, in decimal. No nesting (`EBUSY`).
    func doTransactionStart(_ r: Request) throws(XenStoreError) -> [UInt8] {
        let conn = r.conn
        if r.tx != nil { throw .EBUSY }
        if !conn.privileged && conn.transactions.count >= config.maxTransactionsPerDomain { throw .ENOSPC }
        var id = conn.nextTransactionID
        while id == 0 || conn.transactions[id] != nil { id &+= 1 }
        conn.nextTransactionID = id &+ 1
        conn.transactions[id] = Transaction(id: id)
        return Array(String(id).utf8) + [0]
    }

    /// XS_TRANSACTION_END "T\0" (commit) or "F\0" (abort) → OK; the transaction is gone either
    /// way. A conflicting change since it started fails the commit with `EAGAIN`.
    func doTransactionEnd(_ r: Request) throws(XenStoreError) -> [UInt8] {
        let arg = try r.oneArgument()
        guard arg == [UInt8(ascii: "T")] || arg == [UInt8(ascii: "F")] else { throw .EINVAL }
        guard let tx = r.tx else { throw .ENOENT }
        r.conn.transactions[tx.id] = nil
        if arg == [UInt8(ascii: "T")] {
            let events = try tx.commit(into: db, entryLimit: r.conn.privileged ? nil : config.maxEntriesPerDomain)
            for e in events {
                var perms: [XenStorePermissions] = e.originalPerms.map { [$0] } ?? []
                if let n = db[e.name] {
                    perms.append(n.perms)
                    if let p = db[XenStorePath.parent(of: e.name)] { perms.append(p.perms) }
                }
                fireNow(NodeChange(name: e.name, exact: e.exact, perms: perms))
            }
        }
        return xenStoreAck
    }
}
