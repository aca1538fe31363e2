import Glibc

/// A child process with its stdout on a pipe (benchmarks time real `petrel` and QEMU runs).
public final class HostProcess {
    public let pid: pid_t
    public let stdoutFD: Int32
    /// A pipe from the child's stderr, when asked for (else -1).
    public let stderrFD: Int32
    /// A pipe to the child's stdin, when asked for (else -1); `feedStdin` writes and closes it.
    public let stdinFD: Int32

    /// What becomes of the child's stderr.
    public enum Stderr { case discard, inherit, capture }

    /// Spawns `path` with `arguments` (argv[0] included); stdout is a pipe, stdin is /dev/null
    /// or, with `stdinPipe`, a pipe (`stdinFD`). `environment` entries are added to (or
    /// override) the parent's environment.
    public init(path: String, arguments: [String], stderr: Stderr = .discard,
                environment: [String: String] = [:], stdinPipe: Bool = false) throws(HostError) {
        var out: [Int32] = [0, 0], err: [Int32] = [-1, -1], inp: [Int32] = [-1, -1]
        try Host.check("pipe") { pipe(&out) }
        if stderr == .capture { try Host.check("pipe") { pipe(&err) } }
        if stdinPipe {
            try Host.check("pipe") { pipe(&inp) }
            // Our end must not leak into this or any other child, or the child never sees EOF.
            _ = fcntl(inp[1], F_SETFD, FD_CLOEXEC)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addclose(&actions, out[0])
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_addclose(&actions, out[1])
        if stdinPipe {
            posix_spawn_file_actions_addclose(&actions, inp[1])
            posix_spawn_file_actions_adddup2(&actions, inp[0], 0)
            posix_spawn_file_actions_addclose(&actions, inp[0])
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        switch stderr {
        case .discard: posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        case .inherit: break
        case .capture:
            posix_spawn_file_actions_addclose(&actions, err[0])
            posix_spawn_file_actions_adddup2(&actions, err[1], 2)
            posix_spawn_file_actions_addclose(&actions, err[1])
        }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var envStrings: [String] = []
        var e = environ
        while let entry = e.pointee {
            let s = String(cString: entry)
            let key = String(s.prefix { $0 != "=" })
            if environment[key] == nil { envStrings.append(s) }
            e += 1
        }
        envStrings += environment.map { "\($0.key)=\($0.value)" }
        var envp: [UnsafeMutablePointer<CChar>?] = envStrings.map { strdup($0) } + [nil]
        defer { for p in envp { free(p) } }
        // The child starts with no signals blocked and default dispositions, whatever this
        // process's threads have.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK))
        var child = pid_t()
        let rc = posix_spawn(&child, path, &actions, &attr, &argv, &envp)
        close(out[1])
        if err[1] >= 0 { close(err[1]) }
        if inp[0] >= 0 { close(inp[0]) }
        guard rc == 0 else {
            close(out[0])
            if err[0] >= 0 { close(err[0]) }
            if inp[1] >= 0 { close(inp[1]) }
            throw HostError("posix_spawn \(path)", .init(rawValue: rc))
        }
        pid = child
        stdoutFD = out[0]
        stderrFD = err[0]
        stdinFD = inp[1]
    }

    /// Writes `bytes` to the child's stdin pipe on a thread of its own, then closes the pipe
    /// (so the child sees end of file). A child that stops reading ends the write quietly:
    /// SIGPIPE is blocked in that thread, and dropped with it. Returns the thread (join it).
    public func feedStdin(_ bytes: [UInt8]) throws(HostError) -> HostThread {
        precondition(stdinFD >= 0, "feedStdin needs stdinPipe: true")
        let fd = stdinFD
        return try HostThread(name: "feed-stdin") {
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &set, nil)
            Host.writeAll(fd, bytes)
            close(fd)
        }
    }

    /// Reads a pipe to end of file.
    public static func readAll(_ fd: Int32) -> [UInt8] {
        guard fd >= 0 else { return [] }
        var all: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return all }
            all += buf[0..<n]
        }
    }

    /// Runs to completion, collecting stdout and stderr (both must fit the pipes' buffers
    /// while the other is read, or be read concurrently: stderr is read after stdout closes).
    /// With `stdin`, the child reads those bytes from a pipe (written concurrently), then
    /// end of file; else /dev/null.
    public static func run(_ path: String, _ args: [String], environment: [String: String] = [:],
                           stdin: [UInt8]? = nil) throws(HostError) -> (status: Int32, stdout: String, stderr: String, peakRSSKiB: Int) {
        let p = try HostProcess(path: path, arguments: [path] + args, stderr: .capture, environment: environment,
                                stdinPipe: stdin != nil)
        let feeder = try stdin.map { bytes throws(HostError) in try p.feedStdin(bytes) }
        let out = readAll(p.stdoutFD)
        let err = readAll(p.stderrFD)
        let status = p.wait()
        feeder?.join()
        return (status, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self), p.peakRSSKiB ?? 0)
    }

    /// Reads what is available on stdout (blocking); empty at end of file.
    public func readStdout(max: Int = 65536) -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: max)
        while true {
            let n = buf.withUnsafeMutableBytes { read(stdoutFD, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            return n <= 0 ? [] : Array(buf[0..<n])
        }
    }

    /// The most memory the child (or any descendant it waited for) had resident, in KiB:
    /// `ru_maxrss` from wait4, known once `wait` has returned.
    public private(set) var peakRSSKiB: Int?

    /// Waits for exit; returns the exit status (or 128+signal).
    public func wait() -> Int32 {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        peakRSSKiB = usage.ru_maxrss
        close(stdoutFD)
        if stderrFD >= 0 { close(stderrFD) }
        let sig = status & 0x7F
        return sig == 0 ? (status >> 8) & 0xFF : 128 + sig
    }

    /// The absolute path of the running executable.
    public static var currentExecutable: String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        return n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "petrel"
    }

    /// Finds an executable on PATH.
    public static func which(_ name: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    public static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    public static func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}
