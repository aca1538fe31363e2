import HostOS
import Hypervisor

/// The hypervisor's host services on Linux: clocks from HostOS, timers on a `DeadlineQueue`,
/// host CPUs from sysfs, /proc/cpuinfo and the ACPI MADT under `hostRoot`.
public struct HostOSServices: HostServices {
    /// Where sys/ and proc/ are read from for host CPU discovery ("/" on a real host).
    public let hostRoot: String
    public init(hostRoot: String = "/") { self.hostRoot = hostRoot }
    public func monotonicNanoseconds() -> UInt64 { Host.monotonicNanoseconds() }
    public func realtimeNanoseconds() -> UInt64 { Host.realtimeNanoseconds() }
    public func makeTimerQueue(name: String) -> any TimerQueue { HostTimerQueue(name: name) }

    public func discoverHostCPUs() throws -> HostCPUDiscovery {
        let t = try HostCPUTopology.scan(root: hostRoot)
        return HostCPUDiscovery(
            cpus: t.cpus.map {
                HostCPUDescription(hostIndex: $0.index, apicID: $0.apicID, acpiID: $0.acpiID,
                                   present: $0.present, online: $0.online)
            },
            note: t.acpiNote)
    }
}

final class HostTimerQueue: TimerQueue {
    let queue: DeadlineQueue<TimerKey>
    init(name: String) { queue = DeadlineQueue(name: name) }
    func arm(_ key: TimerKey, at deadline: UInt64, _ fire: @escaping @Sendable () -> Void) {
        queue.arm(key, at: deadline, fire)
    }
    func cancel(_ key: TimerKey) { queue.cancel(key) }
    func stop() { queue.stop() }
}
