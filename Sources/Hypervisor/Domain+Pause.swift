import Synchronization
import XenABI

/// A domain's pause count (Xen's `domain_pause_by_systemcontroller` /
/// `domain_unpause_by_systemcontroller`): while it is above zero, no vCPU enters the guest.
///
/// Locking: one mutex over the count.
public final class DomainPause: Sendable {
    private let count = Mutex<Int>(0)

    init() {}

    public var isPaused: Bool { count.withLock { $0 > 0 } }

    /// Raises the count; true if this call paused the domain.
    func pause() -> Bool { count.withLock { $0 += 1; return $0 == 1 } }

    /// Lowers the count; throws -EINVAL if the domain was not paused (as Xen's
    /// `domain_unpause_by_systemcontroller`); true if this call unpaused it.
    func unpause() throws(XenErrno) -> Bool {
        try count.withLock { (c: inout Int) throws(XenErrno) -> Bool in
            guard c > 0 else { throw .EINVAL }
            c -= 1
            return c == 0
        }
    }
}

extension Domain {
    /// `xl pause`: every vCPU leaves the guest at its next exit and stays out until unpaused.
    /// Kicks each vCPU so the pause takes effect at once; timers and events keep arriving and
    /// are delivered after the unpause.
    public func pause() {
        guard pauseState.pause(), let m = machine else { return }
        for v in vcpus { m.kick(vcpu: v.id) }
    }

    /// `xl unpause`: -EINVAL if the toolstack had not paused the domain.
    public func unpause() throws(XenErrno) {
        guard try pauseState.unpause(), let m = machine else { return }
        for v in vcpus { m.kick(vcpu: v.id) }
    }

    public var isPaused: Bool { pauseState.isPaused }
}
