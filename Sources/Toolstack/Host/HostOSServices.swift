import HostOS
import Hypervisor

/// The hypervisor's host services on Linux: clocks from HostOS, timers on a `DeadlineQueue`.
public struct HostOSServices: HostServices {
    public init() {}
    public func monotonicNanoseconds() -> UInt64 { Host.monotonicNanoseconds() }
    public func realtimeNanoseconds() -> UInt64 { Host.realtimeNanoseconds() }
    public func makeTimerQueue(name: String) -> any TimerQueue { HostTimerQueue(name: name) }
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
