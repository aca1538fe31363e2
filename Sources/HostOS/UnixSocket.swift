import Glibc

/// A connected `AF_UNIX` stream socket: blocking reads and writes, line framing for the
/// control protocol, and the peer's credentials (`SO_PEERCRED`).
///
/// Locking: none. One thread reads while at most one other writes; `close()` from any thread
/// wakes a blocked reader (shutdown first, so the fd number is not reused under it).
public final class UnixConnection: @unchecked Sendable {
    public let fd: Int32
    private var buffer: [UInt8] = []
    private var closed = false

    init(fd: Int32) { self.fd = fd }

    deinit { if !closed { Glibc.close(fd) } }

    /// Connects to the socket at `path`.
    public static func connect(path: String) throws(HostError) -> UnixConnection {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HostError("socket", Host.lastErrno) }
        var addr = try UnixAddress(path)
        let rc = addr.withSockaddr { Glibc.connect(fd, $0, $1) }
        guard rc == 0 else {
            let e = Host.lastErrno
            Glibc.close(fd)
            throw HostError("connect \(path)", e)
        }
        return UnixConnection(fd: fd)
    }

    /// The peer's process id, user id and group id.
    public var peerCredentials: (pid: Int32, uid: UInt32, gid: UInt32)? {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (Glibc hides it without _GNU_SOURCE).
        var cred: (Int32, UInt32, UInt32) = (0, 0, 0)
        var len = socklen_t(12)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0, len == 12 else { return nil }
        return cred
    }

    /// Writes all of `bytes` (retrying short writes and EINTR).
    public func write(_ bytes: [UInt8]) throws(HostError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { p in
                // SAFETY: the range lies within `bytes`.
                Glibc.send(fd, p.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw HostError("send", Host.lastErrno)
            }
            done += n
        }
    }

    /// Sends what fits without blocking; returns the bytes taken (0 if the peer is full or gone).
    public func trySend(_ bytes: [UInt8]) -> Int {
        let n = bytes.withUnsafeBytes { p in
            Glibc.send(fd, p.baseAddress, bytes.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
        }
        return max(0, n)
    }

    public func write(line: String) throws(HostError) { try write(Array((line + "\n").utf8)) }

    /// Reads whatever is available (at most `max` bytes; buffered bytes first); empty at EOF.
    public func read(max: Int = 65536) throws(HostError) -> [UInt8] {
        if !buffer.isEmpty {
            let n = min(max, buffer.count)
            defer { buffer.removeFirst(n) }
            return Array(buffer[0..<n])
        }
        var out = [UInt8](repeating: 0, count: max)
        while true {
            let n = out.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, max, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw HostError("recv", Host.lastErrno)
            }
            out.removeLast(max - n)
            return out
        }
    }

    /// Reads one `\n`-terminated line (without the newline); nil at EOF. A line longer than
    /// `limit` bytes is an error (the peer is not speaking the protocol).
    public func readLine(limit: Int = 1 << 20) throws(HostError) -> String? {
        while true {
            if let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[0..<nl], as: UTF8.self)
                buffer.removeFirst(nl + 1)
                return line
            }
            guard buffer.count <= limit else { throw HostError("readLine: line too long", .messageTooLong) }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, 65536, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw HostError("recv", Host.lastErrno)
            }
            if n == 0 { return nil }
            buffer += chunk[0..<n]
        }
    }

    /// Bytes already read from the socket but not yet consumed (after `readLine`).
    public func takeBuffered() -> [UInt8] {
        defer { buffer = [] }
        return buffer
    }

    /// Waits until the socket is readable or `timeoutMs` passes; true if readable.
    public func waitReadable(timeoutMs: Int32) -> Bool {
        if !buffer.isEmpty { return true }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, timeoutMs) > 0
    }

    /// Ends both directions; a reader blocked in another thread returns EOF.
    public func shutdown() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    public func close() {
        guard !closed else { return }
        closed = true
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
    }
}

/// A listening `AF_UNIX` stream socket at a path, created with mode 0600 (only its owner
/// may connect).
public final class UnixListener: @unchecked Sendable {
    public let path: String
    public let fd: Int32

    public init(path: String, mode: mode_t = 0o600) throws(HostError) {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HostError("socket", Host.lastErrno) }
        var addr: UnixAddress
        do { addr = try UnixAddress(path) } catch {
            Glibc.close(fd)
            throw error
        }
        unlink(path)
        // The socket file gets `mode` from the start: no window in which others may connect.
        let old = umask(~mode & 0o777)
        let rc = addr.withSockaddr { bind(fd, $0, $1) }
        let e = Host.lastErrno
        umask(old)
        guard rc == 0 else {
            Glibc.close(fd)
            throw HostError("bind \(path)", e)
        }
        guard listen(fd, 64) == 0 else {
            let e = Host.lastErrno
            Glibc.close(fd)
            throw HostError("listen \(path)", e)
        }
    }

    /// The next connection; nil once the listener was closed.
    public func accept() -> UnixConnection? {
        while true {
            let c = Glibc.accept(fd, nil, nil)
            if c >= 0 {
                _ = fcntl(c, F_SETFD, FD_CLOEXEC)
                return UnixConnection(fd: c)
            }
            if errno == EINTR || errno == ECONNABORTED { continue }
            return nil
        }
    }

    /// Stops accepting (a blocked `accept` returns nil) and removes the socket file.
    public func close() {
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
        unlink(path)
    }
}

/// A `sockaddr_un` for a filesystem path.
struct UnixAddress {
    var storage = sockaddr_un()

    init(_ path: String) throws(HostError) {
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, !bytes.contains(0) else {
            throw HostError("socket path \(path) (at most \(capacity - 1) bytes)", .fileNameTooLong)
        }
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { p in
            for (i, b) in bytes.enumerated() { p[i] = b }
        }
    }

    mutating func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafePointer(to: &storage) { p in
            // SAFETY: sockaddr_un begins with the sockaddr header; the length covers the struct.
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}
