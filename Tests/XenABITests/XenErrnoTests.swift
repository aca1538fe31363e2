import Testing
@testable import XenABI

@Suite("XenErrno")
struct XenErrnoTests {
    /// Swift's named values, by Xen's name.
    static let named: [String: XenErrno] = [
        "EPERM": .EPERM, "ENOENT": .ENOENT, "ESRCH": .ESRCH, "EINTR": .EINTR, "EIO": .EIO,
        "ENXIO": .ENXIO, "E2BIG": .E2BIG, "ENOEXEC": .ENOEXEC, "EBADF": .EBADF,
        "ECHILD": .ECHILD, "EAGAIN": .EAGAIN, "EWOULDBLOCK": .EWOULDBLOCK, "ENOMEM": .ENOMEM,
        "EACCES": .EACCES, "EFAULT": .EFAULT, "EBUSY": .EBUSY, "EEXIST": .EEXIST,
        "EXDEV": .EXDEV, "ENODEV": .ENODEV, "ENOTDIR": .ENOTDIR, "EISDIR": .EISDIR,
        "EINVAL": .EINVAL, "ENFILE": .ENFILE, "EMFILE": .EMFILE, "ENOSPC": .ENOSPC,
        "EROFS": .EROFS, "EMLINK": .EMLINK, "EDOM": .EDOM, "ERANGE": .ERANGE,
        "EDEADLK": .EDEADLK, "EDEADLOCK": .EDEADLOCK, "ENAMETOOLONG": .ENAMETOOLONG,
        "ENOLCK": .ENOLCK, "ENOSYS": .ENOSYS, "ENOTEMPTY": .ENOTEMPTY, "ENODATA": .ENODATA,
        "ETIME": .ETIME, "EBADMSG": .EBADMSG, "EOVERFLOW": .EOVERFLOW, "EILSEQ": .EILSEQ,
        "ERESTART": .ERESTART, "ENOTSOCK": .ENOTSOCK, "EMSGSIZE": .EMSGSIZE,
        "EOPNOTSUPP": .EOPNOTSUPP, "EADDRINUSE": .EADDRINUSE, "EADDRNOTAVAIL": .EADDRNOTAVAIL,
        "ENOBUFS": .ENOBUFS, "EISCONN": .EISCONN, "ENOTCONN": .ENOTCONN,
        "ETIMEDOUT": .ETIMEDOUT, "ECONNREFUSED": .ECONNREFUSED,
    ]

    @Test func everyHeaderErrnoHasASwiftConstantWithItsValue() {
        let c = CLayout.errnos
        #expect(c.count > 40)
        for (name, value) in c {
            #expect(Self.named[name]?.rawValue == value, "XEN_\(name) = \(value)")
        }
        #expect(Set(Self.named.keys) == Set(c.map(\.name)), "no Swift errno missing from, or extra to, errno.h")
    }

    @Test func guestVisibleValuesMatchTheEnum() {
        // The enum xen_errno a guest compiles against (no __XEN__): EINTR, ERESTART are absent.
        for (name, value) in CLayout.errnos where name != "EINTR" && name != "ERESTART" {
            expectConstant(ConstSpec("XEN_\(name)", value))
        }
    }

    @Test func nameIsTheFirstHeaderNameForTheValue() {
        // Aliases (EWOULDBLOCK, EDEADLOCK) come after their canonical names in errno.h.
        var canonical: [Int32: String] = [:]
        for (name, value) in CLayout.errnos where canonical[value] == nil { canonical[value] = name }
        for (value, name) in canonical {
            #expect(XenErrno(value).name == name)
            #expect(XenErrno(value).description == name)
        }
        #expect(XenErrno.EWOULDBLOCK.name == "EAGAIN")
        #expect(XenErrno.EDEADLOCK.name == "EDEADLK")
    }

    @Test(arguments: [Int32(0), 15, 25, 200, -1, Int32.max, Int32.min])
    func unknownValuesGetANumericName(_ raw: Int32) {
        #expect(XenErrno(raw).name == "E\(raw)")
    }

    @Test func hypercallResultIsMinusErrnoInA64BitRegister() {
        #expect(XenErrno.EPERM.hypercallResult == UInt64.max)
        #expect(XenErrno.EINVAL.hypercallResult == 0xFFFF_FFFF_FFFF_FFEA)
        #expect(XenErrno.ENOSYS.hypercallResult == UInt64(bitPattern: -38))
        #expect(XenErrno.ECONNREFUSED.hypercallResult == UInt64(bitPattern: -111))
        #expect(Int64(bitPattern: XenErrno.EFAULT.hypercallResult) == -14)
        // Not sign-extended from 32 bits by accident: the high half is all ones.
        #expect(XenErrno.EAGAIN.hypercallResult >> 32 == 0xFFFF_FFFF)
    }

    @Test func hypercallResultEdgeValues() {
        #expect(XenErrno(0).hypercallResult == 0)
        // Int32.min negates without overflow because the negation happens in 64 bits.
        #expect(XenErrno(Int32.min).hypercallResult == UInt64(bitPattern: 0x8000_0000))
        #expect(XenErrno(Int32.max).hypercallResult == UInt64(bitPattern: -Int64(Int32.max)))
    }

    @Test func equalityAndHashing() {
        #expect(XenErrno(22) == .EINVAL)
        #expect(XenErrno.EAGAIN == .EWOULDBLOCK)
        #expect(Set([XenErrno.EAGAIN, .EWOULDBLOCK, .EINVAL]).count == 2)
    }
}
