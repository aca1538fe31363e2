import Testing
import XenABI
@testable import XenStore

@Suite struct TreeTests {
    @Test func initialTree() {
        let c = TestClient(XenStored.quiet())
        #expect(c.directory("/").value == ["tool"])
        #expect(c.directory("/tool").value == ["xenstored"])
        #expect(c.call(.getPerms, ["@introduceDomain"]).value == Array("n0".utf8) + [0])
    }

    @Test func writeCreatesParentsAndReadReturnsBytes() {
        let c = TestClient(XenStored.quiet())
        #expect(c.write("/a/b/c", "value") == nil)
        #expect(c.read("/a/b/c").value == "value")
        #expect(c.read("/a/b").value == "")
        #expect(c.directory("/").value == ["tool", "a"])
        // Values are bytes: NULs and high bytes survive, and no NUL is added.
        let bin: [UInt8] = [0, 1, 0xFF, 0, 0x41]
        #expect(c.call(.write, payload: Array("/bin".utf8) + [0] + bin).value == Array("OK".utf8) + [0])
        #expect(c.call(.read, ["/bin"]).value == bin)
    }

    @Test func childrenKeepCreationOrder() {
        let c = TestClient(XenStored.quiet())
        for n in ["z", "a", "m"] { _ = c.write("/o/" + n, n) }
        #expect(c.directory("/o").value == ["z", "a", "m"])
        _ = c.call(.rm, ["/o/a"])
        _ = c.write("/o/a", "again")
        #expect(c.directory("/o").value == ["z", "m", "a"])
    }

    @Test func mkdirIsIdempotentAndKeepsValue() {
        let c = TestClient(XenStored.quiet())
        _ = c.write("/m", "keep")
        #expect(c.error(.mkdir, ["/m"]) == nil)
        #expect(c.read("/m").value == "keep")
        #expect(c.error(.mkdir, ["/m/n/o"]) == nil)
        #expect(c.directory("/m/n").value == ["o"])
    }

    @Test func rmIsRecursiveAndLenient() {
        let c = TestClient(XenStored.quiet())
        _ = c.write("/r/a/b/c", "1")
        _ = c.write("/r/d", "2")
        #expect(c.error(.rm, ["/r/a"]) == nil)
        #expect(c.read("/r/a/b/c").failure == .ENOENT)
        #expect(c.read("/r/a").failure == .ENOENT)
        #expect(c.directory("/r").value == ["d"])
        #expect(c.error(.rm, ["/r/gone"]) == nil)          // parent exists: fine
        #expect(c.error(.rm, ["/gone/gone"]) == .ENOENT)    // parent missing
        #expect(c.error(.rm, ["/"]) == .EINVAL)
    }

    @Test func pathSyntax() {
        let c = TestClient(XenStored.quiet())
        for bad in ["/a/", "/a//b", "/a b", "/a.b", "/ä", "", "@introduceDomain"] {
            #expect(c.write(bad, "x") == .EINVAL, "\(bad)")
        }
        #expect(c.write("/A-z_0/9@x", "ok") == nil)
        #expect(c.call(.read, payload: Array("/a".utf8)).failure == .EINVAL)             // no NUL
        #expect(c.call(.read, payload: Array("/a".utf8) + [0, 0]).failure == .EINVAL)    // two strings
        let longest = "/" + String(repeating: "x", count: XenStoreLimits.absolutePathMax - 1)
        #expect(c.write(longest, "ok") == nil)
        #expect(c.write(longest + "y", "no") == .EINVAL)
    }

    @Test func relativePathsResolveBelowHome() throws {
        let d = try daemonWithGuests([5])
        let g = TestClient(d, as: DomainID(5))
        #expect(g.write("data/key", "v") == nil)
        #expect(try d.readString("/local/domain/5/data/key") == "v")
        #expect(g.read("data/key").value == "v")
        #expect(g.call(.getDomainPath, ["5"]).value == Array("/local/domain/5".utf8) + [0])
        // dom0's home is /local/domain/0.
        let t = TestClient(d)
        #expect(t.write("rel", "x") == nil)
        #expect(try d.readString("/local/domain/0/rel") == "x")
    }

    @Test func generationsAndDirectoryPart() {
        let c = TestClient(XenStored.quiet())
        _ = c.write("/g", "")
        let names = (0..<400).map { "entry\($0)-" + String(repeating: "n", count: 20) }
        for n in names { _ = c.call(.mkdir, ["/g/" + n]) }
        // The full list no longer fits a reply.
        #expect(c.directory("/g").failure == .E2BIG)
        var collected: [String] = []
        var offset = 0
        var generation: String?
        while true {
            guard let p = c.call(.directoryPart, ["/g", String(offset)]).value else { Issue.record("failed"); return }
            #expect(p.count <= XenStoreLimits.payloadMax)
            let strings = XenStoreMessage(.directoryPart, payload: p).stringValues
            if generation == nil { generation = strings[0] }
            #expect(strings[0] == generation)
            let chunk = strings.dropFirst()
            if chunk.last == "" {
                collected += chunk.dropLast()
                break
            }
            collected += chunk
            offset += chunk.reduce(0) { $0 + $1.utf8.count + 1 }
        }
        #expect(collected == names)
        // Past the end: generation and an empty string.
        let end = c.call(.directoryPart, ["/g", "999999"]).value
        #expect(end == Array(generation!.utf8) + [0, 0])
        // A change of the children changes the generation.
        _ = c.call(.mkdir, ["/g/new"])
        let after = XenStoreMessage(.directoryPart, payload: c.call(.directoryPart, ["/g", "0"]).value!).stringValues[0]
        #expect(after != generation)
        #expect(c.error(.directoryPart, ["/g"]) == .EINVAL)
    }

    @Test func toolstackAPI() throws {
        let d = XenStored.quiet()
        try d.write("/x/y", "1")
        #expect(try d.readString("/x/y") == "1")
        #expect(try d.directory("/x") == ["y"])
        #expect(d.exists("/x/y") && !d.exists("/x/z"))
        try d.rm("/x")
        #expect(!d.exists("/x"))
        #expect(throws: XenStoreError.ENOENT) { try d.read("/x") }
        #expect(throws: XenStoreError.EINVAL) { try d.write("/bad/", "v") }
    }
}
