import GuestMemory
@testable import Hypervisor
import Synchronization
import Testing
import XenABI

/// Console output observers: several clients attached to one domain's output.
@Suite struct ConsoleObserverTests {
    final class Collector: Sendable {
        let bytes = Mutex<[UInt8]>([])
        var text: String { String(decoding: bytes.withLock { $0 }, as: UTF8.self) }
        var sink: Console.Sink { { b in self.bytes.withLock { $0 += b } } }
    }

    @Test func observersGetRingAndConsoleIOOutputInOrder() throws {
        let f = try ConsoleRingFixture()
        let a = Collector(), b = Collector()
        _ = f.console.addOutputObserver(a.sink)
        _ = f.console.addOutputObserver(b.sink)
        try f.guestRingWrite(Array("one\n".utf8))
        try f.consoleWrite(Array("two\n".utf8))
        try f.guestRingWrite(Array("three\n".utf8))
        try f.guestNotify()
        #expect(a.text == "one\ntwo\nthree\n")
        #expect(b.text == a.text)
        #expect(f.text == a.text, "the sink gets the same")
    }

    @Test func observersAreCalledInRegistrationOrderAfterTheSink() throws {
        let f = try ConsoleRingFixture()
        let order = Mutex<[String]>([])
        f.console.setSink { _ in order.withLock { $0.append("sink") } }
        _ = f.console.addOutputObserver { _ in order.withLock { $0.append("first") } }
        _ = f.console.addOutputObserver { _ in order.withLock { $0.append("second") } }
        try f.consoleWrite(Array("x".utf8))
        #expect(order.withLock { $0 } == ["sink", "first", "second"])
    }

    @Test func aRemovedObserverGetsNothingMore() throws {
        let f = try ConsoleRingFixture()
        let a = Collector(), b = Collector()
        let ta = f.console.addOutputObserver(a.sink)
        let tb = f.console.addOutputObserver(b.sink)
        #expect(ta != tb)
        try f.consoleWrite(Array("before\n".utf8))
        f.console.removeOutputObserver(ta)
        try f.consoleWrite(Array("after\n".utf8))
        try f.guestRingWrite(Array("ring\n".utf8))
        f.console.drainRing(memory: f.memory)
        #expect(a.text == "before\n")
        #expect(b.text == "before\nafter\nring\n")
        // Removing twice, or a token never issued, is harmless.
        f.console.removeOutputObserver(ta)
        f.console.removeOutputObserver(Console.ObserverToken(raw: 9999))
        try f.consoleWrite(Array("end\n".utf8))
        #expect(b.text.hasSuffix("end\n"))
        #expect(f.console.bytesWritten == "before\nafter\nring\nend\n".utf8.count)
    }

    @Test func anObserverMayFeedInputBack() throws {
        // A client that echoes the guest's output back as input (a loopback) must not
        // deadlock: observers run under the output lock only.
        let f = try ConsoleRingFixture()
        let console = f.console
        _ = console.addOutputObserver { bytes in console.input(bytes) }
        try f.consoleWrite(Array("ping".utf8))
        #expect(f.console.inputQueued == 4)
        #expect(f.consoleRead(16) == 4)
        #expect(try f.guestBuffer(4) == Array("ping".utf8))
    }

    @Test func observersSeeEveryByteFromConcurrentWriters() async throws {
        let f = try ConsoleRingFixture()
        let a = Collector()
        _ = f.console.addOutputObserver(a.sink)
        let console = f.console, memory = f.memory
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<4 {
                group.addTask {
                    for i in 0..<200 { console.write(Array("w\(w)-\(i);".utf8), memory: memory) }
                }
            }
        }
        let chunks = a.text.split(separator: ";")
        #expect(chunks.count == 800)
        // Each writer's chunks arrive whole and in its own order.
        for w in 0..<4 {
            let mine = chunks.filter { $0.hasPrefix("w\(w)-") }.map { Int($0.dropFirst(3))! }
            #expect(mine == Array(0..<200))
        }
        #expect(f.text == a.text)
    }
}
