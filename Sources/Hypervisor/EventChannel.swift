import Synchronization
import XenABI

/// A domain's event-channel port table (Xen's `struct evtchn` array, xen/common/event_channel.c).
/// This holds port allocation and state; delivery through shared_info arrives with the runtime.
///
/// Locking: one mutex over the table.
public final class EventChannelTable: Sendable {
    public enum State: Sendable, Equatable {
        case free
        /// Allocated, waiting for `remote` to bind (EVTCHNOP_alloc_unbound).
        case unbound(remote: DomainID)
        /// Connected to a port of another domain, or of Petrel's own backends (domain 0).
        case interdomain(remote: DomainID, remotePort: EvtchnPort)
    }

    private let ports: Mutex<[State]>
    /// The highest port number a domain may use plus one (`max_event_channels`).
    public let limit: Int

    init(limit: Int) {
        self.limit = max(1, limit)
        // Port 0 is never allocated (Xen reserves it).
        ports = Mutex([.free])
    }

    /// Allocates the lowest free port above 0.
    public func allocate(_ state: State) throws(XenErrno) -> EvtchnPort {
        try ports.withLock { (p: inout [State]) throws(XenErrno) -> EvtchnPort in
            if let i = p.indices.dropFirst().first(where: { p[$0] == .free }) {
                p[i] = state
                return EvtchnPort(UInt32(i))
            }
            guard p.count < limit else { throw .ENOSPC }
            p.append(state)
            return EvtchnPort(UInt32(p.count - 1))
        }
    }

    public func state(_ port: EvtchnPort) -> State? {
        ports.withLock { p in Int(port.raw) < p.count ? p[Int(port.raw)] : nil }
    }

    /// True if `port` names an allocated channel.
    public func isValid(_ port: EvtchnPort) -> Bool {
        guard port.raw != 0, let s = state(port) else { return false }
        return s != .free
    }
}
