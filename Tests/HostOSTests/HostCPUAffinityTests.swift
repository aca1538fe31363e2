@testable import HostOS
import SystemPackage
import Synchronization
import Testing

@Suite("HostCPUAffinity and HostThread.tid", .serialized)
struct HostCPUAffinityTests {
    /// A thread that spins until told to stop (so it is running when its CPU is read).
    final class Spinner: Sendable {
        final class Flag: Sendable { let stop = Atomic<Bool>(false) }
        let flag = Flag()
        let thread: HostThread
        init() throws {
            let flag = self.flag
            thread = try HostThread(name: "spinner") {
                while !flag.stop.load(ordering: .relaxed) {}
            }
        }
        func finish() {
            flag.stop.store(true, ordering: .relaxed)
            thread.join()
        }
    }

    @Test func threadsRecordTheirTID() throws {
        let s = try Spinner()
        defer { s.finish() }
        let tid = s.thread.waitForTID()
        #expect(tid > 0)
        #expect(s.thread.tid == tid)
        #expect(tid != HostCPUAffinity.currentThreadID())
        // The kernel knows it as a thread of this process.
        #expect(try HostCPUAffinity.allowedCPUs(thread: tid).isEmpty == false)
    }

    @Test func pinningMovesARunningThread() throws {
        let allowed = try HostCPUAffinity.get(thread: 0)
        #expect(!allowed.isEmpty)
        let s = try Spinner()
        defer { s.finish() }
        let tid = s.thread.waitForTID()
        for cpu in allowed {
            try HostCPUAffinity.set([cpu], thread: tid)
            #expect(try HostCPUAffinity.get(thread: tid) == [cpu])
            #expect(try HostCPUAffinity.allowedCPUs(thread: tid) == [cpu])
            // sched_setaffinity returns once the running thread has moved.
            #expect(try HostCPUAffinity.currentCPU(thread: tid) == cpu)
        }
        try HostCPUAffinity.set(allowed, thread: tid)
        #expect(try HostCPUAffinity.get(thread: tid) == allowed)
    }

    @Test func theCallerCanPinItself() throws {
        let before = try HostCPUAffinity.get(thread: 0)
        defer { try? HostCPUAffinity.set(before, thread: 0) }
        try HostCPUAffinity.set([before[0]], thread: 0)
        #expect(try HostCPUAffinity.get(thread: 0) == [before[0]])
        #expect(try HostCPUAffinity.currentCPU(thread: HostCPUAffinity.currentThreadID()) == before[0])
    }

    @Test func badSetsAreRefused() throws {
        let s = try Spinner()
        defer { s.finish() }
        let tid = s.thread.waitForTID()
        let before = try HostCPUAffinity.get(thread: tid)
        #expect(throws: HostError.self) { try HostCPUAffinity.set([], thread: tid) }
        #expect(throws: HostError.self) { try HostCPUAffinity.set([-1], thread: tid) }
        // A CPU this host does not have.
        do {
            try HostCPUAffinity.set([4000], thread: tid)
            Issue.record("CPU 4000 accepted")
        } catch {
            #expect(error.errno == .invalidArgument)
        }
        #expect(try HostCPUAffinity.get(thread: tid) == before)
    }

    @Test func aThreadThatIsGoneIsESRCH() throws {
        let t = try HostThread(name: "short") {}
        let tid = t.waitForTID()
        t.join()
        do {
            try HostCPUAffinity.set([0], thread: tid)
            // The kernel may already have given the id to another thread; then nothing to say.
        } catch {
            #expect(error.errno == .noSuchProcess)
        }
        #expect(throws: HostCPUError.self) { try HostCPUAffinity.currentCPU(thread: Int32.max) }
        #expect(throws: HostCPUError.self) { try HostCPUAffinity.allowedCPUs(thread: Int32.max) }
    }

    @Test func statLinesParseAfterTheCommandName() {
        // Field 39 is the processor; the command name may hold spaces and parentheses.
        var fields = (3...52).map { String($0) }
        fields[0] = "R"
        fields[36] = "7"
        let line = "1234 (a) b (c)) " + fields.joined(separator: " ") + "\n"
        #expect(HostCPUAffinity.parseStatProcessor(line) == 7)
        #expect(HostCPUAffinity.parseStatProcessor("1234 (x) R 1 2") == nil)
        #expect(HostCPUAffinity.parseStatProcessor("no parens") == nil)
    }

    @Test func maskBuffersCoverBigCPUNumbers() {
        #expect(HostCPUAffinity.maskWords(covering: 0) == 16)
        #expect(HostCPUAffinity.maskWords(covering: 1023) == 16)
        #expect(HostCPUAffinity.maskWords(covering: 1024) == 17)
        #expect(HostCPUAffinity.maskWords(covering: 8191) == 128)
    }
}
