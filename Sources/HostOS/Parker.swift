import Glibc

/// A one-waiter wake-up flag: a thread parks until another unparks it (or a timeout passes).
/// An unpark that arrives first is remembered, so no wake-up is lost.
public final class Parker: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var permit = false

    public init() {
        pthread_mutex_init(&mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(&cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&mutex)
    }

    /// Waits for an unpark; `deadline` is CLOCK_MONOTONIC nanoseconds. Returns true if woken.
    @discardableResult
    public func park(until deadline: UInt64? = nil) -> Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while !permit {
            if let deadline {
                var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
                if pthread_cond_timedwait(&cond, &mutex, &ts) == ETIMEDOUT { break }
            } else {
                pthread_cond_wait(&cond, &mutex)
            }
        }
        let woken = permit
        permit = false
        return woken
    }

    public func unpark() {
        pthread_mutex_lock(&mutex)
        permit = true
        pthread_cond_signal(&cond)
        pthread_mutex_unlock(&mutex)
    }
}
