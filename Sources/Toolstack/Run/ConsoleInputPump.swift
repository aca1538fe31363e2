import HostOS
import Hypervisor
import Logging
import Synchronization

/// Where a foreground run's console input comes from.
public enum ConsoleInputSource: Sendable {
    /// This process's stdin. A pipe or file is forwarded as it is, to its end. A terminal is
    /// put in raw mode (as `xl console` does; output processing stays on, so a guest's bare
    /// "\n" still starts a line) and Ctrl-] detaches input, leaving the domain running. A
    /// terminal we are in the background of, a closed stdin, or /dev/null, gives no input.
    case standardInput
    /// A descriptor, forwarded as it is (no raw mode, no escape key); not closed here.
    case fileDescriptor(Int32)
}

/// Forwards a host descriptor to a domain's console input (`Console.input`), on a thread of
/// its own. When the console's queue is full it stops reading until the guest makes room, so
/// nothing is dropped and memory stays bounded. `stop()` ends it promptly wherever it waits
/// (the read is a poll with a wake-up descriptor), and restores the terminal.
///
/// Locking: `start` and `stop` may be called from any thread; `stop` is idempotent and waits
/// for the thread to end. The thread calls only `Console.input` and
/// `Console.notifyWhenInputSpace` (whose handler only wakes the reader).
final class ConsoleInputPump: Sendable {
    /// Ctrl-], xenconsole's escape character.
    static let escape: UInt8 = 0x1D

    private let reader: InterruptibleReader
    private let interactive: Bool
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private struct Running: @unchecked Sendable {
        var thread: HostThread?
        var raw: Terminal.Raw?
    }
    private let running = Mutex(Running())

    private init(reader: InterruptibleReader, interactive: Bool, logger: Logger) {
        self.reader = reader
        self.interactive = interactive
        self.logger = logger
    }

    /// A pump for `source`, or nil if it gives no input. Call it before opening anything else,
    /// so a closed stdin is seen as closed rather than as the next file opened.
    static func prepare(_ source: ConsoleInputSource?, logger: Logger) -> ConsoleInputPump? {
        guard let source else { return nil }
        let fd: Int32
        var interactive = false
        switch source {
        case .standardInput:
            fd = 0
            if Terminal.isTerminal(fd) {
                guard Terminal.isForeground(fd) else {
                    logger.notice("stdin is a terminal this process is in the background of: no console input")
                    return nil
                }
                interactive = true
            }
        case .fileDescriptor(let f):
            fd = f
        }
        // /dev/null (how benchmarks and services start us) gives nothing: no thread for it.
        guard InterruptibleReader.isOpen(fd), !Host.isNullDevice(fd) else { return nil }
        do {
            return ConsoleInputPump(reader: try InterruptibleReader(fd: fd), interactive: interactive, logger: logger)
        } catch {
            logger.warning("no console input: \(error)")
            return nil
        }
    }

    /// Starts forwarding to `console` (raw mode first, for a terminal).
    func start(feeding console: Console) {
        running.withLock { r in
            guard r.thread == nil, !stopping.load(ordering: .acquiring) else { return }
            if interactive {
                r.raw = Terminal.makeRaw(fd: reader.fd, outputProcessing: true)
                if r.raw != nil { logger.info("console input attached; Ctrl-] detaches it") }
            }
            do {
                r.thread = try HostThread(name: "console-input") { [self] in pump(into: console) }
            } catch {
                logger.warning("no console input: \(error)")
                r.raw?.restore()
            }
        }
    }

    /// Stops forwarding, waits for the thread, restores the terminal.
    func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        reader.wake()
        // Taken out, so the thread (whose closure holds this pump) is released once joined.
        let r = running.withLock { r in
            defer { r = Running() }
            return r
        }
        r.thread?.join()
        r.raw?.restore()
    }

    private var shouldStop: Bool { stopping.load(ordering: .acquiring) }

    private func pump(into console: Console) {
        var pending: ArraySlice<UInt8> = []
        var detach = false
        // A space handler is registered and has not woken us yet (one at a time, so a guest
        // that never reads does not collect handlers).
        var awaitingSpace = false
        while !shouldStop {
            if !pending.isEmpty {
                pending = pending.dropFirst(console.input(pending))
                if !pending.isEmpty {
                    // Full: sleep until the guest makes room (or we are stopped). A wake that
                    // comes before we sleep stays in the reader's pipe; the timeout is a
                    // safety net only.
                    if !awaitingSpace {
                        let reader = self.reader
                        console.notifyWhenInputSpace { reader.wake() }
                        awaitingSpace = true
                    }
                    if reader.waitForWake(timeoutMs: 1000) { awaitingSpace = false }
                }
                continue
            }
            if detach { break }
            switch reader.read(max: 4096, timeoutMs: 1000) {
            case .data(let bytes):
                if interactive, let i = bytes.firstIndex(of: Self.escape) {
                    // Detach at once: what came before Ctrl-] goes in if it fits now.
                    console.input(bytes[..<i])
                    detach = true
                } else {
                    pending = bytes[...]
                }
            case .endOfFile:
                logger.debug("console input: end of file")
                return
            case .woken:
                awaitingSpace = false  // only a space handler or stop() wakes us
            case .timedOut:
                continue
            }
        }
        if detach {
            running.withLock { $0.raw }?.restore()
            logger.notice("console input detached (Ctrl-]); the domain keeps running")
        }
    }
}
