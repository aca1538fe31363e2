import Glibc

extension Host {
    /// Creates `path` and its missing parents with `mode`; an existing directory is fine.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws(HostError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, mode) != 0 && errno != EEXIST { throw HostError("mkdir \(prefix)", lastErrno) }
        }
        var st = stat()
        guard stat(path, &st) == 0 else { throw HostError("stat \(path)", lastErrno) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw HostError("mkdir \(path)", .notDirectory) }
    }

    /// Ends the process with `status` (atexit handlers run; nothing buffered is ours to flush:
    /// Petrel writes with write(2)).
    public static func exit(_ status: Int32) -> Never { Glibc.exit(status) }

    /// True if `fd` is /dev/null (the character device 1:3), which never gives input.
    public static func isNullDevice(_ fd: Int32) -> Bool {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        return (st.st_mode & S_IFMT) == S_IFCHR && st.st_rdev == 0x103
    }

    /// This process's real user id.
    public static var userID: UInt32 { getuid() }

    /// Blocks SIGINT and SIGTERM in the calling thread (and every thread it starts from now on),
    /// so that `waitForTerminationSignal` can take them synchronously. Call before starting threads.
    public static func blockTerminationSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Waits for SIGINT or SIGTERM (blocked beforehand); returns the signal number.
    public static func waitForTerminationSignal() -> Int32 {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        var sig: Int32 = 0
        while sigwait(&set, &sig) != 0 {}
        return sig
    }

    /// The number of open file descriptors of this process (`/proc/self/fd`).
    public static func openFileDescriptorCount() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(dir) }
        var n = 0
        while readdir(dir) != nil { n += 1 }
        return n - 3  // ".", "..", and the directory's own fd
    }

    /// Threads of this process (`Threads:` in /proc/self/status) and resident set size in KiB.
    public static func threadsAndRSS(pid: String = "self") -> (threads: Int, rssKiB: Int)? {
        guard let bytes = try? readFile("/proc/\(pid)/status", limit: 1 << 20) else { return nil }
        var threads = -1, rss = -1
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if f.first == "Threads:", f.count > 1 { threads = Int(f[1]) ?? -1 }
            if f.first == "VmRSS:", f.count > 1 { rss = Int(f[1]) ?? -1 }
        }
        return (threads, rss)
    }
}

extension Host {
    /// The host's name (`uname -n`).
    public static var hostName: String {
        var u = utsname()
        guard uname(&u) == 0 else { return "unknown" }
        return withUnsafeBytes(of: &u.nodename) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Physical memory in MiB.
    public static var physicalMemoryMiB: UInt64 {
        (UInt64(sysconf(Int32(_SC_PHYS_PAGES))) * UInt64(sysconf(Int32(_SC_PAGESIZE)))) >> 20
    }
}

extension Host {
    /// Which of `fds` are readable (or at EOF/hung up) within `timeoutMs` (-1: wait forever).
    public static func pollReadable(_ fds: [Int32], timeoutMs: Int32) -> [Bool] {
        var p = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let n = poll(&p, nfds_t(p.count), timeoutMs)
        guard n > 0 else { return fds.map { _ in false } }
        return p.map { $0.revents != 0 }
    }

    /// One read(2) of at most `max` bytes; empty at EOF or on error.
    public static func readSome(_ fd: Int32, max: Int = 65536) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: max)
        while true {
            let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress, max) }
            if n < 0 && errno == EINTR { continue }
            out.removeLast(max - Swift.max(0, n))
            return out
        }
    }
}

extension Host {
    /// CPU time (user + system) this process has used, in seconds.
    public static var processCPUSeconds: Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

extension Host {
    public static func sleep(milliseconds: Int) { usleep(useconds_t(milliseconds * 1000)) }
}
