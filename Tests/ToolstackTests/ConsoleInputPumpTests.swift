import Glibc
import HostOS
import Hypervisor
import Logging
import Synchronization
@testable import Toolstack
import XenABI

import Testing

/// The input pump without a guest: a pipe in, the console's queue out (drained the way
/// CONSOLEIO_read drains it).
@Suite struct ConsoleInputPumpTests {
    let hypervisor = Hypervisor(services: HostOSServices())
    let domain: Domain
    let readEnd: Int32, writeEnd: Int32

    init() throws {
        domain = try hypervisor.createDomain(DomainConfig(name: "pump", memoryBytes: 1 << 20, vcpus: 1))
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        (readEnd, writeEnd) = (fds[0], fds[1])
    }

    /// /dev/null gives no input: no pump (and no thread) at all; a pipe does.
    @Test func devNullGivesNoPump() throws {
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        try #require(null >= 0)
        defer { close(null) }
        let zero = open("/dev/zero", O_RDONLY | O_CLOEXEC)
        try #require(zero >= 0)
        defer { close(zero) }
        #expect(Host.isNullDevice(null))
        #expect(!Host.isNullDevice(zero))
        #expect(!Host.isNullDevice(readEnd))
        #expect(ConsoleInputPump.prepare(.fileDescriptor(null), logger: Logger(label: "test")) == nil)
        let pump = ConsoleInputPump.prepare(.fileDescriptor(readEnd), logger: Logger(label: "test"))
        #expect(pump != nil)
        pump?.stop()
        close(readEnd)
        close(writeEnd)
    }

    /// Takes what the console holds, as a guest's CONSOLEIO_read would.
    func take() -> [UInt8] {
        var got: [UInt8] = []
        _ = domain.console.read(max: 1 << 20) { _, bytes in got += bytes }
        return got
    }

    func write(_ bytes: [UInt8]) {
        Host.writeAll(writeEnd, bytes)
    }

    func waitUntil(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Host.monotonicNanoseconds() + UInt64(seconds * 1e9)
        while !condition() {
            if Host.monotonicNanoseconds() > deadline { return false }
            usleep(1000)
        }
        return true
    }

    @Test func bytesFromTheDescriptorReachTheConsole() throws {
        defer { close(readEnd); close(writeEnd) }
        let pump = try #require(ConsoleInputPump.prepare(.fileDescriptor(readEnd), logger: Logger(label: "test")))
        pump.start(feeding: domain.console)
        defer { pump.stop() }
        write(Array("hello".utf8))
        #expect(waitUntil { domain.console.inputQueued == 5 })
        #expect(take() == Array("hello".utf8))
    }

    @Test func aFullQueueHoldsTheRestBackAndNothingIsLost() throws {
        defer { close(readEnd) }
        let total = 300_000
        let bytes = (0..<total).map { UInt8($0 % 251) }
        let pump = try #require(ConsoleInputPump.prepare(.fileDescriptor(readEnd), logger: Logger(label: "test")))
        pump.start(feeding: domain.console)
        defer { pump.stop() }
        let feeder = try HostThread(name: "feeder") { [writeEnd] in
            Host.writeAll(writeEnd, bytes)
            close(writeEnd)
        }
        // Until we read, the queue fills to its bound and stays there.
        #expect(waitUntil { domain.console.inputQueued == Console.inputCapacity })
        usleep(50_000)
        #expect(domain.console.inputQueued == Console.inputCapacity)
        var got: [UInt8] = []
        let deadline = Host.monotonicNanoseconds() + 30_000_000_000
        while got.count < total && Host.monotonicNanoseconds() < deadline {
            let chunk = take()
            got += chunk
            if chunk.isEmpty { usleep(500) }
        }
        feeder.join()
        #expect(got.count == total)
        #expect(got == bytes)
    }

    @Test func stopEndsThePumpWhileItWaitsForInput() throws {
        defer { close(readEnd); close(writeEnd) }
        let pump = try #require(ConsoleInputPump.prepare(.fileDescriptor(readEnd), logger: Logger(label: "test")))
        pump.start(feeding: domain.console)
        usleep(20_000)
        let t0 = Host.monotonicNanoseconds()
        pump.stop()
        #expect(Host.monotonicNanoseconds() - t0 < 2_000_000_000)
        pump.stop()  // idempotent
    }

    @Test func stopEndsThePumpWhileItWaitsForRoom() throws {
        defer { close(readEnd); close(writeEnd) }
        let pump = try #require(ConsoleInputPump.prepare(.fileDescriptor(readEnd), logger: Logger(label: "test")))
        pump.start(feeding: domain.console)
        write([UInt8](repeating: 1, count: Console.inputCapacity + 1000))
        #expect(waitUntil { domain.console.inputQueued == Console.inputCapacity })
        let t0 = Host.monotonicNanoseconds()
        pump.stop()
        #expect(Host.monotonicNanoseconds() - t0 < 2_000_000_000)
    }

    @Test func endOfFileEndsThePumpQuietly() throws {
        defer { close(readEnd) }
        let pump = try #require(ConsoleInputPump.prepare(.fileDescriptor(readEnd), logger: Logger(label: "test")))
        pump.start(feeding: domain.console)
        write(Array("last".utf8))
        close(writeEnd)
        #expect(waitUntil { domain.console.inputQueued == 4 })
        pump.stop()
        #expect(take() == Array("last".utf8))
    }

    @Test func noSourceOrAClosedDescriptorGivesNoPump() {
        close(readEnd); close(writeEnd)
        #expect(ConsoleInputPump.prepare(nil, logger: Logger(label: "test")) == nil)
        #expect(ConsoleInputPump.prepare(.fileDescriptor(65_000), logger: Logger(label: "test")) == nil)
    }
}
