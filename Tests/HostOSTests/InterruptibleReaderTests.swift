import Glibc
import HostOS
import Testing

@Suite struct InterruptibleReaderTests {
    /// A pipe: (read end, write end).
    static func makePipe() throws -> (Int32, Int32) {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }

    static func write(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    @Test func readsDataThenEndOfFile() throws {
        let (r, w) = try Self.makePipe()
        defer { close(r) }
        let reader = try InterruptibleReader(fd: r)
        Self.write(w, Array("hello".utf8))
        #expect(reader.read(timeoutMs: 1000) == .data(Array("hello".utf8)))
        #expect(reader.read(timeoutMs: 10) == .timedOut)
        close(w)
        #expect(reader.read(timeoutMs: 1000) == .endOfFile)
    }

    @Test func readsAtMostMax() throws {
        let (r, w) = try Self.makePipe()
        defer { close(r); close(w) }
        let reader = try InterruptibleReader(fd: r)
        Self.write(w, Array("abcdef".utf8))
        #expect(reader.read(max: 4, timeoutMs: 1000) == .data(Array("abcd".utf8)))
        #expect(reader.read(max: 4, timeoutMs: 1000) == .data(Array("ef".utf8)))
    }

    @Test func aWakeEndsABlockedReadPromptly() throws {
        let (r, w) = try Self.makePipe()
        defer { close(r); close(w) }
        let reader = try InterruptibleReader(fd: r)
        let waker = try HostThread(name: "waker") {
            usleep(50_000)
            reader.wake()
        }
        let t0 = Host.monotonicNanoseconds()
        #expect(reader.read(timeoutMs: -1) == .woken)
        #expect(Host.monotonicNanoseconds() - t0 < 5_000_000_000)
        waker.join()
        // The wake was consumed.
        #expect(reader.read(timeoutMs: 10) == .timedOut)
    }

    @Test func aWakeWinsOverData() throws {
        let (r, w) = try Self.makePipe()
        defer { close(r); close(w) }
        let reader = try InterruptibleReader(fd: r)
        Self.write(w, [1, 2, 3])
        reader.wake()
        reader.wake()  // merges with the first
        #expect(reader.read(timeoutMs: 1000) == .woken)
        #expect(reader.read(timeoutMs: 1000) == .data([1, 2, 3]))
    }

    @Test func waitForWakeIgnoresInput() throws {
        let (r, w) = try Self.makePipe()
        defer { close(r); close(w) }
        let reader = try InterruptibleReader(fd: r)
        Self.write(w, [9])
        #expect(!reader.waitForWake(timeoutMs: 20))
        reader.wake()
        #expect(reader.waitForWake(timeoutMs: 1000))
        #expect(reader.read(timeoutMs: 1000) == .data([9]))
    }

    @Test func aDescriptorThatIsNotOpenIsAtItsEnd() throws {
        // Far above anything this process opens.
        let fd: Int32 = 65_000
        #expect(!InterruptibleReader.isOpen(fd))
        let reader = try InterruptibleReader(fd: fd)
        #expect(reader.read(timeoutMs: 1000) == .endOfFile)
        let (r, w) = try Self.makePipe()
        #expect(InterruptibleReader.isOpen(r))
        close(r); close(w)
    }

    @Test func devNullIsAtItsEnd() throws {
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(fd) }
        let reader = try InterruptibleReader(fd: fd)
        #expect(reader.read(timeoutMs: 1000) == .endOfFile)
    }
}

@Suite struct HostProcessStdinTests {
    @Test func theChildReadsTheGivenBytes() throws {
        let bytes = (0..<300_000).map { UInt8(ascii: "a") + UInt8($0 % 26) }
        let r = try HostProcess.run("/bin/cat", [], stdin: bytes)
        #expect(r.status == 0)
        #expect(Array(r.stdout.utf8) == bytes)
    }

    @Test func aChildThatDoesNotReadDoesNotHurtUs() throws {
        // More than a pipe holds: the feeder gets EPIPE (SIGPIPE is blocked in its thread).
        let r = try HostProcess.run("/bin/true", [], stdin: [UInt8](repeating: 7, count: 1 << 20))
        #expect(r.status == 0)
    }

    @Test func withoutBytesStdinIsDevNull() throws {
        let r = try HostProcess.run("/bin/cat", [])
        #expect(r.status == 0)
        #expect(r.stdout.isEmpty)
    }
}
