import Synchronization
import XenABI

/// A domain's event-channel ports (Xen's `struct evtchn` buckets and `virq_to_evtchn`,
/// xen/common/event_channel.c): what each port is bound to and which vCPU it notifies. This is
/// the storage; the operations (EVTCHNOP_*, delivery, the in-hypervisor API) are on
/// `EventChannel`, reached as `domain.evtchn`.
///
/// Ports live in buckets of 64 as in Xen (`EVTCHNS_PER_BUCKET`): a port is *valid* once its
/// bucket exists, even if free, and Xen's errnos depend on that (status of a free valid port
/// is "closed", of a port past the buckets -EINVAL). Port 0 is reserved. Ports go up to
/// `maxPort` (`max_event_channels`, capped by the 2-level ABI's 4095).
///
/// Locking: one mutex per table over every port, the VIRQ map and the deferred set.
/// - An operation on two domains (bind_interdomain, close of an interdomain port) holds both
///   tables' locks, always taken in domain-id order (`EventChannel.withTables`), as Xen takes
///   two `event_lock`s; so no two tables are ever locked in opposite orders.
/// - Under a table lock only shared_info's pending/mask bitmaps are touched (which takes the
///   Physmap lock inside it). vcpu_info, VCPU state (pollers) and engine kicks happen after the
///   table locks are dropped, so a caller may hold a VCPU's lock while reading `isPending`.
public final class EventChannelTable: Sendable {
    public enum State: Sendable, Equatable {
        case free
        /// Port 0 (Xen's `ECS_RESERVED`).
        case reserved
        /// Allocated, waiting for `remote` to bind (EVTCHNOP_alloc_unbound).
        case unbound(remote: DomainID)
        /// Connected to a port of another domain (or this one), or, with `remote` the control
        /// domain, to one of Petrel's own backends (the console).
        case interdomain(remote: DomainID, remotePort: EvtchnPort)
        /// Bound to `virq` in `vcpu`'s VIRQ table (vCPU 0 for a global VIRQ).
        case virq(VIRQ, vcpu: VCPUID)
        /// An IPI to `vcpu`.
        case ipi(vcpu: VCPUID)
    }

    /// One port: its binding and the vCPU its events are delivered to (`notify_vcpu_id`).
    public struct Channel: Sendable, Equatable {
        public var state: State
        public var notifyVCPU: VCPUID
        public init(_ state: State, notify: VCPUID = VCPUID(0)) {
            self.state = state
            notifyVCPU = notify
        }
    }

    /// Xen's `EVTCHNS_PER_BUCKET` for x86-64 (a page of 64-byte `struct evtchn`).
    static let bucketSize = 64

    let ports: Mutex<Ports>
    /// The highest port the domain may bind (`max_evtchn_port`).
    public let maxPort: Int
    /// One past the highest port (the name callers used before `maxPort`).
    public var limit: Int { maxPort + 1 }
    /// The event-channel ABI in use (Xen's `d->evtchn_port_ops`): 2-level.
    let portOps: any EventChannelPortOps = EventChannel2L()
    /// Handlers of Petrel's backend ports (EventChannel+Backend.swift); its own lock.
    public let backends = EventChannelBackends()

    init(limit: Int) {
        maxPort = min(max(0, limit), Evtchn2L.channels - 1)
        ports = Mutex(Ports(maxPort: maxPort))
    }

    /// Allocates the lowest free port for one of Petrel's own backends: `.unbound` (offered to
    /// a domain that will bind it) or `.interdomain` with the control domain (a backend end,
    /// e.g. the PV console). Notifies vCPU 0. -ENOSPC when the table is full.
    public func allocate(_ state: State) throws(XenErrno) -> EvtchnPort {
        switch state {
        case .unbound: break
        case .interdomain(let remote, _): precondition(remote == .control, "allocate: interdomain ports to guests are made by bindInterdomain")
        default: preconditionFailure("allocate: \(state) ports are made by their bind op")
        }
        let port = try ports.withLock { (p: inout Ports) throws(XenErrno) -> EvtchnPort in
            let port = try p.freePort()
            p.channels[Int(port.raw)] = Channel(state)
            return port
        }
        // A handler left from an earlier backend on a port the guest closed is not this one's.
        backends.set(port, nil)
        return port
    }

    /// The port's state, or nil if `port` is not valid (past the allocated buckets).
    public func state(_ port: EvtchnPort) -> State? { channel(port)?.state }

    public func channel(_ port: EvtchnPort) -> Channel? { ports.withLock { $0.channel(port) } }

    /// True if `port` names a bound channel (neither free nor reserved).
    public func isValid(_ port: EvtchnPort) -> Bool { state(port)?.isBound ?? false }

    /// Every valid port's channel, indexed by port number (for dumps and tests).
    public var snapshot: [Channel] { ports.withLock { $0.channels } }

    /// The port bound to `virq` on `vcpu`, if any (Xen's `v->virq_to_evtchn[virq]`).
    public func port(for virq: VIRQ, on vcpu: VCPUID) -> EvtchnPort? {
        ports.withLock { $0.virqPorts[VIRQSlot(vcpu: vcpu, virq: virq)] }
    }
}

extension EventChannelTable.State {
    /// Xen's `evtchn_usable`: bound to something (not free, not the reserved port 0).
    var isBound: Bool {
        switch self {
        case .free, .reserved: false
        default: true
        }
    }
}

/// A (vCPU, VIRQ) pair: the key of Xen's per-vCPU `virq_to_evtchn` arrays.
struct VIRQSlot: Hashable {
    var vcpu: VCPUID
    var virq: VIRQ
}

/// The table's contents. A class so an operation on one domain's ports through two "ends"
/// (loopback interdomain) can name the same storage twice; reachable only through the mutex.
final class Ports {
    /// `valid_evtchns` is `channels.count`, a multiple of the bucket size.
    var channels: [EventChannelTable.Channel]
    var virqPorts: [VIRQSlot: EvtchnPort] = [:]
    /// Ports set pending while the domain had no shared_info: Xen's page exists from domain
    /// creation, ours only once the guest places it, so these are applied when it appears.
    var deferred: Set<EvtchnPort> = []
    /// The domain is being destroyed: no more ports (Xen's `d->is_dying` in get_free_port).
    var dying = false
    let maxPort: Int

    init(maxPort: Int) {
        self.maxPort = maxPort
        channels = Array(repeating: EventChannelTable.Channel(.free), count: EventChannelTable.bucketSize)
        channels[0].state = .reserved
    }

    /// Xen's `port_is_valid`.
    func isValid(_ port: EvtchnPort) -> Bool { UInt64(port.raw) < UInt64(channels.count) }

    func channel(_ port: EvtchnPort) -> EventChannelTable.Channel? {
        isValid(port) ? channels[Int(port.raw)] : nil
    }

    /// Xen's `get_free_port`: the lowest free port up to `maxPort`, growing the table a bucket
    /// at a time. The bucket stays even if the caller then fails, as in Xen.
    func freePort() throws(XenErrno) -> EvtchnPort {
        if dying { throw .EINVAL }
        var port = 0
        while port <= maxPort {
            if port == channels.count {
                channels += Array(repeating: EventChannelTable.Channel(.free), count: EventChannelTable.bucketSize)
            }
            if channels[port].state == .free { return EvtchnPort(UInt32(port)) }
            port += 1
        }
        throw .ENOSPC
    }

    subscript(port: EvtchnPort) -> EventChannelTable.Channel {
        get { channels[Int(port.raw)] }
        set { channels[Int(port.raw)] = newValue }
    }

    /// Frees a bound port's bookkeeping (Xen's `evtchn_free`, less the pending bit, which the
    /// caller clears in guest memory): the VIRQ slot, a deferred event, vCPU 0 as notify.
    func release(_ port: EvtchnPort) {
        if case .virq(let virq, let vcpu) = self[port].state {
            let slot = VIRQSlot(vcpu: vcpu, virq: virq)
            if virqPorts[slot] == port { virqPorts[slot] = nil }
        }
        deferred.remove(port)
        self[port] = EventChannelTable.Channel(.free)
    }
}
