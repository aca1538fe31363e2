public import XenABI

/// Every failure xenstored reports to a client: exactly the `xsd_errors` table of
/// `xen/io/xs_wire.h`, in its order. On the wire an error is an `XS_ERROR` reply whose payload is
/// the case name, NUL-terminated ("ENOENT\0"). Xen's xenstored answers an errno outside the table
/// with "EINVAL"; a Swift enum makes that case unrepresentable.
///
/// Quota failures are `ENOSPC` (nodes, node size, permissions, transactions) or `E2BIG`
/// (watches), as Xen's xenstored replies: the table has no `EQUOTA`.
public enum XenStoreError: String, Error, CaseIterable, Hashable, Sendable {
    case EINVAL, EACCES, EEXIST, EISDIR, ENOENT, ENOMEM, ENOSPC, EIO, ENOTEMPTY, ENOSYS,
         EROFS, EBUSY, EAGAIN, EISCONN, E2BIG, EPERM

    /// The `XS_ERROR` payload: the name and its NUL.
    public var wirePayload: [UInt8] { Array(rawValue.utf8) + [0] }

    /// Parses an `XS_ERROR` payload (with or without its NUL).
    public init?(wirePayload: [UInt8]) {
        let name = wirePayload.last == 0 ? wirePayload.dropLast() : wirePayload[...]
        guard let s = String(validating: name, as: UTF8.self) else { return nil }
        self.init(rawValue: s)
    }

    /// The same failure as a Xen errno (`xen/errno.h`).
    public var xenErrno: XenErrno {
        switch self {
        case .EINVAL: .EINVAL
        case .EACCES: .EACCES
        case .EEXIST: .EEXIST
        case .EISDIR: .EISDIR
        case .ENOENT: .ENOENT
        case .ENOMEM: .ENOMEM
        case .ENOSPC: .ENOSPC
        case .EIO: .EIO
        case .ENOTEMPTY: .ENOTEMPTY
        case .ENOSYS: .ENOSYS
        case .EROFS: .EROFS
        case .EBUSY: .EBUSY
        case .EAGAIN: .EAGAIN
        case .EISCONN: .EISCONN
        case .E2BIG: .E2BIG
        case .EPERM: .EPERM
        }
    }
}
