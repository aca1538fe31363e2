// test=xenstore: the xenbus client (Kernel/XenBus.swift) against the store the toolstack set
// up, as a guest built by xl sees it (xen/io/xs_wire.h; Xen's xenstored semantics):
//   HVM_PARAM_STORE_PFN/EVTCHN lead to a connected ring; `domid` reads our id and
//   get_domain_path(domid) is /local/domain/<domid>; `name` is non-empty and the same through
//   the absolute path;
//   write/read/rm under data/, a missing node ENOENT, writing a dom0-owned node (name) EACCES;
//   mkdir + directory lists exactly the children; rm is recursive;
//   get_perms of data/ is "n<domid>" (ours, nobody else's); set_perms then get_perms round-trips;
//   a watch on data/w fires once at registration (path data/w, our token) and nothing more,
//   again on a write; after unwatch a write fires nothing;
//   a transaction's write is invisible outside it until commit; an aborted one leaves nothing;
//   /local/domain/0, another domain's home and /tool/xenstored are EACCES;
//   a 2000-byte value (the node-size quota is 2048) round-trips across ring wraps; a request
//   of the full 4096-byte payload crosses the ring and is refused by the quota (ENOSPC) with
//   the connection intact; 4097 bytes are refused locally (E2BIG) without touching the ring;
//   no watch event was dropped.

enum TestXenStore {
    static func run(_ t: inout TestContext) {
        guard t.startRuntime() else { return }
        do {
            try XenBus.start()
        } catch {
            t.expectRC("xenbus start (HVM_PARAM_STORE_PFN/EVTCHN)", -error.errno, 0)
            return
        }
        guard let domid = identity(&t) else { return }
        basics(&t)
        directories(&t)
        permissions(&t, domid)
        watches(&t)
        transactions(&t)
        access(&t, domid)
        large(&t)
        t.expectEqual("watch events dropped", UInt64(XenBus.droppedEvents), 0)
    }

    // MARK: helpers

    /// `body`'s result, or nil after a FAIL naming the errno it threw.
    static func ok<R>(_ t: inout TestContext, _ check: StaticString, _ body: () throws(XenBusError) -> R) -> R? {
        do {
            return try body()
        } catch {
            t.expectRC(check, -error.errno, 0)
            return nil
        }
    }

    /// `body` must throw `expected`.
    static func fails<R>(_ t: inout TestContext, _ check: StaticString, _ expected: XenBusError,
                         _ body: () throws(XenBusError) -> R) {
        do {
            _ = try body()
            t.expectRC(check, 0, -expected.errno)
        } catch {
            t.expectRC(check, -error.errno, -expected.errno)
        }
    }

    /// Bytes must equal `expected`; a FAIL line shows both.
    static func same(_ t: inout TestContext, _ check: StaticString, _ got: XsBytes?, _ expected: XsBytes) {
        guard t.ok else { return }
        guard let got else { return }       // ok() reported it already
        if got.equals(expected) { return }
        t.fail(check, "bytes differ")
        out.s("  expected \"").xs(expected).s("\" (").dec(expected.count).s(" bytes) got \"").xs(got)
            .s("\" (").dec(got.count).s(" bytes)").end()
    }

    static func text(_ page: Int) -> XsText { XsText(WorkArea.buffer(page)) }
    static func text(_ page: Int, _ a: XsBytes, decimal: UInt64? = nil, _ b: XsBytes = .empty) -> XsText {
        XsText(WorkArea.buffer(page), a, decimal: decimal, b)
    }

    // MARK: checks

    private static func identity(_ t: inout TestContext) -> UInt64? {
        guard let domidText = ok(&t, "read domid", { () throws(XenBusError) in try XenBus.read("domid") }) else { return nil }
        guard let domid = domidText.decimal, domid > 0, domid < UInt64(PETREL_DOMID_FIRST_RESERVED) else {
            t.fail("domid node", "not a guest domain id")
            out.s("  domid = \"").xs(domidText).s("\"").end()
            return nil
        }
        var expected = text(0, "/local/domain/", decimal: domid)
        same(&t, "get_domain_path(domid)", ok(&t, "get_domain_path", { () throws(XenBusError) in
            try XenBus.getDomainPath(domid) }), expected.bytes)
        let other = text(2, "/local/domain/7")
        same(&t, "get_domain_path(7)", ok(&t, "get_domain_path(7)", { () throws(XenBusError) in
            try XenBus.getDomainPath(7) }), other.bytes)

        guard let name = ok(&t, "read name", { () throws(XenBusError) in try XenBus.read("name") }) else { return nil }
        t.expect("name is non-empty", name.count > 0, expected: "a name", got: 0)
        var saved = text(1)
        saved.append(name)
        expected.append("/name")
        same(&t, "read <home>/name", ok(&t, "read <home>/name", { () throws(XenBusError) in
            try XenBus.read(expected.bytes) }), saved.bytes)
        out.s("xenstore: domid ").dec(domid).s(" name ").xs(saved.bytes).end()
        return t.ok ? domid : nil
    }

    private static func basics(_ t: inout TestContext) {
        _ = ok(&t, "write data/test") { () throws(XenBusError) in try XenBus.write("data/test", "hello") }
        same(&t, "read data/test", ok(&t, "read data/test", { () throws(XenBusError) in
            try XenBus.read("data/test") }), "hello")
        _ = ok(&t, "overwrite data/test") { () throws(XenBusError) in try XenBus.write("data/test", "") }
        same(&t, "read data/test (empty)", ok(&t, "read data/test (empty)", { () throws(XenBusError) in
            try XenBus.read("data/test") }), "")
        _ = ok(&t, "rm data/test") { () throws(XenBusError) in try XenBus.rm("data/test") }
        fails(&t, "read data/test after rm", .ENOENT) { () throws(XenBusError) in try XenBus.read("data/test") }
        fails(&t, "read data/missing", .ENOENT) { () throws(XenBusError) in try XenBus.read("data/missing") }
        fails(&t, "write name (dom0's)", .EACCES) { () throws(XenBusError) in try XenBus.write("name", "x") }
    }

    private static func directories(_ t: inout TestContext) {
        _ = ok(&t, "mkdir data/dir") { () throws(XenBusError) in try XenBus.mkdir("data/dir") }
        _ = ok(&t, "write data/dir/a") { () throws(XenBusError) in try XenBus.write("data/dir/a", "1") }
        _ = ok(&t, "write data/dir/b") { () throws(XenBusError) in try XenBus.write("data/dir/b", "2") }
        guard let list = ok(&t, "directory data/dir", { () throws(XenBusError) in try XenBus.directory("data/dir") }) else { return }
        var a = 0, b = 0, others = 0
        list.forEachString { s in
            if s.equals("a") { a += 1 } else if s.equals("b") { b += 1 } else { others += 1 }
        }
        t.expect("directory data/dir lists a and b only", a == 1 && b == 1 && others == 0 && list.stringCount == 2,
                 expected: "a, b", got: Int64(list.stringCount))
        _ = ok(&t, "rm data/dir (recursive)") { () throws(XenBusError) in try XenBus.rm("data/dir") }
        fails(&t, "directory data/dir after rm", .ENOENT) { () throws(XenBusError) in try XenBus.directory("data/dir") }
        fails(&t, "read data/dir/a after rm", .ENOENT) { () throws(XenBusError) in try XenBus.read("data/dir/a") }
    }

    private static func permissions(_ t: inout TestContext, _ domid: UInt64) {
        let mine = text(0, "n", decimal: domid)
        var owner = text(1, mine.bytes)
        owner.append(byte: 0)
        same(&t, "get_perms data", ok(&t, "get_perms data", { () throws(XenBusError) in
            try XenBus.getPerms("data") }), owner.bytes)
        _ = ok(&t, "write data/p") { () throws(XenBusError) in try XenBus.write("data/p", "x") }
        _ = ok(&t, "set_perms data/p") { () throws(XenBusError) in try XenBus.setPerms("data/p", mine.bytes, "r0") }
        var expected = text(1, mine.bytes)
        expected.append(byte: 0)
        expected.append("r0")
        expected.append(byte: 0)
        same(&t, "get_perms data/p after set_perms", ok(&t, "get_perms data/p", { () throws(XenBusError) in
            try XenBus.getPerms("data/p") }), expected.bytes)
        _ = ok(&t, "rm data/p") { () throws(XenBusError) in try XenBus.rm("data/p") }
    }

    private static func watches(_ t: inout TestContext) {
        _ = ok(&t, "watch data/w") { () throws(XenBusError) in try XenBus.watch("data/w", token: "tokw") }
        guard let first = ok(&t, "first watch event", { () throws(XenBusError) in
            try XenBus.waitWatchEvent(timeout: nsPerSec) }) else { return }
        same(&t, "first event path", first.path, "data/w")
        same(&t, "first event token", first.token, "tokw")
        fails(&t, "no second event without a change", .ETIMEDOUT) { () throws(XenBusError) in
            try XenBus.waitWatchEvent(timeout: 50 * nsPerMs) }

        _ = ok(&t, "write data/w") { () throws(XenBusError) in try XenBus.write("data/w", "1") }
        guard let second = ok(&t, "event for the write", { () throws(XenBusError) in
            try XenBus.waitWatchEvent(timeout: nsPerSec) }) else { return }
        same(&t, "write event path", second.path, "data/w")
        same(&t, "write event token", second.token, "tokw")
        fails(&t, "one event per write", .ETIMEDOUT) { () throws(XenBusError) in
            try XenBus.waitWatchEvent(timeout: 50 * nsPerMs) }

        _ = ok(&t, "unwatch data/w") { () throws(XenBusError) in try XenBus.unwatch("data/w", token: "tokw") }
        _ = ok(&t, "write data/w after unwatch") { () throws(XenBusError) in try XenBus.write("data/w", "2") }
        fails(&t, "no event after unwatch", .ETIMEDOUT) { () throws(XenBusError) in
            try XenBus.waitWatchEvent(timeout: 100 * nsPerMs) }
        fails(&t, "unwatch again", .ENOENT) { () throws(XenBusError) in try XenBus.unwatch("data/w", token: "tokw") }
        _ = ok(&t, "rm data/w") { () throws(XenBusError) in try XenBus.rm("data/w") }
    }

    private static func transactions(_ t: inout TestContext) {
        guard let tx = ok(&t, "transaction_start", { () throws(XenBusError) in try XenBus.transactionStart() }) else { return }
        _ = ok(&t, "write data/tx in the transaction") { () throws(XenBusError) in
            try XenBus.write("data/tx", "in-tx", tx: tx) }
        fails(&t, "read data/tx outside before commit", .ENOENT) { () throws(XenBusError) in try XenBus.read("data/tx") }
        same(&t, "read data/tx inside", ok(&t, "read data/tx inside", { () throws(XenBusError) in
            try XenBus.read("data/tx", tx: tx) }), "in-tx")
        _ = ok(&t, "transaction_end(commit)") { () throws(XenBusError) in try XenBus.transactionEnd(tx, commit: true) }
        same(&t, "read data/tx after commit", ok(&t, "read data/tx after commit", { () throws(XenBusError) in
            try XenBus.read("data/tx") }), "in-tx")
        fails(&t, "read in the ended transaction", .ENOENT) { () throws(XenBusError) in try XenBus.read("data/tx", tx: tx) }

        guard let aborted = ok(&t, "transaction_start (2)", { () throws(XenBusError) in
            try XenBus.transactionStart() }) else { return }
        _ = ok(&t, "write data/tx2 in the transaction") { () throws(XenBusError) in
            try XenBus.write("data/tx2", "gone", tx: aborted) }
        _ = ok(&t, "transaction_end(abort)") { () throws(XenBusError) in try XenBus.transactionEnd(aborted, commit: false) }
        fails(&t, "read data/tx2 after abort", .ENOENT) { () throws(XenBusError) in try XenBus.read("data/tx2") }
        _ = ok(&t, "rm data/tx") { () throws(XenBusError) in try XenBus.rm("data/tx") }
    }

    private static func access(_ t: inout TestContext, _ domid: UInt64) {
        fails(&t, "read /local/domain/0", .EACCES) { () throws(XenBusError) in try XenBus.read("/local/domain/0") }
        let other = text(0, "/local/domain/", decimal: domid + 1, "/data")
        fails(&t, "read another domain's data", .EACCES) { () throws(XenBusError) in try XenBus.read(other.bytes) }
        fails(&t, "directory /local/domain", .EACCES) { () throws(XenBusError) in try XenBus.directory("/local/domain") }
        fails(&t, "read /tool/xenstored", .EACCES) { () throws(XenBusError) in try XenBus.read("/tool/xenstored") }
    }

    private static func large(_ t: inout TestContext) {
        var value = text(1)
        value.appendPattern(2000, seed: 3)
        _ = ok(&t, "write a 2000-byte value") { () throws(XenBusError) in try XenBus.write("data/big", value.bytes) }
        same(&t, "read the 2000-byte value", ok(&t, "read data/big", { () throws(XenBusError) in
            try XenBus.read("data/big") }), value.bytes)

        // "data/big\0" + 4087 bytes = XENSTORE_PAYLOAD_MAX exactly.
        var full = text(2)
        full.appendPattern(XenBus.payloadMax - 9, seed: 5)
        fails(&t, "write of a 4096-byte payload (node-size quota)", .ENOSPC) { () throws(XenBusError) in
            try XenBus.write("data/big", full.bytes) }
        same(&t, "data/big unchanged after the refused write", ok(&t, "read data/big again", { () throws(XenBusError) in
            try XenBus.read("data/big") }), value.bytes)
        full.append(byte: UInt8(ascii: "z"))
        fails(&t, "write of a 4097-byte payload", .E2BIG) { () throws(XenBusError) in
            try XenBus.write("data/big", full.bytes) }
        _ = ok(&t, "rm data/big") { () throws(XenBusError) in try XenBus.rm("data/big") }
        fails(&t, "read data/big after rm", .ENOENT) { () throws(XenBusError) in try XenBus.read("data/big") }
    }
}
