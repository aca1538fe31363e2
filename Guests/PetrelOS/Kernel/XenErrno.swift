// Xen errno values (xen/errno.h). Hypercalls return -errno in rax.

enum XenErrno {
    static let EPERM = Int64(XEN_EPERM.rawValue)
    static let ENOENT = Int64(XEN_ENOENT.rawValue)
    static let ESRCH = Int64(XEN_ESRCH.rawValue)
    static let EFAULT = Int64(XEN_EFAULT.rawValue)
    static let EEXIST = Int64(XEN_EEXIST.rawValue)
    static let EINVAL = Int64(XEN_EINVAL.rawValue)
    static let ENOSYS = Int64(XEN_ENOSYS.rawValue)

    static func name(_ errno: Int64) -> StaticString? {
        switch errno {
        case Int64(XEN_EPERM.rawValue): return "EPERM"
        case Int64(XEN_ENOENT.rawValue): return "ENOENT"
        case Int64(XEN_ESRCH.rawValue): return "ESRCH"
        case Int64(XEN_EIO.rawValue): return "EIO"
        case Int64(XEN_E2BIG.rawValue): return "E2BIG"
        case Int64(XEN_EAGAIN.rawValue): return "EAGAIN"
        case Int64(XEN_ENOMEM.rawValue): return "ENOMEM"
        case Int64(XEN_EACCES.rawValue): return "EACCES"
        case Int64(XEN_EFAULT.rawValue): return "EFAULT"
        case Int64(XEN_EBUSY.rawValue): return "EBUSY"
        case Int64(XEN_EEXIST.rawValue): return "EEXIST"
        case Int64(XEN_ENODEV.rawValue): return "ENODEV"
        case Int64(XEN_EINVAL.rawValue): return "EINVAL"
        case Int64(XEN_ENOSPC.rawValue): return "ENOSPC"
        case Int64(XEN_ERANGE.rawValue): return "ERANGE"
        case Int64(XEN_ENOSYS.rawValue): return "ENOSYS"
        case Int64(XEN_EOPNOTSUPP.rawValue): return "EOPNOTSUPP"
        default: return nil
        }
    }
}
