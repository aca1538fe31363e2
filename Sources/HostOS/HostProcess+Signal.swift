import Glibc

extension HostProcess {
    /// Sends `signal` (SIGTERM by default) to the child.
    public func signal(_ signal: Int32 = SIGTERM) { kill(pid, signal) }

    /// Waits up to `timeoutMs` for the child to exit without reaping it; true if it has.
    public func hasExited(withinMs timeoutMs: Int) -> Bool {
        let deadline = Host.monotonicNanoseconds() + UInt64(timeoutMs) * 1_000_000
        repeat {
            // A child that exited and is not yet reaped is a zombie ("Z" after the name).
            guard let stat = try? Host.readFile("/proc/\(pid)/stat", limit: 4096) else { return true }
            if let close = stat.lastIndex(of: UInt8(ascii: ")")), close + 2 < stat.count,
               stat[close + 2] == UInt8(ascii: "Z") { return true }
            usleep(2000)
        } while Host.monotonicNanoseconds() < deadline
        return false
    }
}
