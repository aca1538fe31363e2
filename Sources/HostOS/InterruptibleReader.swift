import Glibc

/// Reads a descriptor (a console client's stdin) on one thread while other threads can wake
/// that thread at any moment: poll(2) on the descriptor and on a self-pipe. A reader blocked
/// here never outlives what it reads for (`petrel run` must not hang on stdin after its
/// guest stopped).
///
/// Locking: none needed. `read` and `waitForWake` are for one thread at a time; `wake` may be
/// called from any thread (and after the reading thread is gone: the pipe stays open until
/// the reader is released).
public final class InterruptibleReader: Sendable {
    /// The descriptor read (not owned: never closed here).
    public let fd: Int32
    /// The self-pipe `wake` writes to and the reader polls (owned, non-blocking).
    private let wakeFD: Int32, wakeWriteFD: Int32

    public enum Event: Equatable, Sendable {
        /// Bytes read (never empty).
        case data([UInt8])
        /// End of file, a hang-up with nothing left, or an error reading (the descriptor is
        /// done for us).
        case endOfFile
        /// Someone called `wake` (each call is reported once at most; several calls may
        /// merge into one).
        case woken
        /// Nothing within the timeout (or an interrupted wait): ask again.
        case timedOut
    }

    public init(fd: Int32) throws(HostError) {
        self.fd = fd
        var p: [Int32] = [-1, -1]
        try Host.check("pipe") { pipe(&p) }
        for end in p {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        wakeFD = p[0]
        wakeWriteFD = p[1]
    }

    deinit {
        close(wakeFD)
        close(wakeWriteFD)
    }

    /// True if `fd` is an open descriptor (a closed stdin is not).
    public static func isOpen(_ fd: Int32) -> Bool { fcntl(fd, F_GETFD) != -1 }

    /// Waits up to `timeoutMs` (-1: no limit) for bytes on `fd` or a wake; a wake wins when
    /// both are ready (the caller is usually being told to stop).
    public func read(max: Int = 4096, timeoutMs: Int32) -> Event {
        var p = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
                 pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        let n = poll(&p, 2, timeoutMs)
        if n <= 0 { return .timedOut }  // 0: timeout; -1: EINTR (or ENOMEM): try again
        if p[0].revents != 0 {
            consumeWake()
            return .woken
        }
        let r = Int32(p[1].revents)
        if r & POLLNVAL != 0 { return .endOfFile }
        guard r & (POLLIN | POLLHUP | POLLERR) != 0 else { return .timedOut }
        var buf = [UInt8](repeating: 0, count: Swift.max(1, max))
        let got = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if got > 0 { return .data(Array(buf[0..<got])) }
        if got == 0 { return .endOfFile }
        switch errno {
        case EINTR, EAGAIN: return .timedOut
        default: return .endOfFile
        }
    }

    /// Waits up to `timeoutMs` for a wake only (not for input); true if one came.
    public func waitForWake(timeoutMs: Int32) -> Bool {
        var p = pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, timeoutMs) > 0 else { return false }
        consumeWake()
        return true
    }

    /// Ends the current (or next) `read` or `waitForWake` with a wake.
    public func wake() {
        // A full pipe is already readable: a failed write loses nothing.
        var one: UInt8 = 1
        _ = Glibc.write(wakeWriteFD, &one, 1)
    }

    private func consumeWake() {
        var buf = [UInt8](repeating: 0, count: 64)
        while buf.withUnsafeMutableBytes({ Glibc.read(wakeFD, $0.baseAddress, $0.count) }) > 0 {}
    }
}
