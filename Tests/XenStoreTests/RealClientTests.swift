import Foundation
import Testing
import XenABI
@testable import XenStore

/// Debian's xenstore-utils (libxenstore 4.17) against `XenStoreSocketServer`, run as
/// subprocesses with `XENSTORED_PATH` pointing at a socket served in-process.
@Suite(.serialized) struct RealClientTests {
    static let toolsInstalled = FileManager.default.isExecutableFile(atPath: "/usr/bin/xenstore-ls")

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
    }

    /// Runs `/usr/bin/<tool>`; a tool still running after `timeout` is killed (xenstore-watch
    /// ignores SIGTERM) and reported with status -1.
    static func run(_ tool: String, _ args: [String], socket: String, timeout: Duration = .seconds(20)) async throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/" + tool)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["XENSTORED_PATH"] = socket
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let deadline = ContinuousClock.now + timeout
        while p.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        var killed = false
        if p.isRunning { kill(p.processIdentifier, SIGKILL); killed = true }
        p.waitUntilExit()
        return Output(status: killed ? -1 : p.terminationStatus,
                      stdout: String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                      stderr: String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    /// A daemon with guests 5 and 6, served on a fresh socket for the duration of `body`.
    static func withServer(_ body: (XenStored, String) async throws -> Void) async throws {
        let d = try daemonWithGuests()
        let path = "/tmp/petrel-xs-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        let server = try await XenStoreSocketServer.start(path: path, daemon: d)
        do {
            try await body(d, path)
        } catch {
            try? await server.stop()
            unlink(path)
            throw error
        }
        try await server.stop()
        unlink(path)
    }

    @Test(.enabled(if: toolsInstalled, "xenstore-utils not installed"))
    func writeThenRead() async throws {
        try await Self.withServer { d, sock in
            let w = try await Self.run("xenstore-write", ["/vm/a", "hello", "/vm/b/c", "with space"], socket: sock)
            #expect(w.status == 0, "\(w.stderr)")
            #expect(try d.readString("/vm/a") == "hello")
            #expect(try d.readString("/vm/b/c") == "with space")
            let r = try await Self.run("xenstore-read", ["/vm/a", "/vm/b/c"], socket: sock)
            #expect(r.status == 0)
            #expect(r.lines == ["hello", "with space"])
            let missing = try await Self.run("xenstore-read", ["/vm/nope"], socket: sock)
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("couldn't read path /vm/nope"))
        }
    }

    @Test(.enabled(if: toolsInstalled, "xenstore-utils not installed"))
    func lsListExists() async throws {
        try await Self.withServer { d, sock in
            try d.write("/t/x", "1")
            try d.write("/t/y/z", "deep")
            try d.write("/t/y/w", "")
            let ls = try await Self.run("xenstore-ls", ["/t"], socket: sock)
            #expect(ls.status == 0)
            #expect(ls.lines == ["x = \"1\"", "y = \"\"", " z = \"deep\"", " w = \"\""])
            let full = try await Self.run("xenstore-ls", ["-f", "/t"], socket: sock)
            #expect(full.lines == ["/t/x = \"1\"", "/t/y = \"\"", "/t/y/z = \"deep\"", "/t/y/w = \"\""])
            let list = try await Self.run("xenstore-list", ["/t/y"], socket: sock)
            #expect(list.lines == ["z", "w"])
            #expect(try await Self.run("xenstore-exists", ["/t/y/z"], socket: sock).status == 0)
            #expect(try await Self.run("xenstore-exists", ["/t/nope"], socket: sock).status == 1)
            // The whole tree, including the guests' homes made as libxl makes them.
            let all = try await Self.run("xenstore-ls", ["/local/domain/5"], socket: sock)
            #expect(all.lines.contains("name = \"guest5\""))
            #expect(all.lines.contains(" shutdown = \"\""))
        }
    }

    @Test(.enabled(if: toolsInstalled, "xenstore-utils not installed"))
    func rm() async throws {
        try await Self.withServer { d, sock in
            try d.write("/r/a/b", "x")
            try d.write("/r/c", "y")
            #expect(try await Self.run("xenstore-rm", ["/r/a"], socket: sock).status == 0)
            #expect(!d.exists("/r/a") && !d.exists("/r/a/b"))
            #expect(try d.directory("/r") == ["c"])
            // Removing a missing node whose parent exists succeeds, as in Xen.
            #expect(try await Self.run("xenstore-rm", ["/r/gone"], socket: sock).status == 0)
            #expect(try await Self.run("xenstore-rm", ["/nowhere/gone"], socket: sock).status == 1)
        }
    }

    @Test(.enabled(if: toolsInstalled, "xenstore-utils not installed"))
    func watchCountsEvents() async throws {
        try await Self.withServer { d, sock in
            try d.mkdir("/w")
            async let watch = Self.run("xenstore-watch", ["-n", "3", "/w"], socket: sock)
            // Wait until the tool's watch is registered, then make two changes.
            let deadline = ContinuousClock.now + .seconds(20)
            while d.locked({ d.connections.allSatisfy { $0.watches.isEmpty } }) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            try d.write("/w/x", "1")
            try d.write("/elsewhere", "ignored")
            try d.rm("/w/x")
            let out = try await watch
            #expect(out.status == 0, "\(out.stderr)")
            #expect(out.lines == ["/w", "/w/x", "/w/x"])
        }
    }

    @Test(.enabled(if: toolsInstalled, "xenstore-utils not installed"))
    func chmodAndPermissions() async throws {
        try await Self.withServer { d, sock in
            try d.write("/p/a", "v")
            try d.write("/p/a/b", "w")
            let c = try await Self.run("xenstore-chmod", ["/p/a", "n5", "r6"], socket: sock)
            #expect(c.status == 0, "\(c.stderr)")
            #expect(try d.permissions("/p/a") == XenStorePermissions(owner: DomainID(5), others: .none,
                                                                     [XenStorePermission(DomainID(6), .read)]))
            #expect(try d.permissions("/p/a/b") == XenStorePermissions(owner: .control))
            let ls = try await Self.run("xenstore-ls", ["-p", "/p"], socket: sock)
            #expect(ls.lines.count == 2)
            #expect(ls.lines[0].hasPrefix("a = \"v\"") && ls.lines[0].hasSuffix("(n5,r6)"))
            #expect(ls.lines[1].hasPrefix(" b = \"w\"") && ls.lines[1].hasSuffix("(n0)"))
            // Recursive, and the permissions now bind the guests.
            #expect(try await Self.run("xenstore-chmod", ["-r", "/p", "n6"], socket: sock).status == 0)
            #expect(try d.permissions("/p/a/b") == XenStorePermissions(owner: DomainID(6), others: .none))
            let g5 = TestClient(d, as: DomainID(5))
            #expect(g5.read("/p/a/b").failure == .EACCES)
            #expect(TestClient(d, as: DomainID(6)).read("/p/a/b").value == "w")
            // A malformed permission is refused.
            #expect(try await Self.run("xenstore-chmod", ["/p/a", "x5"], socket: sock).status != 0)
        }
    }

    @Test(.enabled(if: toolsInstalled, "xenstore-utils not installed"))
    func largeDirectoryUsesDirectoryPart() async throws {
        try await Self.withServer { d, sock in
            // 300 names of 30 characters: the list is over 4096 bytes, so XS_DIRECTORY answers
            // E2BIG and libxenstore falls back to XS_DIRECTORY_PART.
            let names = (0..<300).map { "child-" + String($0).padding(toLength: 24, withPad: "x", startingAt: 0) }
            for n in names { try d.mkdir("/big/" + n) }
            let list = try await Self.run("xenstore-list", ["/big"], socket: sock)
            #expect(list.status == 0, "\(list.stderr)")
            #expect(list.lines == names)
        }
    }

    @Test(.enabled(if: toolsInstalled, "xenstore-utils not installed"))
    func oversizedClientIsDisconnectedServerSurvives() async throws {
        try await Self.withServer { d, sock in
            // A raw client announcing a 5000-byte payload is dropped; the server keeps serving.
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            #expect(fd >= 0)
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &addr.sun_path) { p in
                for (i, b) in sock.utf8.enumerated() { p[i] = b }
            }
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            #expect(rc == 0)
            let bad = XenStoreMessage(.read, requestID: 1, payload: []).encoded.prefix(12) + [0x88, 0x13, 0, 0]
            _ = bad.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            var buf = [UInt8](repeating: 0, count: 64)
            let n = read(fd, &buf, buf.count)   // EOF: the server closed the connection
            #expect(n == 0)
            close(fd)
            try d.write("/still", "here")
            #expect(try await Self.run("xenstore-read", ["/still"], socket: sock).lines == ["here"])
        }
    }
}
