import Testing
import XenABI
@testable import XenStore

@Suite struct WatchTests {
    /// The events a client has received so far, as "path token".
    func events(_ c: TestClient) -> [String] { c.events().map { "\($0.path) \($0.token)" } }

    @Test func firesOnceOnRegistrationAfterTheAck() {
        let d = XenStored.quiet()
        let box = Locked<[XenStoreMessage]>([])
        let conn = d.connect { m in box.withLock { $0.append(m) } }
        conn.send(XenStoreMessage(.watch, requestID: 7, strings: ["/nowhere", "tok"]))
        let got = box.withLock { $0 }
        #expect(got.count == 2)
        #expect(got[0].type == .watch && got[0].requestID == 7 && got[0].payload == Array("OK\0".utf8))
        #expect(got[1].type == .watchEvent && got[1].requestID == 0 && got[1].transactionID == 0)
        #expect(got[1].stringValues == ["/nowhere", "tok"])
    }

    @Test func firesForNodeAndDescendantsOnly() {
        let d = XenStored.quiet()
        let w = TestClient(d), c = TestClient(d)
        _ = w.call(.watch, ["/a", "A"])
        _ = w.call(.watch, ["/", "root"])
        _ = w.events()
        _ = c.write("/a/b/c", "1")       // one event per watch
        _ = c.write("/ab", "sibling")    // not below /a
        _ = c.write("/a", "self")
        #expect(events(w) == ["/a/b/c A", "/a/b/c root", "/ab root", "/a A", "/a root"])
    }

    @Test func rmFiresRemovedNodeAndExactDescendants() {
        let d = XenStored.quiet()
        let w = TestClient(d), c = TestClient(d)
        _ = c.write("/r/x/y", "1")
        _ = w.call(.watch, ["/r", "top"])
        _ = w.call(.watch, ["/r/x/y", "leaf"])
        _ = w.call(.watch, ["/r/x/y/deeper", "none"])
        _ = w.events()
        _ = c.call(.rm, ["/r/x"])
        // Children go first (exact watches only), then the removed node (its watches and above).
        #expect(events(w) == ["/r/x/y leaf", "/r/x top"])
    }

    @Test func mkdirAndSetPermsFire() {
        let d = XenStored.quiet()
        let w = TestClient(d), c = TestClient(d)
        _ = w.call(.watch, ["/m", "t"])
        _ = w.events()
        _ = c.call(.mkdir, ["/m/d"])
        _ = c.call(.mkdir, ["/m/d"])       // exists: no event
        _ = c.call(.setPerms, ["/m/d", "n0", "r5"])
        #expect(events(w) == ["/m/d t", "/m/d t"])
    }

    @Test func relativeWatchReportsRelativePaths() throws {
        let d = try daemonWithGuests([5])
        let g = TestClient(d, as: DomainID(5))
        #expect(g.error(.watch, ["data", "rel"]) == nil)
        #expect(g.events().map(\.path) == ["data"])
        try d.write("/local/domain/5/data/x", "1")
        #expect(events(g) == ["data/x rel"])
        #expect(g.error(.unwatch, ["/local/domain/5/data", "rel"]) == nil)   // same watch, absolute
    }

    @Test func duplicatesUnwatchAndReset() {
        let d = XenStored.quiet()
        let w = TestClient(d), c = TestClient(d)
        #expect(w.error(.watch, ["/u", "t"]) == nil)
        #expect(w.error(.watch, ["/u", "t"]) == .EEXIST)
        #expect(w.error(.watch, ["/u", "t2"]) == nil)       // another token is another watch
        #expect(w.error(.unwatch, ["/u", "t"]) == nil)
        #expect(w.error(.unwatch, ["/u", "t"]) == .ENOENT)
        #expect(w.error(.watch, ["/u"]) == .EINVAL)
        _ = w.events()
        _ = c.write("/u", "1")
        #expect(events(w) == ["/u t2"])
        #expect(w.error(.resetWatches, []) == nil)
        _ = c.write("/u", "2")
        #expect(events(w).isEmpty)
    }

    @Test func onlyReadersHear() throws {
        let d = try daemonWithGuests([5, 6])
        let g5 = TestClient(d, as: DomainID(5))
        _ = g5.call(.watch, ["/", "all"])
        _ = g5.events()
        try d.write("/tool/private", "x")                       // dom0-only
        try d.write("/local/domain/6/data/z", "x")              // another guest's
        try d.write("/local/domain/5/data/z", "mine")           // its own
        #expect(events(g5) == ["/local/domain/5/data/z all"])
        // Losing access through SET_PERMS still tells the watcher (old permissions).
        try d.setPermissions("/local/domain/5/data/z", XenStorePermissions(owner: .control))
        #expect(events(g5) == ["/local/domain/5/data/z all"])
        // Readable via the parent is enough (e.g. a node just made private in a readable directory).
        try d.write("/local/domain/5/data/z", "again")
        #expect(events(g5) == ["/local/domain/5/data/z all"])
    }

    @Test func specialWatches() throws {
        let d = XenStored.quiet()
        let w = TestClient(d)
        _ = w.call(.watch, [XenStoreSpecialPath.introduceDomain, "in"])
        _ = w.call(.watch, [XenStoreSpecialPath.releaseDomain, "out"])
        _ = w.call(.watch, ["/", "root"])
        _ = w.events()
        try d.introduceDomain(DomainID(3), gfn: GFN(1), port: EvtchnPort(2))
        #expect(events(w) == ["@introduceDomain in"])
        try d.releaseDomain(DomainID(3))
        #expect(events(w) == ["@releaseDomain out"])
        // A guest does not hear them unless the node's permissions say so.
        try d.introduceDomain(DomainID(4), gfn: GFN(1), port: EvtchnPort(2))
        let g = TestClient(d, as: DomainID(4))
        _ = g.call(.watch, [XenStoreSpecialPath.releaseDomain, "g"])
        _ = g.events()
        try d.introduceDomain(DomainID(7), gfn: GFN(1), port: EvtchnPort(2))
        try d.releaseDomain(DomainID(7))
        #expect(events(g).isEmpty)
        try d.setPermissions(XenStoreSpecialPath.releaseDomain, XenStorePermissions(owner: .control, others: .read))
        _ = g.events()
        try d.introduceDomain(DomainID(7), gfn: GFN(1), port: EvtchnPort(2))
        try d.releaseDomain(DomainID(7))
        #expect(events(g) == ["@releaseDomain g"])
        // Special names need the watch (or perms) operations: plain reads refuse them.
        #expect(w.read("@releaseDomain").failure == .EINVAL)
    }

    @Test func guestWatchQuota() throws {
        var config = XenStoreConfig()
        config.maxWatchesPerDomain = 4
        let d = try daemonWithGuests([5], config: config)
        let g = TestClient(d, as: DomainID(5))
        for i in 0..<4 { #expect(g.error(.watch, ["data", "t\(i)"]) == nil) }
        #expect(g.error(.watch, ["data", "t4"]) == .E2BIG)
        let t = TestClient(d)
        for i in 0..<10 { #expect(t.error(.watch, ["/", "t\(i)"]) == nil) }
    }

    @Test func closedConnectionsHearNothing() {
        let d = XenStored.quiet()
        let w = TestClient(d), c = TestClient(d)
        _ = w.call(.watch, ["/", "t"])
        w.close()
        #expect(c.write("/x", "1") == nil)
        #expect(w.events().count == 1)    // only the initial event, from before the close
    }
}
