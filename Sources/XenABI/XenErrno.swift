/// Xen's errno values (`xen/errno.h`), as returned to guests (negated) in the hypercall result.
public struct XenErrno: Error, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(_ raw: Int32) { rawValue = raw }

    public static let EPERM = XenErrno(1)
    public static let ENOENT = XenErrno(2)
    public static let ESRCH = XenErrno(3)
    /// Xen-internal (errno.h: `__XEN__` only), never returned to a guest.
    public static let EINTR = XenErrno(4)
    public static let EIO = XenErrno(5)
    public static let ENXIO = XenErrno(6)
    public static let E2BIG = XenErrno(7)
    public static let ENOEXEC = XenErrno(8)
    public static let EBADF = XenErrno(9)
    public static let ECHILD = XenErrno(10)
    public static let EAGAIN = XenErrno(11)
    public static let EWOULDBLOCK = EAGAIN
    public static let ENOMEM = XenErrno(12)
    public static let EACCES = XenErrno(13)
    public static let EFAULT = XenErrno(14)
    public static let EBUSY = XenErrno(16)
    public static let EEXIST = XenErrno(17)
    public static let EXDEV = XenErrno(18)
    public static let ENODEV = XenErrno(19)
    public static let ENOTDIR = XenErrno(20)
    public static let EISDIR = XenErrno(21)
    public static let EINVAL = XenErrno(22)
    public static let ENFILE = XenErrno(23)
    public static let EMFILE = XenErrno(24)
    public static let ENOSPC = XenErrno(28)
    public static let EROFS = XenErrno(30)
    public static let EMLINK = XenErrno(31)
    public static let EDOM = XenErrno(33)
    public static let ERANGE = XenErrno(34)
    public static let EDEADLK = XenErrno(35)
    public static let EDEADLOCK = EDEADLK
    public static let ENAMETOOLONG = XenErrno(36)
    public static let ENOLCK = XenErrno(37)
    public static let ENOSYS = XenErrno(38)
    public static let ENOTEMPTY = XenErrno(39)
    public static let ENODATA = XenErrno(61)
    public static let ETIME = XenErrno(62)
    public static let EBADMSG = XenErrno(74)
    public static let EOVERFLOW = XenErrno(75)
    public static let EILSEQ = XenErrno(84)
    /// Xen-internal (errno.h: `__XEN__` only): a continuation, never returned to a guest.
    public static let ERESTART = XenErrno(85)
    public static let ENOTSOCK = XenErrno(88)
    public static let EMSGSIZE = XenErrno(90)
    public static let EOPNOTSUPP = XenErrno(95)
    public static let EADDRINUSE = XenErrno(98)
    public static let EADDRNOTAVAIL = XenErrno(99)
    public static let ENOBUFS = XenErrno(105)
    public static let EISCONN = XenErrno(106)
    public static let ENOTCONN = XenErrno(107)
    public static let ETIMEDOUT = XenErrno(110)
    public static let ECONNREFUSED = XenErrno(111)

    static let names: [Int32: String] = [
        1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG",
        8: "ENOEXEC", 9: "EBADF", 10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES",
        14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR",
        21: "EISDIR", 22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 28: "ENOSPC", 30: "EROFS",
        31: "EMLINK", 33: "EDOM", 34: "ERANGE", 35: "EDEADLK", 36: "ENAMETOOLONG", 37: "ENOLCK",
        38: "ENOSYS", 39: "ENOTEMPTY", 61: "ENODATA", 62: "ETIME", 74: "EBADMSG",
        75: "EOVERFLOW", 84: "EILSEQ", 85: "ERESTART", 88: "ENOTSOCK", 90: "EMSGSIZE",
        95: "EOPNOTSUPP", 98: "EADDRINUSE", 99: "EADDRNOTAVAIL", 105: "ENOBUFS", 106: "EISCONN",
        107: "ENOTCONN", 110: "ETIMEDOUT", 111: "ECONNREFUSED",
    ]

    /// Xen's name for the value ("ENOENT"), as xenstored also uses on the wire.
    public var name: String { Self.names[rawValue] ?? "E\(rawValue)" }
    public var description: String { name }
    /// The value a hypercall returns in rax/x0: `-errno` as a 64-bit register value.
    public var hypercallResult: UInt64 { UInt64(bitPattern: -Int64(rawValue)) }
}
