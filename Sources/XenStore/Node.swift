import XenABI

/// One node of the tree: a byte value, ordered child names, permissions, and the generation
/// count of its last modification (`struct node` / `node_hdr` in Xen).
struct Node: Sendable {
    var value: [UInt8]
    /// Child base names in creation order (DIRECTORY returns them in this order).
    var children: [String]
    var perms: XenStorePermissions
    var generation: UInt64 = 0

    init(value: [UInt8] = [], children: [String] = [], perms: XenStorePermissions) {
        self.value = value
        self.children = children
        self.perms = perms
    }

    /// The DIRECTORY payload: each child name NUL-terminated.
    var childrenWire: [UInt8] { children.flatMap { Array($0.utf8) + [0] } }
    var childrenLength: Int { children.reduce(0) { $0 + $1.utf8.count + 1 } }

    /// Xen's `calc_node_acc_size`: header (16) + 8 per permission + value + children names; the
    /// node-size quota bounds it.
    var accountedSize: Int { 16 + 8 * perms.entries.count + value.count + childrenLength }
}

/// The global node database: names to nodes, the global generation counter, and the count of
/// nodes each domain owns (the "nodes" quota). Not thread-safe: `XenStored` owns it under its
/// lock.
final class NodeDatabase {
    private(set) var nodes: [String: Node] = [:]
    /// Incremented before every assignment, so all nodes and transactions get distinct counts.
    private(set) var generation: UInt64 = 0
    private(set) var ownedCount: [DomainID: Int] = [:]

    /// The initial tree (`setup_structure`): `/`, `/tool`, `/tool/xenstored` and the special
    /// watch nodes, all owned by dom0 with no access for others.
    init() {
        let perms = XenStorePermissions(owner: .control)
        set("/", Node(children: ["tool"], perms: perms))
        set("/tool", Node(children: ["xenstored"], perms: perms))
        set("/tool/xenstored", Node(perms: perms))
        set(XenStoreSpecialPath.releaseDomain, Node(perms: perms))
        set(XenStoreSpecialPath.introduceDomain, Node(perms: perms))
    }

    subscript(name: String) -> Node? { nodes[name] }

    func nextGeneration() -> UInt64 {
        generation += 1
        return generation
    }

    /// Stores (with a fresh generation) or deletes a node, keeping owner counts right.
    func set(_ name: String, _ node: Node?) {
        if let old = nodes[name] { ownedCount[old.perms.owner, default: 0] -= 1 }
        if var node {
            node.generation = nextGeneration()
            ownedCount[node.perms.owner, default: 0] += 1
            nodes[name] = node
        } else {
            nodes[name] = nil
        }
    }

    /// Rewrites permissions in place without a new generation (release scrubbing).
    func replacePermissions(_ name: String, _ perms: XenStorePermissions) {
        guard let old = nodes[name] else { return }
        ownedCount[old.perms.owner, default: 0] -= 1
        ownedCount[perms.owner, default: 0] += 1
        nodes[name]!.perms = perms
    }

    func owned(by domid: DomainID) -> Int { ownedCount[domid] ?? 0 }
}

/// The special watch paths.
public enum XenStoreSpecialPath {
    /// Fired when a domain is introduced.
    public static let introduceDomain = "@introduceDomain"
    /// Fired when a domain is released.
    public static let releaseDomain = "@releaseDomain"
}
