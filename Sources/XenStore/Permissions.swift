public import XenABI

/// What a permission entry grants: `XS_PERM_NONE`, `_READ`, `_WRITE` or both; on the wire the
/// letters `n`, `r`, `w`, `b`.
public enum XenStoreAccess: UInt8, Hashable, Sendable, CaseIterable {
    case none = 0, read = 1, write = 2, both = 3

    public var letter: Character {
        switch self { case .none: "n"; case .read: "r"; case .write: "w"; case .both: "b" }
    }

    public init?(letter: UInt8) {
        switch letter {
        case UInt8(ascii: "n"): self = .none
        case UInt8(ascii: "r"): self = .read
        case UInt8(ascii: "w"): self = .write
        case UInt8(ascii: "b"): self = .both
        default: return nil
        }
    }
}

/// One `struct xs_permissions`: a domain and what it may do.
public struct XenStorePermission: Hashable, Sendable, CustomStringConvertible {
    public var domain: DomainID
    public var access: XenStoreAccess
    public init(_ domain: DomainID, _ access: XenStoreAccess) {
        self.domain = domain
        self.access = access
    }
    /// Xen's string form, e.g. "r5".
    public var description: String { "\(access.letter)\(domain.raw)" }
}

/// A node's permissions in Xen's model: the first entry names the owner (who may do everything,
/// including SET_PERMS) and the access of every domain not listed; further entries grant listed
/// domains their own access. Privileged connections bypass all of it.
public struct XenStorePermissions: Hashable, Sendable, CustomStringConvertible {
    /// Never empty.
    public private(set) var entries: [XenStorePermission]

    public init(owner: DomainID, others: XenStoreAccess = .none, _ grants: [XenStorePermission] = []) {
        entries = [XenStorePermission(owner, others)] + grants
    }

    public init?(entries: [XenStorePermission]) {
        guard !entries.isEmpty else { return nil }
        self.entries = entries
    }

    public var owner: DomainID {
        get { entries[0].domain }
        set { entries[0].domain = newValue }
    }
    public var defaultAccess: XenStoreAccess { entries[0].access }

    /// Parses Xen's strings (`xenstore_strings_to_perms`): a letter then a domain id ("r0").
    public init(wireStrings: [[UInt8]]) throws(XenStoreError) {
        var out: [XenStorePermission] = []
        for s in wireStrings {
            guard let first = s.first, let access = XenStoreAccess(letter: first) else { throw .EINVAL }
            // strtol: leading digits, the rest ignored; no digits is 0.
            var id: UInt32 = 0
            for c in s.dropFirst() {
                guard (0x30...0x39).contains(c) else { break }
                id = id * 10 + UInt32(c - 0x30)
                guard id <= UInt32(UInt16.max) else { throw .EINVAL }
            }
            out.append(XenStorePermission(DomainID(UInt16(id)), access))
        }
        guard !out.isEmpty else { throw .EINVAL }
        entries = out
    }

    /// The GET_PERMS payload: each entry's string, NUL-terminated.
    public var wireEncoding: [UInt8] { entries.flatMap { Array($0.description.utf8) + [0] } }

    public var description: String { entries.map(\.description).joined(separator: " ") }

    /// Drops the grants naming `domid` (a released domain must not pass them to a new domain
    /// that reuses its id; Xen marks such entries ignored).
    mutating func removeGrants(for domid: DomainID) -> Bool {
        let before = entries.count
        entries = [entries[0]] + entries.dropFirst().filter { $0.domain != domid }
        return entries.count != before
    }
}

/// Rights a connection has on one node (`perm_for_conn`).
struct NodeRights: OptionSet, Sendable {
    let rawValue: UInt8
    static let read = NodeRights(rawValue: 1)       // XS_PERM_READ
    static let write = NodeRights(rawValue: 2)      // XS_PERM_WRITE
    static let owner = NodeRights(rawValue: 8)      // XS_PERM_OWNER
    static let all: NodeRights = [.read, .write, .owner]

    init(rawValue: UInt8) { self.rawValue = rawValue }
    init(_ access: XenStoreAccess) { rawValue = access.rawValue }
}

/// Who is asking, for permission checks and quotas.
struct Requester: Sendable {
    var domid: DomainID
    var privileged: Bool
    /// SET_TARGET: this domain (a device model) acts with the rights of `target`.
    var target: DomainID?

    var home: String { XenStorePath.home(of: domid.raw) }

    /// `perm_for_conn`: privileged and owner (or the target's owner) get everything; otherwise the
    /// first entry naming the domain (or its target), else the default.
    func rights(on perms: XenStorePermissions) -> NodeRights {
        if privileged || perms.owner == domid || (target != nil && perms.owner == target) { return .all }
        for e in perms.entries.dropFirst() where e.domain == domid || (target != nil && e.domain == target) {
            return NodeRights(e.access)
        }
        return NodeRights(perms.defaultAccess)
    }
}
