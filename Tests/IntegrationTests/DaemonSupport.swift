import Glibc
import HostOS
import Testing
import Toolstack

/// A `petrel daemon` of our own, in a fresh state directory, for one test.
final class DaemonHarness {
    let stateDir: String
    let process: HostProcess

    init() throws {
        var template = Array("/tmp/petrel-test-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw HarnessError("mkdtemp failed") }
        stateDir = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        process = try HostProcess(path: Env.petrel, arguments: [Env.petrel, "daemon", "--state-dir", stateDir])
        let deadline = Host.monotonicNanoseconds() + 10_000_000_000
        while !HostProcess.fileExists(stateDir + "/petrel.sock") || !HostProcess.fileExists(stateDir + "/xenstored.socket") {
            guard Host.monotonicNanoseconds() < deadline, !process.hasExited(withinMs: 0) else {
                throw HarnessError("petrel daemon did not start")
            }
            usleep(10_000)
        }
    }

    /// The daemon's exit status after SIGTERM (it destroys its domains first).
    func stop() -> Int32 {
        process.signal(SIGTERM)
        let status = process.wait()
        _ = try? HostProcess.run("/bin/rm", ["-rf", stateDir])
        return status
    }

    func client() throws -> ControlClient { try ControlClient(stateDir: stateDir) }

    /// Runs the CLI against this daemon.
    func cli(_ args: [String]) throws -> Env.Run {
        try Env.petrel(args, environment: ["PETREL_STATE_DIR": stateDir], timeout: 120)
    }

    /// Writes an xl.cfg for the PetrelOS test guest.
    func config(_ name: String, test: String, _ extra: [String] = []) throws -> String {
        let path = stateDir + "/\(name).cfg"
        let text = ([
            "name = \"\(name)\"", "type = \"pvh\"", "kernel = \"\(Env.guest)\"", "memory = 32",
            "extra = \"test=\(test)\"",
        ] + extra).joined(separator: "\n") + "\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw HarnessError("cannot write \(path)") }
        Host.writeAll(fd, Array(text.utf8))
        close(fd)
        return path
    }

    /// Polls `list` until `body` holds (or 20 s pass); returns the last rows.
    @discardableResult
    func waitForList(_ body: ([DomainSummary]) -> Bool) throws -> [DomainSummary] {
        let c = try client()
        defer { c.close() }
        let deadline = Host.monotonicNanoseconds() + 20_000_000_000
        var rows: [DomainSummary] = []
        repeat {
            rows = try c.call(ControlRequest(op: .list)).domains ?? []
            if body(rows) { return rows }
            usleep(20_000)
        } while Host.monotonicNanoseconds() < deadline
        return rows
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
