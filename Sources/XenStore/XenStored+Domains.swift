import XenABI

/// A domain xenstored knows (Xen's `struct domain`, domain.c): introduced by the toolstack, with
/// its ring's frame and event channel, and its connection.
///
/// Not thread-safe: used only under `XenStored`'s lock.
final class DomainRecord {
    let domid: DomainID
    var gfn: GFN
    var port: EvtchnPort
    /// Cleared by RESUME (Xen sets it when the hypervisor reports the domain shut down).
    var shutdown = false
    /// SET_TARGET: the domain this one (a device-model stub domain) acts for.
    var target: DomainID?
    let connection: Connection
    let ring: XenStoreRingConnection?

    init(domid: DomainID, gfn: GFN, port: EvtchnPort, connection: Connection, ring: XenStoreRingConnection?) {
        self.domid = domid
        self.gfn = gfn
        self.port = port
        self.connection = connection
        self.ring = ring
    }
}

/// The domain requests (Xen's domain.c): all but GET_DOMAIN_PATH are privileged.
extension XenStored {
    /// A domain id argument as Xen parses it (`atoi`); ids that cannot be a domain give `nil`.
    private func domainArgument(_ bytes: [UInt8]) -> DomainID? {
        UInt16(exactly: xenAtoi(bytes)).map(DomainID.init)
    }

    /// XS_INTRODUCE "domid\0mfn\0port\0" → OK.
    func doIntroduce(_ r: Request) throws(XenStoreError) -> [UInt8] {
        let args = r.message.strings
        guard args.count >= 3 else { throw .EINVAL }
        let port = Int32(bitPattern: xenAtoi(args[2]))
        guard port > 0, let domid = domainArgument(args[0]), !domid.isReserved else { throw .EINVAL }
        var gfn: UInt64 = 0
        for c in args[1] {
            guard (0x30...0x39).contains(c) else { break }
            gfn = gfn &* 10 &+ UInt64(c - 0x30)
        }
        _ = try introduceLocked(domid, gfn: GFN(gfn), port: EvtchnPort(UInt32(port)), ring: nil)
        return xenStoreAck
    }

    /// `introduce_domain` + `domain_conn_reset`: a new domain gets a connection on its ring and
    /// fires `@introduceDomain`; introducing a known domain again rebinds its event channel. Either
    /// way its watches, transactions and ring state start afresh.
    func introduceLocked(_ domid: DomainID, gfn: GFN, port: EvtchnPort, ring access: (any XenStoreRingAccess)?)
        throws(XenStoreError) -> XenStoreRingConnection?
    {
        let record: DomainRecord
        if let d = domains[domid] {
            d.gfn = gfn
            d.port = port
            d.ring?.rebind(port: port)
            record = d
        } else {
            var access = access
            if access == nil, let provider = ringProvider { access = try provider(domid, gfn, port) }
            let ring = access.map { XenStoreRingConnection(daemon: self, domid: domid, port: port, access: $0) }
            let conn = addConnection(domid: domid, privileged: isPrivileged(domid), transport: ring)
            ring?.connection = conn
            record = DomainRecord(domid: domid, gfn: gfn, port: port, connection: conn, ring: ring)
            domains[domid] = record
            logger.info("xenstored: introduced \(domid) (gfn 0x\(String(gfn.raw, radix: 16)), \(port))")
            if domid != .control { fireSpecial(XenStoreSpecialPath.introduceDomain) }
        }
        record.connection.reset()
        record.connection.isIgnored = false
        record.ring?.resetRing()
        return record.ring
    }

    /// XS_RELEASE "domid\0" → OK. Dom0 cannot be released (`EINVAL`); unknown → `ENOENT`.
    func doRelease(_ r: Request) throws(XenStoreError) -> [UInt8] {
        guard let domid = domainArgument(try r.oneArgument()) else { throw .ENOENT }
        try releaseLocked(domid)
        return xenStoreAck
    }

    /// `do_release` + `destroy_domain`: the domain's connection goes (its watches first, so its
    /// own removal fires nothing at it), nodes it owns are removed (firing watches), grants
    /// naming it are dropped, and `@releaseDomain` fires.
    func releaseLocked(_ domid: DomainID) throws(XenStoreError) {
        if domid == .control { throw .EINVAL }
        guard let d = domains[domid] else { throw .ENOENT }
        d.connection.watches.removeAll()
        removeConnection(d.connection)
        d.ring?.disconnected(error: 0)
        domains[domid] = nil

        // domain_tree_remove: delete every subtree whose top node the domain owns.
        let view = TreeView(db: db, tx: nil, requester: toolstack.requester, config: config)
        var stack = [XenStorePath.root]
        while let name = stack.popLast() {
            guard let n = db[name] else { continue }
            if n.perms.owner == domid {
                if let changes = try? view.rm(name) { fire(changes, in: nil) }
                continue
            }
            for c in n.children.reversed() { stack.append(XenStorePath.child(name, c)) }
        }
        for (name, n) in db.nodes {
            var p = n.perms
            if p.removeGrants(for: domid) { db.replacePermissions(name, p) }
        }
        logger.info("xenstored: released \(domid)")
        fireSpecial(XenStoreSpecialPath.releaseDomain)
    }

    /// XS_IS_DOMAIN_INTRODUCED "domid\0" → "T" or "F". `DOMID_SELF` is always introduced.
    func doIsDomainIntroduced(_ r: Request) throws(XenStoreError) -> [UInt8] {
        let raw = xenAtoi(try r.oneArgument())
        let yes = raw == UInt32(DomainID.domidSelf.raw)
            || UInt16(exactly: raw).map { domains[DomainID($0)] != nil } == true
        return [yes ? UInt8(ascii: "T") : UInt8(ascii: "F"), 0]
    }

    /// XS_RESUME "domid\0" → OK: clears the domain's shutdown flag.
    func doResume(_ r: Request) throws(XenStoreError) -> [UInt8] {
        let raw = xenAtoi(try r.oneArgument())
        if raw == 0 { throw .EINVAL }
        guard let domid = UInt16(exactly: raw), let d = domains[DomainID(domid)] else { throw .ENOENT }
        d.shutdown = false
        return xenStoreAck
    }

    /// XS_SET_TARGET "domid\0target\0" → OK: the domain gets its target's rights.
    func doSetTarget(_ r: Request) throws(XenStoreError) -> [UInt8] {
        let args = r.message.strings
        guard args.count >= 2 else { throw .EINVAL }
        guard let domid = domainArgument(args[0]), let d = domains[domid],
              let target = domainArgument(args[1]), domains[target] != nil else { throw .ENOENT }
        d.target = target
        for c in connections where c.domid == domid { c.target = target }
        return xenStoreAck
    }

    /// XS_GET_DOMAIN_PATH "domid\0" → "/local/domain/<domid>".
    func doGetDomainPath(_ r: Request) throws(XenStoreError) -> [UInt8] {
        Array("/local/domain/\(xenAtoi(try r.oneArgument()))".utf8) + [0]
    }
}
