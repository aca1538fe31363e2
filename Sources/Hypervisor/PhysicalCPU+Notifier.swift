import XenABI

/// A change to the physical-CPU table, as observers hear it (Xen's CPU notifier actions,
/// reduced to what has happened: CPU_ONLINE, CPU_DEAD, and hot-add/remove).
public enum PhysicalCPUEvent: Sendable, Equatable, CustomStringConvertible {
    /// The host gained a CPU (hot-plug).
    case added(PCPUID)
    /// The host lost a CPU; an online one goes `.offline` first.
    case removed(PCPUID)
    /// vCPU threads may run on it now.
    case online(PCPUID)
    /// vCPU threads may no longer run on it; none does once the event has been delivered.
    case offline(PCPUID)

    public var cpu: PCPUID {
        switch self {
        case .added(let c), .removed(let c), .online(let c), .offline(let c): c
        }
    }

    public var description: String {
        switch self {
        case .added(let c): "\(c) added"
        case .removed(let c): "\(c) removed"
        case .online(let c): "\(c) online"
        case .offline(let c): "\(c) offline"
        }
    }

    /// Per CPU, the order events happen in.
    var order: (UInt32, Int) {
        switch self {
        case .added(let c): (c.raw, 0)
        case .online(let c): (c.raw, 1)
        case .offline(let c): (c.raw, 2)
        case .removed(let c): (c.raw, 3)
        }
    }
}

extension PhysicalCPUTable {
    /// Hears a change, with the whole table as it stands after it. Runs with the table's
    /// change lock held (see `PhysicalCPUTable`): it may read the table, not change it.
    /// Throwing refuses an `online`/`offline` request: the change is undone, and every
    /// observer that heard it, the refusing one included, hears the opposite event. A host change
    /// from `rescan` cannot be refused, and the error is only logged.
    public typealias Observer = @Sendable (PhysicalCPUEvent, [PhysicalCPU]) throws -> Void

    /// Identifies a registered observer, for `stopObserving`.
    public struct ObserverToken: Hashable, Sendable {
        let id: Int
    }

    /// The registered observers, in registration order (the order they hear events in), and
    /// the last discovery's note (logged when it changes). Guarded by the change lock.
    struct Observers {
        var nextID = 0
        var list: [(id: Int, observer: Observer)] = []
        var discoveryNote: String?
        /// Runs once, after the first scan (which is a baseline, not a change: observers hear
        /// nothing of it).
        var firstScan: (@Sendable ([PhysicalCPU]) -> Void)?

        /// Tells each observer in turn; stops at the first that throws.
        func deliver(_ event: PhysicalCPUEvent, table: PhysicalCPUTable) throws(DeliveryFailure) {
            let snapshot = table.all
            for (i, entry) in list.enumerated() {
                do { try entry.observer(event, snapshot) } catch {
                    throw DeliveryFailure(told: i, cause: error)
                }
            }
        }

        /// Tells the first `count` observers (those that took the failed event, and the one
        /// that refused it) its undo.
        func deliverUndo(_ event: PhysicalCPUEvent, to count: Int, table: PhysicalCPUTable) {
            let snapshot = table.all
            for entry in list.prefix(count) { try? entry.observer(event, snapshot) }
        }
    }

    struct DeliveryFailure: Error {
        /// How many observers had taken the event before one failed (the index of the one that did).
        var told: Int
        var cause: any Error
    }

    /// Sets what runs, under the change lock, once the host has first been scanned (the
    /// scheduler places the vCPUs that started before it).
    public func onFirstScan(_ body: @escaping @Sendable ([PhysicalCPU]) -> Void) {
        changes.withLock { $0.firstScan = body }
    }

    /// Registers an observer (Xen's `register_cpu_notifier`); it hears changes from now on.
    @discardableResult
    public func observe(_ observer: @escaping Observer) -> ObserverToken {
        changes.withLock { obs in
            obs.nextID += 1
            obs.list.append((obs.nextID, observer))
            return ObserverToken(id: obs.nextID)
        }
    }

    public func stopObserving(_ token: ObserverToken) {
        changes.withLock { obs in obs.list.removeAll { $0.id == token.id } }
    }
}

extension Hypervisor {
    /// The VIRQ_PCPU_STATE observer (Xen's `send_global_virq(VIRQ_PCPU_STATE)` after every
    /// `cpu_up` and `cpu_down`): every privileged domain that bound the VIRQ hears of each
    /// change; a domain that did not bind it, or is not privileged, hears nothing.
    func raisePCPUState(_ event: PhysicalCPUEvent) {
        for d in allDomains where d.config.privileged && !d.isShutDown {
            d.evtchn.raiseGlobalVIRQ(.pcpuState)
        }
    }
}
