/// Node names, as Xen's xenstored canonicalises and checks them (`canonicalize`,
/// `is_valid_nodename`, `valid_chars` in `tools/xenstored/core.c`).
///
/// A canonical name is absolute (`/a/b`, or `/` itself) or special (`@introduceDomain`): a relative
/// name is taken below the connection's home, `/local/domain/<id>`. Allowed characters are
/// `[A-Za-z0-9_/@-]`; a name may not end in `/` (except `/`) nor contain `//`; an absolute name
/// has at most `XENSTORE_ABS_PATH_MAX` characters, and for an unprivileged connection the part
/// below `/local/domain/<id>/` at most the path quota. Any violation is `EINVAL`.
enum XenStorePath {
    static let root = "/"

    /// The home of a domain's connection: relative names resolve below it (`get_implicit_path`).
    static func home(of domid: UInt16) -> String { "/local/domain/\(domid)" }

    static func isValidCharacter(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "/"),
             UInt8(ascii: "_"), UInt8(ascii: "@"):
            return true
        default:
            return false
        }
    }

    /// Canonicalises a name from the wire.
    /// - Returns: the canonical name and whether it was relative (watch events then report
    ///   names relative to the home again).
    static func canonicalize(_ raw: [UInt8], home: String, allowSpecial: Bool, pathQuota: Int?)
        throws(XenStoreError) -> (name: String, relative: Bool)
    {
        guard raw.allSatisfy(isValidCharacter) else { throw .EINVAL }
        // Only ASCII is left, so the String is byte-for-byte the input.
        let text = String(decoding: raw, as: UTF8.self)
        if raw.first == UInt8(ascii: "@") {
            guard allowSpecial, raw.count <= XenStoreLimits.relativePathMax else { throw .EINVAL }
            if let q = pathQuota, raw.count > q { throw .EINVAL }
            return (text, false)
        }
        let relative = raw.first != UInt8(ascii: "/")
        let name = relative ? home + "/" + text : text
        guard isValidAbsolute(name, pathQuota: pathQuota) else { throw .EINVAL }
        return (name, relative)
    }

    static func isValidAbsolute(_ name: String, pathQuota: Int?) -> Bool {
        let u = Array(name.utf8)
        guard u.first == UInt8(ascii: "/") else { return false }
        if u.count > 1 && u.last == UInt8(ascii: "/") { return false }
        for i in 1..<max(u.count, 1) where u[i] == UInt8(ascii: "/") && u[i - 1] == UInt8(ascii: "/") {
            return false
        }
        guard u.count <= XenStoreLimits.absolutePathMax else { return false }
        if let q = pathQuota, u.count - localOffset(u) > q { return false }
        return true
    }

    /// `sscanf(name, "/local/domain/%5u/%n")`: the offset just past `/local/domain/<id>/`, or 0.
    static func localOffset(_ u: [UInt8]) -> Int {
        let prefix = Array("/local/domain/".utf8)
        guard u.count > prefix.count, Array(u[..<prefix.count]) == prefix else { return 0 }
        var i = prefix.count
        while i < u.count, i - prefix.count < 5, (0x30...0x39).contains(u[i]) { i += 1 }
        guard i > prefix.count, i < u.count, u[i] == UInt8(ascii: "/") else { return 0 }
        return i + 1
    }

    /// `get_parent`: everything before the last `/`, or `/`. Special names have `/` as parent.
    static func parent(of name: String) -> String {
        let u = Array(name.utf8)
        guard u.count > 1, let slash = u.dropFirst().lastIndex(of: UInt8(ascii: "/")) else { return root }
        return String(decoding: u[..<slash], as: UTF8.self)
    }

    /// The last component (the name is not `/`).
    static func basename(of name: String) -> String {
        let u = Array(name.utf8)
        guard let slash = u.lastIndex(of: UInt8(ascii: "/")) else { return name }
        return String(decoding: u[(slash + 1)...], as: UTF8.self)
    }

    static func child(_ parent: String, _ base: String) -> String {
        parent == root ? "/" + base : parent + "/" + base
    }

    /// Xen's `is_child` (watch.c): `child` is `parent` or below it; everything is below `/`.
    static func isChild(_ child: String, of parent: String) -> Bool {
        if parent == root { return true }
        let c = child.utf8, p = parent.utf8
        guard c.starts(with: p) else { return false }
        if c.count == p.count { return true }
        return c[c.index(c.startIndex, offsetBy: p.count)] == UInt8(ascii: "/")
    }
}
