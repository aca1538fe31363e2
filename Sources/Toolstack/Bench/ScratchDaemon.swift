import HostOS

/// A `petrel daemon` of a benchmark's own, in a scratch state directory under /tmp that goes
/// away with it.
final class ScratchDaemon {
    let dir: String
    private let process: HostProcess
    private var stopped = false

    /// Starts the daemon and waits (up to 10 s) until `socket` appears in its state directory.
    init(petrelPath: String, name: String = "petrel-bench", socket: String = "petrel.sock") throws {
        dir = "/tmp/\(name)-\(Host.monotonicNanoseconds())"
        process = try HostProcess(path: petrelPath, arguments: [petrelPath, "daemon", "--state-dir", dir])
        let deadline = Host.monotonicNanoseconds() + 10_000_000_000
        while !HostProcess.fileExists(dir + "/" + socket) {
            guard Host.monotonicNanoseconds() < deadline, !process.hasExited(withinMs: 0) else {
                stop()
                throw ToolstackError.engine("petrel daemon did not start")
            }
            Host.sleep(milliseconds: 5)
        }
    }

    deinit { stop() }

    /// Stops the daemon (SIGTERM), waits for it, removes the state directory. Idempotent.
    func stop() {
        guard !stopped else { return }
        stopped = true
        process.signal()
        _ = process.wait()
        _ = try? HostProcess.run("/bin/rm", ["-rf", dir])
    }
}
