/// A one-shot, many-waiter event: `open()` once, and every `wait` returns, now and later.
public final class Latch: @unchecked Sendable {
    private let condition = MonotonicCondition()
    private var isOpen = false

    public init() {}

    public var opened: Bool { condition.locked { isOpen } }

    public func open() {
        condition.locked {
            isOpen = true
            condition.broadcast()
        }
    }

    /// Waits until opened or until `deadline` (CLOCK_MONOTONIC ns); true if opened.
    @discardableResult
    public func wait(until deadline: UInt64? = nil) -> Bool {
        condition.locked {
            condition.wait(until: deadline) { isOpen }
            return isOpen
        }
    }
}
