import Glibc
import SystemPackage

/// A failed host system call: which operation, and the errno it left.
public struct HostError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var errno: Errno
    public init(_ operation: String, _ errno: Errno) {
        self.operation = operation
        self.errno = errno
    }
    public var description: String { "\(operation): \(errno)" }
}

public enum Host {
    /// Runs a libc call that returns -1 and sets errno on failure, retrying EINTR.
    @discardableResult
    public static func check<T: BinaryInteger>(_ operation: @autoclosure () -> String,
                                               _ call: () -> T) throws(HostError) -> T {
        while true {
            let rc = call()
            if rc != -1 { return rc }
            let e = Errno(rawValue: Glibc.errno)
            if e == .interrupted { continue }
            throw HostError(operation(), e)
        }
    }

    /// The errno of the last failed call on this thread.
    public static var lastErrno: Errno { Errno(rawValue: Glibc.errno) }

    /// CLOCK_MONOTONIC in nanoseconds.
    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// CLOCK_REALTIME in nanoseconds since the Unix epoch.
    public static func realtimeNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Number of online host CPUs.
    public static var onlineCPUCount: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// Opens a path read-write (device nodes such as /dev/kvm), close-on-exec.
    public static func openReadWrite(_ path: String) throws(HostError) -> FileDescriptor {
        do {
            return try FileDescriptor.open(FilePath(path), .readWrite, options: [.closeOnExec])
        } catch let e as Errno {
            throw HostError("open \(path)", e)
        } catch {
            throw HostError("open \(path)", .ioError)
        }
    }

    /// Opens `path` read-only (close-on-exec) with its stat; a directory is refused.
    private static func openForReading(_ path: String) throws(HostError) -> (FileDescriptor, stat) {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
        } catch let e as Errno {
            throw HostError("open \(path)", e)
        } catch {
            throw HostError("open \(path)", .ioError)
        }
        var st = stat()
        do throws(HostError) {
            try check("stat \(path)") { fstat(fd.rawValue, &st) }
            if (st.st_mode & S_IFMT) == S_IFDIR { throw HostError("read \(path)", .isDirectory) }
        } catch {
            try? fd.close()
            throw error
        }
        return (fd, st)
    }

    /// Reads up to `count` bytes from the start of a regular file (fewer if it is shorter).
    public static func readPrefix(_ path: String, count: Int) throws(HostError) -> [UInt8] {
        let (fd, _) = try openForReading(path)
        defer { try? fd.close() }
        var out = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = try check("read \(path)") {
                out.withUnsafeMutableBytes { read(fd.rawValue, $0.baseAddress! + filled, count - filled) }
            }
            if n == 0 { break }
            filled += n
        }
        return Array(out[0..<filled])
    }

    /// Reads a whole regular file.
    public static func readFile(_ path: String, limit: Int = 1 << 30) throws(HostError) -> [UInt8] {
        let (fd, st) = try openForReading(path)
        defer { try? fd.close() }
        if Int(st.st_size) > limit { throw HostError("read \(path)", .fileTooLarge) }
        // Sized from fstat and read in place; a file that grows meanwhile (or a pipe, whose
        // size is 0) is read on in chunks.
        var out = [UInt8](repeating: 0, count: max(Int(st.st_size), 0) + 1)
        var filled = 0
        while true {
            if filled == out.count { out += [UInt8](repeating: 0, count: 1 << 16) }
            let n = try check("read \(path)") {
                out.withUnsafeMutableBytes { read(fd.rawValue, $0.baseAddress! + filled, $0.count - filled) }
            }
            if n == 0 { break }
            filled += n
            if filled > limit { throw HostError("read \(path)", .fileTooLarge) }
        }
        out.removeLast(out.count - filled)
        return out
    }

    /// Writes all bytes to a file descriptor (stdout, stderr, a socket), retrying short writes.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { buf -> Int in
                // SAFETY: offset < count, so the pointer and length stay inside `bytes`.
                write(fd, buf.baseAddress! + offset, buf.count - offset)
            }
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                return
            }
            offset += n
        }
    }
}
