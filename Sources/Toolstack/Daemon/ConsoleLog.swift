import HostOS
import Synchronization

/// A daemon domain's console output (xenconsoled's log and pty in one): the last
/// `capacity` bytes, the time of the first complete line, and the attached clients.
///
/// Locking: one mutex. Clients are written with non-blocking sends under it, so a slow client
/// loses output rather than stalling the guest's vCPU (which calls `append` from its sink).
final class ConsoleLog: Sendable {
    static let capacity = 256 * 1024

    private struct State {
        var bytes: [UInt8] = []
        var firstLineAt: UInt64?
        var clients: [ObjectIdentifier: UnixConnection] = [:]
    }
    private let state = Mutex<State>(State())
    /// Opened when the first line is complete.
    let firstLine = Latch()

    func append(_ chunk: [UInt8]) {
        let opened = state.withLock { s -> Bool in
            s.bytes += chunk
            if s.bytes.count > Self.capacity { s.bytes.removeFirst(s.bytes.count - Self.capacity) }
            for c in s.clients.values { _ = c.trySend(chunk) }
            if s.firstLineAt == nil, chunk.contains(UInt8(ascii: "\n")) {
                s.firstLineAt = Host.monotonicNanoseconds()
                return true
            }
            return false
        }
        if opened { firstLine.open() }
    }

    var firstLineAt: UInt64? { state.withLock { $0.firstLineAt } }
    var contents: [UInt8] { state.withLock { $0.bytes } }

    /// Attaches a client; it first receives what the log holds, as xenconsole shows the buffer.
    func attach(_ client: UnixConnection) {
        state.withLock { s in
            _ = client.trySend(s.bytes)
            s.clients[ObjectIdentifier(client)] = client
        }
    }

    func detach(_ client: UnixConnection) {
        _ = state.withLock { $0.clients.removeValue(forKey: ObjectIdentifier(client)) }
    }

    /// Ends every attachment (the domain is gone): clients see EOF.
    func closeClients() {
        let clients = state.withLock { s -> [UnixConnection] in
            defer { s.clients = [:] }
            return Array(s.clients.values)
        }
        for c in clients { c.shutdown() }
    }
}
