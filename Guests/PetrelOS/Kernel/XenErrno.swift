// Xen errno values (xen/errno.h). Hypercalls return -errno in rax.

enum XenErrno {
    static let EPERM = Int64(XEN_EPERM.rawValue)
    static let ENOENT = Int64(XEN_ENOENT.rawValue)
    static let ESRCH = Int64(XEN_ESRCH.rawValue)
    static let EFAULT = Int64(XEN_EFAULT.rawValue)
    static let EBUSY = Int64(XEN_EBUSY.rawValue)
    static let EEXIST = Int64(XEN_EEXIST.rawValue)
    static let EINVAL = Int64(XEN_EINVAL.rawValue)
    static let ENOSPC = Int64(XEN_ENOSPC.rawValue)
    static let ENOSYS = Int64(XEN_ENOSYS.rawValue)
    static let ETIME = Int64(XEN_ETIME.rawValue)
    static let EOPNOTSUPP = Int64(XEN_EOPNOTSUPP.rawValue)

    /// Xen's name for `errno` (positive), nil if xen/errno.h has none.
    static func name(_ errno: Int64) -> StaticString? {
        switch errno {
        case Int64(XEN_EPERM.rawValue): return "EPERM"
        case Int64(XEN_ENOENT.rawValue): return "ENOENT"
        case Int64(XEN_ESRCH.rawValue): return "ESRCH"
        case Int64(XEN_EIO.rawValue): return "EIO"
        case Int64(XEN_ENXIO.rawValue): return "ENXIO"
        case Int64(XEN_E2BIG.rawValue): return "E2BIG"
        case Int64(XEN_ENOEXEC.rawValue): return "ENOEXEC"
        case Int64(XEN_EBADF.rawValue): return "EBADF"
        case Int64(XEN_ECHILD.rawValue): return "ECHILD"
        case Int64(XEN_EAGAIN.rawValue): return "EAGAIN"
        case Int64(XEN_ENOMEM.rawValue): return "ENOMEM"
        case Int64(XEN_EACCES.rawValue): return "EACCES"
        case Int64(XEN_EFAULT.rawValue): return "EFAULT"
        case Int64(XEN_EBUSY.rawValue): return "EBUSY"
        case Int64(XEN_EEXIST.rawValue): return "EEXIST"
        case Int64(XEN_EXDEV.rawValue): return "EXDEV"
        case Int64(XEN_ENODEV.rawValue): return "ENODEV"
        case Int64(XEN_ENOTDIR.rawValue): return "ENOTDIR"
        case Int64(XEN_EISDIR.rawValue): return "EISDIR"
        case Int64(XEN_EINVAL.rawValue): return "EINVAL"
        case Int64(XEN_ENFILE.rawValue): return "ENFILE"
        case Int64(XEN_EMFILE.rawValue): return "EMFILE"
        case Int64(XEN_ENOSPC.rawValue): return "ENOSPC"
        case Int64(XEN_EROFS.rawValue): return "EROFS"
        case Int64(XEN_EMLINK.rawValue): return "EMLINK"
        case Int64(XEN_EDOM.rawValue): return "EDOM"
        case Int64(XEN_ERANGE.rawValue): return "ERANGE"
        case Int64(XEN_EDEADLK.rawValue): return "EDEADLK"
        case Int64(XEN_ENAMETOOLONG.rawValue): return "ENAMETOOLONG"
        case Int64(XEN_ENOLCK.rawValue): return "ENOLCK"
        case Int64(XEN_ENOSYS.rawValue): return "ENOSYS"
        case Int64(XEN_ENOTEMPTY.rawValue): return "ENOTEMPTY"
        case Int64(XEN_ENODATA.rawValue): return "ENODATA"
        case Int64(XEN_ETIME.rawValue): return "ETIME"
        case Int64(XEN_EBADMSG.rawValue): return "EBADMSG"
        case Int64(XEN_EOVERFLOW.rawValue): return "EOVERFLOW"
        case Int64(XEN_EILSEQ.rawValue): return "EILSEQ"
        case Int64(XEN_ENOTSOCK.rawValue): return "ENOTSOCK"
        case Int64(XEN_EMSGSIZE.rawValue): return "EMSGSIZE"
        case Int64(XEN_EOPNOTSUPP.rawValue): return "EOPNOTSUPP"
        case Int64(XEN_EADDRINUSE.rawValue): return "EADDRINUSE"
        case Int64(XEN_EADDRNOTAVAIL.rawValue): return "EADDRNOTAVAIL"
        case Int64(XEN_ENOBUFS.rawValue): return "ENOBUFS"
        case Int64(XEN_EISCONN.rawValue): return "EISCONN"
        case Int64(XEN_ENOTCONN.rawValue): return "ENOTCONN"
        case Int64(XEN_ETIMEDOUT.rawValue): return "ETIMEDOUT"
        case Int64(XEN_ECONNREFUSED.rawValue): return "ECONNREFUSED"
        default: return nil
        }
    }

    /// True if `rc` is what a hypercall may return: success (>= 0) or minus an errno
    /// xen/errno.h gives guests (EINTR and ERESTART are Xen-internal, not listed).
    static func isHypercallResult(_ rc: Int64) -> Bool {
        rc >= 0 || name(0 &- rc) != nil
    }
}
