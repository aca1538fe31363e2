/// A one-waiter wake-up flag: a thread parks until another unparks it (or a timeout passes).
/// An unpark that arrives first is remembered, so no wake-up is lost.
public final class Parker: @unchecked Sendable {
    private let condition = MonotonicCondition()
    private var permit = false

    public init() {}

    /// Waits for an unpark; `deadline` is CLOCK_MONOTONIC nanoseconds. Returns true if woken.
    @discardableResult
    public func park(until deadline: UInt64? = nil) -> Bool {
        condition.locked {
            condition.wait(until: deadline) { permit }
            let woken = permit
            permit = false
            return woken
        }
    }

    public func unpark() {
        condition.locked {
            permit = true
            condition.signal()
        }
    }
}
