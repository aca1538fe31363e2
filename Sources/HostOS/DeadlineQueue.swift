import Glibc

/// Deadline callbacks served by one thread: what a domain's timers run on. Keys name timers;
/// arming a key again replaces its deadline. Callbacks run on the queue's thread, in deadline
/// order, and must not block.
///
/// The thread starts with the first `arm`: a domain that never sets a timer never pays for it.
///
/// Locking: `mutex` guards `entries`, `stopped`, `sleepingUntil` and `thread`; callbacks run
/// without it held. Arming wakes the thread only if the new deadline is earlier than the one it sleeps
/// for, and cancelling never does (it wakes once for nothing at worst).
public final class DeadlineQueue<Key: Hashable & Sendable>: @unchecked Sendable {
    private struct Entry {
        var deadline: UInt64
        var fire: @Sendable () -> Void
    }
    private var mutex = pthread_mutex_t()
    private var entries: [Key: Entry] = [:]
    private var stopped = false
    /// The deadline the thread parks (or is about to park) until: `.max` for none, 0 while it
    /// is awake and will look at `entries` again before parking.
    private var sleepingUntil: UInt64 = 0
    private let parker = Parker()
    private let name: String
    private var thread: HostThread?

    public init(name: String) {
        self.name = name
        pthread_mutex_init(&mutex, nil)
    }

    deinit { pthread_mutex_destroy(&mutex) }

    public func arm(_ key: Key, at deadline: UInt64, _ fire: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(&mutex)
        entries[key] = Entry(deadline: deadline, fire: fire)
        if thread == nil && !stopped {
            // The thread holds the queue until stop(): a forgotten stop leaks a thread, never
            // touches freed memory. It looks at `entries` before it first parks.
            thread = try? HostThread(name: name) { [self] in self.loop() }
        }
        let wake = deadline < sleepingUntil
        if wake { sleepingUntil = 0 }
        pthread_mutex_unlock(&mutex)
        if wake { parker.unpark() }
    }

    public func cancel(_ key: Key) {
        pthread_mutex_lock(&mutex)
        entries.removeValue(forKey: key)
        pthread_mutex_unlock(&mutex)
    }

    public func stop() {
        pthread_mutex_lock(&mutex)
        let wasStopped = stopped
        stopped = true
        entries.removeAll()
        let t = thread
        thread = nil
        pthread_mutex_unlock(&mutex)
        if wasStopped { return }
        parker.unpark()
        t?.join()
    }

    private func loop() {
        // Deadlines are met to the nanosecond the kernel can, not up to 50 µs late.
        HostThread.setCurrentTimerSlack(nanoseconds: 1)
        while true {
            pthread_mutex_lock(&mutex)
            if stopped { pthread_mutex_unlock(&mutex); return }
            let now = Host.monotonicNanoseconds()
            var due: [@Sendable () -> Void] = []
            var next: UInt64?
            for (key, e) in entries {
                if e.deadline <= now {
                    due.append(e.fire)
                    entries.removeValue(forKey: key)
                } else {
                    next = min(next ?? .max, e.deadline)
                }
            }
            // Awake (0) while callbacks run: they and other threads may arm; the loop looks
            // again before it parks.
            sleepingUntil = due.isEmpty ? (next ?? .max) : 0
            pthread_mutex_unlock(&mutex)
            for fire in due { fire() }
            if due.isEmpty { parker.park(until: next) }
        }
    }
}
