import Glibc
import HostOS
import Synchronization
import Testing

/// DeadlineQueue on real time: callbacks never run before their deadline, an earlier
/// deadline armed while the thread sleeps for a later one still fires on time, and a
/// cancelled or replaced one never fires.
@Suite struct DeadlineQueueTests {
    final class Log: Sendable {
        let fired = Mutex<[(key: Int, at: UInt64)]>([])
        func record(_ key: Int) { fired.withLock { $0.append((key, Host.monotonicNanoseconds())) } }
        func at(_ key: Int) -> [UInt64] { fired.withLock { $0.filter { $0.key == key }.map(\.at) } }
    }

    func waitUntil(_ deadline: UInt64, _ done: () -> Bool) {
        while !done() && Host.monotonicNanoseconds() < deadline { usleep(1000) }
    }

    @Test func anEarlierDeadlineArmedDuringALongSleepFiresOnTime() {
        let q = DeadlineQueue<Int>(name: "dq-test")
        defer { q.stop() }
        let log = Log()
        let start = Host.monotonicNanoseconds()
        q.arm(1, at: start + 2_000_000_000) { log.record(1) }
        usleep(20_000)  // the thread now sleeps until the far deadline
        let soon = Host.monotonicNanoseconds() + 10_000_000
        q.arm(2, at: soon) { log.record(2) }
        waitUntil(start + 1_000_000_000) { !log.at(2).isEmpty }
        let fired = log.at(2)
        #expect(fired.count == 1)
        #expect(fired.allSatisfy { $0 >= soon }, "never early")
        #expect(log.at(1).isEmpty)
    }

    @Test func aLaterDeadlineDoesNotDelayTheEarlierOne() {
        let q = DeadlineQueue<Int>(name: "dq-test")
        defer { q.stop() }
        let log = Log()
        let now = Host.monotonicNanoseconds()
        q.arm(1, at: now + 20_000_000) { log.record(1) }
        q.arm(2, at: now + 5_000_000_000) { log.record(2) }
        waitUntil(now + 1_000_000_000) { !log.at(1).isEmpty }
        #expect(log.at(1).count == 1)
        #expect(log.at(1).allSatisfy { $0 >= now + 20_000_000 })
        #expect(log.at(2).isEmpty)
    }

    @Test func cancelledAndReplacedDeadlinesDoNotFire() {
        let q = DeadlineQueue<Int>(name: "dq-test")
        defer { q.stop() }
        let log = Log()
        let now = Host.monotonicNanoseconds()
        q.arm(1, at: now + 10_000_000) { log.record(1) }
        q.cancel(1)
        q.arm(2, at: now + 10_000_000) { log.record(-2) }
        q.arm(2, at: now + 30_000_000) { log.record(2) }
        waitUntil(now + 1_000_000_000) { !log.at(2).isEmpty }
        usleep(20_000)
        #expect(log.at(1).isEmpty)
        #expect(log.at(-2).isEmpty)
        #expect(log.at(2).count == 1)
        #expect(log.at(2).allSatisfy { $0 >= now + 30_000_000 })
    }

    @Test func timerSlackCanBeSetOnTheCallingThread() {
        #expect(HostThread.setCurrentTimerSlack(nanoseconds: 1))
        #expect(HostThread.setCurrentTimerSlack(nanoseconds: 50_000))
    }
}
