import HostOS
import Logging
import Synchronization

/// The daemon's own log (`xl dmesg`): every line goes to the logger and into a bounded
/// in-memory ring of the most recent lines.
///
/// Locking: one mutex over the ring.
final class DaemonLog: Sendable {
    static let maxLines = 2000
    let logger: Logger
    private let lines = Mutex<[String]>([])

    init(logger: Logger) { self.logger = logger }

    func info(_ message: String) { record("info", message); logger.info("\(message)") }
    func warning(_ message: String) { record("warning", message); logger.warning("\(message)") }

    private func record(_ level: String, _ message: String) {
        let ms = Host.monotonicNanoseconds() / 1_000_000
        let line = "[\(ms / 1000).\(String(ms % 1000 + 1000).dropFirst())] \(level): \(message)"
        lines.withLock { l in
            l.append(line)
            if l.count > Self.maxLines { l.removeFirst(l.count - Self.maxLines) }
        }
    }

    var text: String { lines.withLock { $0.joined(separator: "\n") } }
}
