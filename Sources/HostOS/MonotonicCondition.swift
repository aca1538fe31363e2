import Glibc

/// A pthread mutex with a condition variable on CLOCK_MONOTONIC: the one waiting primitive
/// `Parker` and `Latch` are built on.
final class MonotonicCondition: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()

    init() {
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

    func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }

    /// With the mutex held: waits until `ready()` or `deadline` (CLOCK_MONOTONIC ns).
    func wait(until deadline: UInt64?, _ ready: () -> Bool) {
        while !ready() {
            if let deadline {
                var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
                if pthread_cond_timedwait(&cond, &mutex, &ts) == ETIMEDOUT { return }
            } else {
                pthread_cond_wait(&cond, &mutex)
            }
        }
    }

    /// With the mutex held.
    func signal() { pthread_cond_signal(&cond) }
    func broadcast() { pthread_cond_broadcast(&cond) }
}
