import Synchronization
import XenABI

/// The handlers of Petrel's own backends (xenstored, and any other toolstack device), one per
/// backend port: a guest port that is `.interdomain` with the control domain. In Xen a dom0
/// backend binds the other end and waits on it (`/dev/xen/evtchn`); here the toolstack
/// registers a closure that runs when the guest signals the port (`EVTCHNOP_send`).
///
/// Locking: one mutex over the map, never held while a handler runs. Handlers are called with
/// no lock held at all — neither this one nor any event-channel table lock — on the thread of the
/// guest's `EVTCHNOP_send` (a vCPU thread, inside the hypercall), so a handler may call back into
/// the domain's event channels (`EventChannel.notify`) or take its backend's own locks. It should
/// be short: the sending vCPU waits for it.
public final class EventChannelBackends: Sendable {
    public typealias Handler = @Sendable () -> Void
    private let handlers = Mutex<[EvtchnPort: Handler]>([:])

    init() {}

    func set(_ port: EvtchnPort, _ handler: Handler?) {
        handlers.withLock { $0[port] = handler }
    }

    func handler(for port: EvtchnPort) -> Handler? { handlers.withLock { $0[port] } }

    /// Drops every handler (domain destruction): the closures, and whatever they keep alive, go.
    func removeAll() { handlers.withLock { $0.removeAll() } }

    /// How many ports have a handler (for tests and dumps).
    public var count: Int { handlers.withLock { $0.count } }
}

extension EventChannel {
    /// Registers `handler` to run whenever the guest signals `port`, one of Petrel's backend
    /// ports (allocated with `EventChannelTable.allocate(.interdomain(remote: .control, …))`);
    /// nil removes it. Replaces an earlier handler of the port. The console's own drain on its
    /// port is unaffected. -EINVAL, registering nothing, if `port` is not connected to the
    /// control domain (the guest closed it, or it never was a backend port). Locking rules:
    /// `EventChannelBackends`.
    public func setBackendHandler(_ port: EvtchnPort, _ handler: (@Sendable () -> Void)?) throws(XenErrno) {
        guard let handler else {
            table.backends.set(port, nil)
            return
        }
        guard case .interdomain(let remote, _)? = table.state(port), remote == .control else { throw .EINVAL }
        table.backends.set(port, handler)
    }

    /// Runs the backend handler of `port`, if any; called with no lock held.
    func runBackendHandler(_ port: EvtchnPort) {
        table.backends.handler(for: port)?()
    }
}
