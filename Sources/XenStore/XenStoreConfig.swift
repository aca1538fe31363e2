public import XenABI

/// Limits from `xen/io/xs_wire.h`.
public enum XenStoreLimits {
    /// `XENSTORE_PAYLOAD_MAX`: the largest payload of one message, either direction.
    public static let payloadMax = 4096
    /// `XENSTORE_ABS_PATH_MAX`: the longest absolute node path.
    public static let absolutePathMax = 3072
    /// `XENSTORE_REL_PATH_MAX`: the longest path below a domain's home (the default path quota).
    public static let relativePathMax = 2048
}

/// xenstored's tunables, with the defaults of Xen's C xenstored (`tools/xenstored/domain.c`,
/// `hard_quotas[]`). Quotas bind unprivileged domains only: dom0, the privileged domains and the
/// unix socket are exempt, as in Xen.
public struct XenStoreConfig: Sendable {
    /// Nodes a domain may own (`-E`, quota "nodes"). Over it: `ENOSPC`.
    public var maxEntriesPerDomain = 1000
    /// Largest accounted node size, permissions + value + children names (`-S`, "node-size").
    /// Over it: `ENOSPC`.
    public var maxNodeSize = 2048
    /// Watches per domain (`-W`, "watches"). Over it: `E2BIG`.
    public var maxWatchesPerDomain = 128
    /// Concurrent transactions per domain (`-t`, "transactions"). Over it: `ENOSPC`.
    public var maxTransactionsPerDomain = 10
    /// Permission entries per node (`-A`, "node-permissions"). Over it: `ENOSPC`.
    public var maxPermissionsPerNode = 5
    /// Longest path below `/local/domain/<id>/` (`-M`, "path-max"). Over it: `EINVAL`.
    public var maxRelativePathLength = XenStoreLimits.relativePathMax
    /// Nodes one transaction may touch ("transaction-nodes"). Over it: `ENOSPC`, and the
    /// transaction can no longer commit.
    public var maxNodesPerTransaction = 1024
    /// Requests a guest ring may have answered but unconsumed before xenstored stops reading its
    /// ring ("outstanding"); watch events beyond `maxPendingOutputBytes` are dropped.
    public var maxOutstandingRequests = 20
    /// Bytes of replies and events queued for a guest ring that its guest has not consumed.
    public var maxPendingOutputBytes = 256 * 1024
    /// Domains that bypass permissions and quotas (Xen: `dom0_domid` and `priv_domid`).
    public var privilegedDomains: Set<DomainID> = [.control]

    public init() {}
}
