import Testing
import XenABI
@testable import XenStore

@Suite struct QuotaTests {
    @Test func defaultsAreXens() {
        let c = XenStoreConfig()
        #expect(c.maxEntriesPerDomain == 1000)
        #expect(c.maxNodeSize == 2048)
        #expect(c.maxWatchesPerDomain == 128)
        #expect(c.maxTransactionsPerDomain == 10)
        #expect(c.maxPermissionsPerNode == 5)
        #expect(c.maxRelativePathLength == 2048)
        #expect(c.maxNodesPerTransaction == 1024)
        #expect(c.maxOutstandingRequests == 20)
    }

    @Test func entriesPerDomain() throws {
        var config = XenStoreConfig()
        config.maxEntriesPerDomain = 12
        let d = try daemonWithGuests([5], config: config)
        // createDomainHome gave guest 5 ten nodes (control/* and data, drivers, …).
        let owned = d.locked { d.db.owned(by: DomainID(5)) }
        #expect(owned == 10)
        let g = TestClient(d, as: DomainID(5))
        #expect(g.write("data/a", "1") == nil)
        #expect(g.write("data/b/c", "1") == .ENOSPC)      // would need two more
        #expect(g.write("data/b", "1") == nil)
        #expect(g.write("data/c", "1") == .ENOSPC)
        #expect(g.write("data/a", "rewrite is fine") == nil)
        #expect(g.error(.rm, ["data/a"]) == nil)
        #expect(g.write("data/c", "1") == nil)
        // Transactions count too, checked at commit.
        _ = g.call(.rm, ["data/c"])
        let tx = g.startTransaction()
        #expect(g.write("data/t1", "1", tx: tx) == nil)
        #expect(g.write("data/t2", "1", tx: tx) == .ENOSPC)
        #expect(g.endTransaction(tx) == nil)
        // dom0 is exempt, also when it creates nodes for the guest.
        for i in 0..<20 { try d.write("/local/domain/5/data/d\(i)", "") }
    }

    @Test func nodeSize() throws {
        let d = try daemonWithGuests([5])
        let g = TestClient(d, as: DomainID(5))
        // 16 bytes of header and 8 per permission count too: one permission leaves 2024 bytes.
        #expect(g.write("data/big", String(repeating: "x", count: 2024)) == nil)
        #expect(g.write("data/big", String(repeating: "x", count: 2025)) == .ENOSPC)
        #expect(try d.readString("/local/domain/5/data/big").count == 2024)
        try d.write("/local/domain/5/data/dom0big", String(repeating: "y", count: 4000))
        // Children names count against the parent.
        let name = String(repeating: "n", count: 1000)
        #expect(g.call(.mkdir, ["data/d/" + name]).failure == nil)
        #expect(g.call(.mkdir, ["data/d/" + name + "2"]).failure == nil)
        #expect(g.call(.mkdir, ["data/d/" + name + "3"]).failure == .ENOSPC)
    }

    @Test func permissionsPerNode() throws {
        let d = try daemonWithGuests([5])
        let g = TestClient(d, as: DomainID(5))
        _ = g.write("data/p", "")
        #expect(g.error(.setPerms, ["data/p", "n5", "r1", "r2", "r3", "r4"]) == nil)
        #expect(g.error(.setPerms, ["data/p", "n5", "r1", "r2", "r3", "r4", "r6"]) == .ENOSPC)
        #expect(TestClient(d).error(.setPerms, ["/local/domain/5/data/p", "n5", "r1", "r2", "r3", "r4", "r6", "r7"]) == nil)
    }

    @Test func pathLengthBelowHome() throws {
        let d = try daemonWithGuests([5])
        let g = TestClient(d, as: DomainID(5))
        // 2048 characters below /local/domain/5/, in short components (node size stays small).
        let ok = "data" + String(repeating: "/ppppppppp", count: 204) + "/ppp"
        #expect(ok.utf8.count == 2048)
        #expect(g.call(.mkdir, [ok]).failure == nil)
        #expect(g.call(.mkdir, [ok + "q"]).failure == .EINVAL)
        // dom0 is bound only by XENSTORE_ABS_PATH_MAX.
        #expect(TestClient(d).call(.mkdir, ["/local/domain/5/" + ok + "q"]).failure == nil)
    }
}
