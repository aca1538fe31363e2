import Synchronization
import XenABI

/// One virtual CPU (Xen's `struct vcpu`), engine-neutral: the engine runs it, the core keeps
/// what hypercalls need to know about it.
///
/// Locking: `state` is a mutex; the vCPU's own thread is the main writer.
public final class VCPU: Sendable {
    public let id: VCPUID
    private struct WeakDomain: @unchecked Sendable { weak var domain: Domain? }
    /// Weak: the domain owns its vCPUs.
    private let domainRef = Mutex<WeakDomain>(WeakDomain())
    private let state = Mutex<HypercallArgs?>(nil)

    init(id: VCPUID) { self.id = id }

    func attach(to domain: Domain) { domainRef.withLock { $0.domain = domain } }

    /// The owning domain. Whoever runs a vCPU holds its domain, so this is always set.
    public var domain: Domain { domainRef.withLock { $0.domain! } }

    /// The last hypercall this vCPU made (for crash reports).
    public var lastHypercall: HypercallArgs? {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
