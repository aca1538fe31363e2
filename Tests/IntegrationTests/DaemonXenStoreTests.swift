import Glibc
import HostOS
import Synchronization
import Testing
import Toolstack

/// The daemon's xenstore and console as a user meets them: Debian's xenstore-utils on
/// `xenstored.socket` while a real guest runs, `petrel shutdown`/`reboot` acted on by the
/// guest's xenbus driver (`test=xsshutdown`), and console attachment (`test=echo`).
extension KVMIntegration {
    @Suite(.enabled(if: Env.canBoot, Env.skipReason))
    struct DaemonXenStoreTests {
        static let toolsInstalled = HostProcess.fileExists("/usr/bin/xenstore-ls")
            && HostProcess.fileExists("/usr/bin/xenstore-watch")

        // MARK: xenstore-utils

        /// A running guest's nodes through xenstore-ls/-read/-list; a tool's write/read/rm round
        /// trip; xenstore-watch hearing a change; a tool's write to control/shutdown acted on by
        /// the guest; and after the domain is gone, its home, console backend, connection and
        /// watches are gone too.
        @Test(.enabled(if: toolsInstalled, "xenstore-utils not installed"))
        func xenstoreUtilsAgainstARunningGuest() throws {
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            let id = try Self.create(d, "xs1", test: "xsshutdown")
            let home = "/local/domain/\(id)"
            let console = try ConsoleTap(d, "xs1")
            defer { console.close() }
            #expect(console.waitFor("xsshutdown: waiting for control/shutdown"), "console: \(console.text)")
            // The guest's one watch (control/shutdown) is registered on its connection
            // (XS_CONTROL "quota <domid>", which Debian's xenstore-control would send).
            let quota = try Self.wire(d, type: 0, ["quota", String(id)])
            #expect(quota.type == 0 && quota.text.split(separator: "\n").contains { $0.hasPrefix("watches ") && $0.hasSuffix(": 1") },
                    "\(quota)")
            #expect(try Self.wire(d, type: 17, [String(id)]).text == "T\0", "XS_IS_DOMAIN_INTRODUCED")

            // What libxl would have written, as the tools list it.
            let ls = try Self.tool(d, "xenstore-ls", ["-f", home])
            #expect(ls.status == 0, "\(ls.stderr)")
            for entry in ["\(home)/name = \"xs1\"", "\(home)/domid = \"\(id)\"", "\(home)/memory/target = \"32768\"",
                          "\(home)/memory/static-max = \"32768\"", "\(home)/cpu/0/availability = \"online\"",
                          "\(home)/control/feature-poweroff = \"1\"", "\(home)/control/shutdown = \"\""] {
                #expect(ls.lines.contains(entry), "missing \(entry) in:\n\(ls.stdout)")
            }
            #expect(ls.lines.contains { $0.hasPrefix("\(home)/store/port = ") }, "\(ls.stdout)")
            let read = try Self.tool(d, "xenstore-read", ["\(home)/name", "\(home)/domid", "\(home)/memory/target"])
            #expect(read.status == 0 && read.lines == ["xs1", String(id), "32768"], "\(read.stdout)\(read.stderr)")
            let list = try Self.tool(d, "xenstore-list", ["/local/domain"])
            #expect(list.lines.contains(String(id)), "\(list.stdout)")
            let backend = "/local/domain/0/backend/console/\(id)/0"
            #expect(try Self.tool(d, "xenstore-read", ["\(backend)/frontend"]).lines == ["\(home)/console"])

            // A tool's own round trip in the guest's data directory.
            #expect(try Self.tool(d, "xenstore-write", ["\(home)/data/tool", "from the tool"]).status == 0)
            #expect(try Self.tool(d, "xenstore-read", ["\(home)/data/tool"]).lines == ["from the tool"])
            #expect(try Self.tool(d, "xenstore-rm", ["\(home)/data/tool"]).status == 0)
            let gone = try Self.tool(d, "xenstore-read", ["\(home)/data/tool"])
            #expect(gone.status == 1 && gone.stderr.contains("couldn't read path"), "\(gone.stderr)")

            // xenstore-watch: one event when the watch is set, one for the write.
            let watch = try Watcher(d, "\(home)/data/watched", events: 2)
            #expect(watch.nextLine() == "\(home)/data/watched", "the registration event")
            #expect(try Self.tool(d, "xenstore-write", ["\(home)/data/watched", "x"]).status == 0)
            #expect(watch.nextLine() == "\(home)/data/watched", "the write's event")
            #expect(watch.finish() == 0)

            // The guest hears a tool's write on its watch and powers off; on_poweroff="destroy"
            // takes the domain away, and a watch on its home sees the removal.
            // (A watch covers the subtree: the tool's write and the guest's acknowledgement of
            // control/shutdown fire it too, before the home's removal does.)
            let homeWatch = try Watcher(d, home)
            defer { homeWatch.kill() }
            #expect(homeWatch.nextLine() == home, "the registration event")
            #expect(try Self.tool(d, "xenstore-write", ["\(home)/control/shutdown", "poweroff"]).status == 0)
            #expect(console.waitForEnd(), "the console closes when the domain goes")
            #expect(console.text.contains("xsshutdown: poweroff requested"), "console: \(console.text)")
            #expect(console.text.contains("PASS xsshutdown"), "console: \(console.text)")
            let events = homeWatch.lines(through: home)
            #expect(events.last == home, "the home's removal fires the watch: \(events)")
            #expect(events.filter { $0 == "\(home)/control/shutdown" }.count >= 2,
                    "the tool's request and the guest's acknowledgement: \(events)")
            #expect(!(try d.waitForList { !$0.contains { $0.name == "xs1" } }).contains { $0.name == "xs1" })

            let after = try Self.tool(d, "xenstore-ls", [home])
            #expect(after.status != 0, "home still listed: \(after.stdout)")
            #expect(!(try Self.tool(d, "xenstore-list", ["/local/domain"]).lines.contains(String(id))))
            #expect(try Self.tool(d, "xenstore-exists", [backend]).status != 0, "the console backend is removed")
            // xenstored forgot the domain: its connection and watches went with it.
            let noQuota = try Self.wire(d, type: 0, ["quota", String(id)])
            #expect(noQuota.type == 16 && noQuota.text == "ENOENT\0", "xenstored still knows domain \(id): \(noQuota)")
            #expect(try Self.wire(d, type: 17, [String(id)]).text == "F\0", "XS_IS_DOMAIN_INTRODUCED")
            #expect(try d.cli(["dmesg"]).stdout.contains("domain \(id) (xs1) powered off: destroy"))
        }

        /// Bad requests from a tool get xenstored's errors and leave the socket serving.
        @Test(.enabled(if: toolsInstalled, "xenstore-utils not installed"))
        func toolErrorsAgainstTheDaemon() throws {
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            let missing = try Self.tool(d, "xenstore-read", ["/local/domain/77/name"])
            #expect(missing.status == 1 && missing.stderr.contains("couldn't read path"), "\(missing.stderr)")
            let rmMissing = try Self.tool(d, "xenstore-rm", ["/no/such/node"])
            #expect(rmMissing.status == 1, "\(rmMissing.stdout)\(rmMissing.stderr)")
            let badControl = try Self.wire(d, type: 0, ["no-such-command"])
            #expect(badControl.type == 16 && badControl.text == "EINVAL\0", "\(badControl)")
            #expect(try Self.tool(d, "xenstore-write", ["/tool/t", "ok"]).status == 0)
            #expect(try Self.tool(d, "xenstore-read", ["/tool/t"]).lines == ["ok"])
        }

        // MARK: shutdown and reboot

        /// `petrel shutdown -w` on a guest that watches control/shutdown: it acknowledges and
        /// powers off, the command waits for that, and the domain is gone.
        @Test func shutdownWaitPowersTheGuestOff() throws {
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            let id = try Self.create(d, "sd1", test: "xsshutdown")
            let console = try ConsoleTap(d, "sd1")
            defer { console.close() }
            #expect(console.waitFor("xsshutdown: waiting for control/shutdown"), "console: \(console.text)")
            let r = try d.cli(["shutdown", "-w", "sd1"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.contains("domain sd1 powered off"), "\(r.stderr)")
            #expect(console.waitForEnd())
            #expect(console.text.contains("xsshutdown: poweroff requested"), "console: \(console.text)")
            #expect(!(try d.cli(["list"]).lines.contains { $0.hasPrefix("sd1 ") }))
            #expect(try d.cli(["dmesg"]).stdout.contains("domain \(id) (sd1) powered off: destroy"))
            let again = try d.cli(["shutdown", "sd1"])
            #expect(again.status == 1 && again.stderr.contains("no domain named"), "\(again.stderr)")
        }

        /// `petrel reboot -w`: the guest reboots itself; on_reboot="restart" builds it again
        /// under a new id, on_reboot="destroy" leaves it gone.
        @Test(arguments: ["restart", "destroy"])
        func rebootWaitFollowsOnReboot(_ action: String) throws {
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            let id = try Self.create(d, "rb", test: "xsshutdown", ["on_reboot = \"\(action)\""])
            let console = try ConsoleTap(d, "rb")
            defer { console.close() }
            #expect(console.waitFor("xsshutdown: waiting for control/shutdown"), "console: \(console.text)")
            let r = try d.cli(["reboot", "-w", "rb"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.contains("domain rb asked to reboot"), "\(r.stderr)")
            #expect(console.waitForEnd())
            #expect(console.text.contains("xsshutdown: reboot requested"), "console: \(console.text)")
            #expect(try d.cli(["dmesg"]).stdout.contains("domain \(id) (rb) asked to reboot: \(action)"))
            if action == "restart" {
                let rows = try d.waitForList { $0.contains { $0.name == "rb" && $0.id != id } }
                let again = try #require(rows.first { $0.name == "rb" }, "\(rows)")
                #expect(again.id > id, "\(rows)")
                // The new domain has its own home; the old one's is gone.
                #expect(try Self.wire(d, type: 2, ["/local/domain/\(again.id)/name"]).text == "rb")
                #expect(try Self.wire(d, type: 2, ["/local/domain/\(id)/name"]).text == "ENOENT\0")
            } else {
                usleep(300_000)
                #expect(!(try d.cli(["list"]).lines.contains { $0.hasPrefix("rb ") }))
            }
        }

        // MARK: console

        /// `ControlClient.attachConsole` with pipes: input reaches the guest, its echo and its
        /// verdict come back, and the call returns when the domain ends.
        @Test func attachConsoleWithPipes() throws {
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            _ = try Self.create(d, "e1", test: "echo")
            let input = try Pipe(), output = try Pipe()
            defer { input.close(); output.close() }
            Host.writeAll(input.write, Array("hello\nquit\n".utf8))
            input.closeWrite()
            let c = try d.client()
            defer { c.close() }
            let detached = try c.attachConsole(domain: "e1", input: input.read, output: output.write)
            #expect(!detached)
            output.closeWrite()
            let text = String(decoding: HostProcess.readAll(output.read), as: UTF8.self)
            #expect(text.contains("echo ready"), "\(text)")
            #expect(text.contains("echo: hello"), "\(text)")
            #expect(text.contains("PASS echo"), "\(text)")
            #expect(!(try d.cli(["list"]).lines.contains { $0.hasPrefix("e1 ") }))
        }

        /// A quiet domain's earlier output shows as soon as the client attaches (not only once
        /// the guest prints again), input typed later still reaches it, and Ctrl-] detaches.
        @Test func attachShowsTheBacklogOfAQuietDomain() throws {
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            _ = try Self.create(d, "e4", test: "echo")
            #expect(try ConsoleTap(d, "e4").waitFor("echo ready"), "the guest is up and waiting for input")
            let input = try Pipe(), output = try Pipe()
            defer { input.close(); output.close() }
            let c = try d.client()
            defer { c.close() }
            let result = DetachResult()
            let (inFD, outFD) = (input.read, output.write)
            let attach = try HostThread(name: "attach") { [c] in
                let r = try? c.attachConsole(domain: "e4", input: inFD, output: outFD)
                result.value.withLock { $0 = r }
            }
            var seen = LineReader(fd: output.read)
            #expect(seen.next(timeoutMs: 5_000) == "echo ready", "the backlog arrives without new output")
            Host.writeAll(input.write, Array("hello\n".utf8))
            #expect(seen.next(timeoutMs: 5_000) == "echo: hello")
            Host.writeAll(input.write, [0x1d])
            attach.join()
            #expect(result.value.withLock { $0 } == true, "detached with the escape byte")
            #expect(try d.cli(["list"]).lines.contains { $0.hasPrefix("e4 ") })
        }

        /// The escape byte (Ctrl-]) detaches and leaves the domain running.
        @Test func escapeDetachesAndLeavesTheDomain() throws {
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            _ = try Self.create(d, "e2", test: "echo")
            let input = try Pipe(), output = try Pipe()
            defer { input.close(); output.close() }
            Host.writeAll(input.write, [0x1d])
            let c = try d.client()
            defer { c.close() }
            #expect(try c.attachConsole(domain: "e2", input: input.read, output: output.write))
            #expect(try d.cli(["list"]).lines.contains { $0.hasPrefix("e2 ") })
            let missing = try d.client()
            defer { missing.close() }
            #expect(throws: ToolstackError.self) { try missing.attachConsole(domain: "nobody", input: input.read, output: output.write) }
        }

        /// `petrel console DOM` with stdin from a pipe: the echo and the verdict on stdout, and
        /// the process exits once the domain has ended.
        @Test func consoleCommandWithPipedInput() throws {
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            _ = try Self.create(d, "e3", test: "echo")
            let r = try Env.petrel(["console", "e3"], environment: ["PETREL_STATE_DIR": d.stateDir], timeout: 60,
                                   stdin: Array("hello\nquit\n".utf8))
            #expect(r.status == 0, "status \(r.status): \(r.stderr)")
            #expect(r.stdout.contains("echo: hello"), "\(r.stdout)")
            #expect(r.stdout.contains("PASS echo"), "\(r.stdout)")
            #expect(!(try d.cli(["list"]).lines.contains { $0.hasPrefix("e3 ") }))
            let none = try Env.petrel(["console", "e3"], environment: ["PETREL_STATE_DIR": d.stateDir], timeout: 60)
            #expect(none.status == 1 && none.stderr.contains("no domain named"), "\(none.stderr)")
        }

        // MARK: helpers

        /// Creates a PetrelOS guest through the CLI; its domain id.
        static func create(_ d: DaemonHarness, _ name: String, test: String, _ extra: [String] = []) throws -> Int {
            let r = try d.cli(["create", try d.config(name, test: test, extra)])
            try #require(r.status == 0, "\(r.stderr)")
            let rows = try d.waitForList { $0.contains { $0.name == name } }
            return try #require(rows.first { $0.name == name }?.id, "\(rows)")
        }

        /// One request on `xenstored.socket`, spoken by hand (xs_wire.h: four little-endian u32
        /// type, req_id, tx_id, len, then NUL-terminated strings): the reply's type and payload.
        static func wire(_ d: DaemonHarness, type: UInt32, _ args: [String]) throws -> (type: UInt32, text: String) {
            let conn = try UnixConnection.connect(path: d.stateDir + "/xenstored.socket")
            defer { conn.close() }
            let payload: [UInt8] = args.flatMap { Array($0.utf8) + [0] }
            var message: [UInt8] = []
            for field: UInt32 in [type, 7, 0, UInt32(payload.count)] {
                for shift: UInt32 in [0, 8, 16, 24] { message.append(UInt8(truncatingIfNeeded: field >> shift)) }
            }
            try conn.write(message + payload)
            var reply: [UInt8] = []
            func u32(_ at: Int) -> UInt32 {
                var v: UInt32 = 0
                for i in 0..<4 { v |= UInt32(reply[at + i]) << UInt32(8 * i) }
                return v
            }
            while reply.count < 16 || reply.count < 16 + Int(u32(12)) {
                guard conn.waitReadable(timeoutMs: 10_000) else { throw HarnessError("xenstored: no reply") }
                let chunk = try conn.read()
                guard !chunk.isEmpty else { throw HarnessError("xenstored closed the socket") }
                reply += chunk
            }
            #expect(u32(4) == 7, "the reply echoes req_id")
            return (u32(0), String(decoding: reply[16..<(16 + Int(u32(12)))], as: UTF8.self))
        }

        /// Runs a Debian xenstore tool against the daemon's socket (killed after 20 s).
        static func tool(_ d: DaemonHarness, _ name: String, _ args: [String]) throws -> Env.Run {
            let r = try HostProcess.run("/usr/bin/timeout", ["-s", "KILL", "20", "/usr/bin/" + name] + args,
                                        environment: ["XENSTORED_PATH": d.stateDir + "/xenstored.socket"])
            return Env.Run(status: r.status, stdout: r.stdout, stderr: r.stderr)
        }
    }
}

/// `xenstore-watch [-n EVENTS] PATH` running against a daemon; its stdout read line by line.
private final class Watcher {
    let process: HostProcess
    private var reader: LineReader

    init(_ d: DaemonHarness, _ path: String, events: Int? = nil) throws {
        let count = events.map { ["-n", String($0)] } ?? []
        process = try HostProcess(path: "/usr/bin/xenstore-watch", arguments: ["xenstore-watch"] + count + [path],
                                  environment: ["XENSTORED_PATH": d.stateDir + "/xenstored.socket"])
        reader = LineReader(fd: process.stdoutFD)
    }

    /// The next line, or nil after 10 s or at end of file.
    func nextLine() -> String? { reader.next(timeoutMs: 10_000) }

    /// Lines up to and including the first equal to `last` (nil: not within 10 s each).
    func lines(through last: String) -> [String] {
        var seen: [String] = []
        while let l = nextLine() {
            seen.append(l)
            if l == last { break }
        }
        return seen
    }

    /// The exit status once it exits by itself (within 10 s; `-n` reached), else -1 after
    /// SIGKILL (xenstore-watch ignores SIGTERM).
    func finish() -> Int32 {
        if process.hasExited(withinMs: 10_000) { return process.wait() }
        process.signal(SIGKILL)
        _ = process.wait()
        return -1
    }

    /// Ends a watcher that has no `-n`.
    func kill() {
        process.signal(SIGKILL)
        _ = process.wait()
    }
}

/// A raw control connection attached to a domain's console, read as it runs.
private final class ConsoleTap {
    private let connection: UnixConnection
    private var bytes: [UInt8] = []
    private var ended = false

    init(_ d: DaemonHarness, _ domain: String) throws {
        connection = try UnixConnection.connect(path: d.stateDir + "/petrel.sock")
        try connection.write(line: ControlCodec.encode(ControlRequest(op: .console, domain: domain)))
        let reply = try connection.readLine()
        guard reply?.contains("\"ok\":true") == true else { throw HarnessError("console \(domain): \(reply ?? "EOF")") }
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Reads until `pattern` has appeared (true) or 20 s pass or the console closes.
    func waitFor(_ pattern: String) -> Bool {
        pump(until: { $0.text.contains(pattern) })
        return text.contains(pattern)
    }

    /// Reads until the daemon closes the console (the domain is gone); false after 30 s.
    func waitForEnd() -> Bool {
        pump(until: { _ in false }, seconds: 30)
        return ended
    }

    private func pump(until done: (ConsoleTap) -> Bool, seconds: UInt64 = 20) {
        let deadline = Host.monotonicNanoseconds() + seconds * 1_000_000_000
        while !ended, !done(self), Host.monotonicNanoseconds() < deadline {
            guard connection.waitReadable(timeoutMs: 100) else { continue }
            let chunk = (try? connection.read()) ?? []
            if chunk.isEmpty { ended = true } else { bytes += chunk }
        }
    }

    func close() { connection.close() }
    deinit { connection.close() }
}

/// What `attachConsole` returned on another thread.
private final class DetachResult: Sendable {
    let value = Mutex<Bool?>(nil)
}

/// Lines from a file descriptor, with a timeout.
private struct LineReader {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var eof = false

    init(fd: Int32) { self.fd = fd }

    mutating func next(timeoutMs: Int) -> String? {
        let deadline = Host.monotonicNanoseconds() + UInt64(timeoutMs) * 1_000_000
        while true {
            if let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                defer { buffer.removeFirst(nl + 1) }
                return String(decoding: buffer[..<nl], as: UTF8.self)
            }
            let now = Host.monotonicNanoseconds()
            guard !eof, now < deadline else { return nil }
            guard Host.pollReadable([fd], timeoutMs: Int32((deadline - now) / 1_000_000) + 1)[0] else { continue }
            let chunk = Host.readSome(fd)
            if chunk.isEmpty { eof = true } else { buffer += chunk }
        }
    }
}

/// A pipe whose ends are closed once.
private final class Pipe {
    let read: Int32
    let write: Int32
    private var readOpen = true, writeOpen = true

    init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw HarnessError("pipe failed") }
        read = fds[0]
        write = fds[1]
    }

    func closeWrite() {
        if writeOpen { Glibc.close(write); writeOpen = false }
    }

    func close() {
        closeWrite()
        if readOpen { Glibc.close(read); readOpen = false }
    }
}
