import Testing
import XenABI
@testable import XenStore

@Suite struct TransactionTests {
    @Test func idsStartAtOneAndAreUnique() {
        let c = TestClient(XenStored.quiet())
        let a = c.startTransaction(), b = c.startTransaction()
        #expect(a == 1 && b == 2)
        #expect(c.endTransaction(a, commit: false) == nil)
        #expect(c.startTransaction() == 3)
    }

    @Test func isolationThenCommit() {
        let d = XenStored.quiet()
        let c = TestClient(d), other = TestClient(d)
        _ = c.write("/base", "0")
        let tx = c.startTransaction()
        #expect(c.write("/t/a", "1", tx: tx) == nil)
        #expect(c.write("/base", "changed", tx: tx) == nil)
        #expect(c.read("/t/a", tx: tx).value == "1")               // sees its own writes
        #expect(other.read("/t/a").failure == .ENOENT)             // nobody else does
        #expect(other.read("/base").value == "0")
        #expect(c.endTransaction(tx) == nil)
        #expect(other.read("/t/a").value == "1")
        #expect(other.read("/base").value == "changed")
        #expect(c.directory("/").value == ["tool", "base", "t"])
    }

    @Test func abortDiscards() {
        let c = TestClient(XenStored.quiet())
        _ = c.write("/keep", "k")
        let tx = c.startTransaction()
        _ = c.write("/new", "n", tx: tx)
        _ = c.call(.rm, ["/keep"], tx: tx)
        #expect(c.read("/keep", tx: tx).failure == .ENOENT)
        #expect(c.endTransaction(tx, commit: false) == nil)
        #expect(c.read("/new").failure == .ENOENT)
        #expect(c.read("/keep").value == "k")
    }

    @Test func conflictingWriteFailsWithEAGAIN() {
        let d = XenStored.quiet()
        let c = TestClient(d), other = TestClient(d)
        _ = c.write("/n", "0")
        let tx = c.startTransaction()
        #expect(c.read("/n", tx: tx).value == "0")
        _ = c.write("/out", "x", tx: tx)
        #expect(other.write("/n", "1") == nil)                     // someone else changes what tx read
        #expect(c.endTransaction(tx) == .EAGAIN)
        #expect(c.read("/out").failure == .ENOENT)                 // nothing of tx applied
        #expect(c.endTransaction(tx) == .ENOENT)                   // and it is gone
        #expect(c.read("/n", tx: tx).failure == .ENOENT)
    }

    @Test func conflictingCreationAndDeletion() {
        let d = XenStored.quiet()
        let c = TestClient(d), other = TestClient(d)
        // tx saw /absent missing; another client creates it.
        let t1 = c.startTransaction()
        #expect(c.read("/absent", tx: t1).failure == .ENOENT)
        _ = other.write("/absent", "now")
        #expect(c.endTransaction(t1) == .EAGAIN)
        // tx read /victim; another client removes it.
        _ = c.write("/victim", "v")
        let t2 = c.startTransaction()
        _ = c.read("/victim", tx: t2)
        _ = other.call(.rm, ["/victim"])
        #expect(c.endTransaction(t2) == .EAGAIN)
    }

    @Test func unrelatedChangesDoNotConflict() {
        let d = XenStored.quiet()
        let c = TestClient(d), other = TestClient(d)
        _ = c.write("/a/x", "0")
        _ = c.write("/b/y", "0")
        let tx = c.startTransaction()
        _ = c.write("/a/x", "tx", tx: tx)
        _ = other.write("/b/y", "other")
        #expect(c.endTransaction(tx) == nil)
        #expect(c.read("/a/x").value == "tx")
        #expect(c.read("/b/y").value == "other")
    }

    @Test func twoTransactionsOnTheSameNode() {
        let d = XenStored.quiet()
        let a = TestClient(d), b = TestClient(d)
        _ = a.write("/shared", "0")
        let ta = a.startTransaction(), tb = b.startTransaction()
        _ = a.write("/shared", "a", tx: ta)
        _ = b.write("/shared", "b", tx: tb)
        #expect(a.endTransaction(ta) == nil)
        #expect(b.endTransaction(tb) == .EAGAIN)
        #expect(a.read("/shared").value == "a")
    }

    @Test func malformedEnds() {
        let c = TestClient(XenStored.quiet())
        let tx = c.startTransaction()
        #expect(c.error(.transactionEnd, ["X"], tx: tx) == .EINVAL)
        #expect(c.error(.transactionEnd, ["T"]) == .ENOENT)          // no transaction named
        #expect(c.read("/", tx: 999).failure == .ENOENT)             // unknown id
        #expect(c.error(.transactionStart, [""], tx: tx) == .EBUSY)  // no nesting
        #expect(c.endTransaction(tx) == nil)
    }

    @Test func watchesFireAtCommitOnly() {
        let d = XenStored.quiet()
        let c = TestClient(d), w = TestClient(d)
        _ = w.call(.watch, ["/tw", "tok"])
        _ = w.events()
        let tx = c.startTransaction()
        _ = c.write("/tw/a", "1", tx: tx)
        _ = c.write("/tw/a", "2", tx: tx)
        _ = c.write("/tw/b", "3", tx: tx)
        _ = w.send(XenStoreMessage(.read, strings: ["/"]))  // collect anything pending
        #expect(w.events().isEmpty)
        #expect(c.endTransaction(tx) == nil)
        _ = w.send(XenStoreMessage(.read, strings: ["/"]))
        #expect(w.events().map(\.path) == ["/tw/a", "/tw/b"])     // once per node
        // An aborted transaction fires nothing.
        let t2 = c.startTransaction()
        _ = c.write("/tw/c", "4", tx: t2)
        _ = c.endTransaction(t2, commit: false)
        _ = w.send(XenStoreMessage(.read, strings: ["/"]))
        #expect(w.events().isEmpty)
    }

    @Test func guestQuota() throws {
        var config = XenStoreConfig()
        config.maxTransactionsPerDomain = 3
        let d = try daemonWithGuests([5], config: config)
        let g = TestClient(d, as: DomainID(5))
        let ids = (0..<3).map { _ in g.startTransaction() }
        #expect(ids == [1, 2, 3])
        #expect(g.error(.transactionStart, [""]) == .ENOSPC)
        _ = g.endTransaction(ids[0], commit: false)
        #expect(g.startTransaction() != 0)
        // dom0 is exempt.
        let t = TestClient(d)
        for _ in 0..<20 { #expect(t.startTransaction() != 0) }
    }

    @Test func transactionNodeLimit() throws {
        var config = XenStoreConfig()
        config.maxNodesPerTransaction = 4
        let d = try daemonWithGuests([5], config: config)
        let g = TestClient(d, as: DomainID(5))
        let tx = g.startTransaction()
        // Touching /local/domain/5/data/k also walks its ancestors, so this exceeds 4 nodes.
        var failed = false
        for i in 0..<5 where g.write("data/k\(i)", "v", tx: tx) == .ENOSPC { failed = true }
        #expect(failed)
        #expect(g.endTransaction(tx) == .ENOMEM)     // Xen's answer for a failed transaction
    }

    @Test func rmInsideTransaction() {
        let d = XenStored.quiet()
        let c = TestClient(d)
        _ = c.write("/rt/a/b", "1")
        let tx = c.startTransaction()
        #expect(c.error(.rm, ["/rt/a"], tx: tx) == nil)
        #expect(c.read("/rt/a/b").value == "1")
        #expect(c.endTransaction(tx) == nil)
        #expect(c.read("/rt/a/b").failure == .ENOENT)
        #expect(c.directory("/rt").value == [])
    }
}
