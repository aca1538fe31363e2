import HostOS
import Synchronization
import XenABI
import XenStore

/// `petrel bench xenstore`: xenstore operations per second, half XS_WRITE and half XS_READ of a
/// 16-byte value, through each way in:
///   - socket: a synchronous xs_wire client on `xenstored.socket` of a `petrel daemon` spawned
///     for the run (one request in flight, as libxenstore's `xs_write`/`xs_read` are);
///   - ring: PetrelOS's xenbus client on its shared ring (`test=bench-xenstore`, `petrel run`
///     in this process), timed by the guest's pvclock;
///   - baseline, same run: `XenStored.write`/`read` called directly in this process (the tree,
///     permissions and watch checks, no message and no transport), and an in-process wire
///     client (`XenStored.connect`: the message built, dispatched and answered through a
///     callback, no transport). The ratios say what each transport costs over the store itself.
/// The socket and the baselines are measured in `trials` interleaved rounds and reported as
/// medians, so that a burst of load on a shared machine skews one trial, not the figure.
public struct XenStoreBench {
    public var petrelPath: String
    public var kernelPath: String
    /// Write+read rounds per trial of the socket and the baselines (operations = 2 × rounds).
    public var rounds: Int
    /// Write+read rounds in the guest (each costs a few VM exits: far slower than the rest).
    public var ringRounds: Int
    public static let trials = 3

    public init(petrelPath: String, kernelPath: String, rounds: Int = 10_000, ringRounds: Int = 1000) {
        self.petrelPath = petrelPath
        self.kernelPath = kernelPath
        self.rounds = rounds
        self.ringRounds = ringRounds
    }

    public struct Figures: Sendable {
        public var socketOpsPerSecond: Double
        public var ringOpsPerSecond: Double
        public var inprocOpsPerSecond: Double
        public var wireOpsPerSecond: Double

        public var line: String {
            "xenstore socket_ops_s=\(Self.whole(socketOpsPerSecond)) ring_ops_s=\(Self.whole(ringOpsPerSecond)) "
                + "inproc_ops_s=\(Self.whole(inprocOpsPerSecond)) "
                + "socket_ratio=\(Statistics.format(socketOpsPerSecond / inprocOpsPerSecond, 4)) "
                + "ring_ratio=\(Statistics.format(ringOpsPerSecond / inprocOpsPerSecond, 4))"
        }

        static func whole(_ x: Double) -> String { x.isFinite ? String(Int(x.rounded())) : "nan" }

        /// The in-process wire client's rate: transport cost apart from message handling.
        public var detail: String {
            "xenstore inproc_wire_ops_s=\(Self.whole(wireOpsPerSecond)) "
                + "socket_vs_wire=\(Statistics.format(socketOpsPerSecond / wireOpsPerSecond, 4)) "
                + "ring_vs_wire=\(Statistics.format(ringOpsPerSecond / wireOpsPerSecond, 4))"
        }
    }

    static let value = Array("0123456789abcdef".utf8)
    static let warmUpRounds = 100

    public func run() throws -> Figures {
        var api: [Double] = [], wire: [Double] = [], socket: [Double] = []
        try withDaemonSocket { client in
            for _ in 0..<Self.trials {
                api.append(try Self.inprocess(rounds: rounds))
                wire.append(try Self.inprocessWire(rounds: rounds))
                socket.append(try Self.socketRate(client, rounds: rounds))
            }
        }
        let ring = try ringRate()
        return Figures(socketOpsPerSecond: Statistics.median(socket), ringOpsPerSecond: ring,
                       inprocOpsPerSecond: Statistics.median(api), wireOpsPerSecond: Statistics.median(wire))
    }

    // MARK: Baselines

    /// `XenStored.write`/`read` as dom0 on a fresh store, operations per second.
    static func inprocess(rounds: Int) throws -> Double {
        let store = XenStored()
        let path = XenStored.domainPath(.control) + "/bench"
        func loop(_ n: Int) throws {
            for _ in 0..<n {
                try store.write(path, value)
                guard try store.read(path) == value else { throw ToolstackError.engine("in-process read differs") }
            }
        }
        try loop(warmUpRounds)
        let t0 = Host.monotonicNanoseconds()
        try loop(rounds)
        return rate(ops: 2 * rounds, since: t0)
    }

    /// The same through `XenStored.connect` (dom0, privileged): messages built, dispatched and
    /// answered through a callback transport, operations per second.
    static func inprocessWire(rounds: Int) throws -> Double {
        let store = XenStored()
        let replies = ReplyBox()
        let client = store.connect(as: .control) { replies.put($0) }
        defer { client.close() }
        var wire = XenStoreBenchRequests()
        func loop(_ n: Int) throws {
            for _ in 0..<n {
                let w = wire.write()
                client.send(w)
                try XenStoreBenchRequests.checkWriteReply(replies.take(), to: w)
                let r = wire.read()
                client.send(r)
                try XenStoreBenchRequests.checkReadReply(replies.take(), to: r)
            }
        }
        try loop(warmUpRounds)
        let t0 = Host.monotonicNanoseconds()
        try loop(rounds)
        return rate(ops: 2 * rounds, since: t0)
    }

    // MARK: Transports

    /// Runs `body` with a socket client on a daemon of our own (spawned in a scratch state
    /// directory, stopped and removed afterwards).
    func withDaemonSocket(_ body: (XenStoreSocketClient) throws -> Void) throws {
        let daemon = try ScratchDaemon(petrelPath: petrelPath, name: "petrel-bench-xs", socket: "xenstored.socket")
        defer { daemon.stop() }
        let client = try XenStoreSocketClient(path: daemon.dir + "/xenstored.socket")
        defer { client.close() }
        try body(client)
    }

    /// `rounds` write+read rounds on the socket (after a warm-up), operations per second.
    static func socketRate(_ client: XenStoreSocketClient, rounds: Int) throws -> Double {
        var wire = XenStoreBenchRequests()
        func loop(_ n: Int) throws {
            for _ in 0..<n {
                let w = wire.write()
                try XenStoreBenchRequests.checkWriteReply(client.call(w), to: w)
                let r = wire.read()
                try XenStoreBenchRequests.checkReadReply(client.call(r), to: r)
            }
        }
        try loop(warmUpRounds)
        let t0 = Host.monotonicNanoseconds()
        try loop(rounds)
        return rate(ops: 2 * rounds, since: t0)
    }

    /// PetrelOS's `test=bench-xenstore`: operations per second as the guest timed them.
    func ringRate() throws -> Double {
        let out = try GuestBench(kernelPath: kernelPath).run("test=bench-xenstore n=\(ringRounds)")
        let v = try out.values("xenstore-ring")
        guard let ops = v["ops"], ops > 0, let ns = v["ns"], ns > 0 else {
            throw ToolstackError.engine("malformed 'bench xenstore-ring' line in:\n\(out.text)")
        }
        guard out.text.contains("PASS bench-xenstore") else {
            throw ToolstackError.engine("bench-xenstore guest failed:\n\(out.text)")
        }
        return ops / (ns / 1e9)
    }

    static func rate(ops: Int, since t0: UInt64) -> Double {
        Double(ops) / (Double(Host.monotonicNanoseconds() - t0) / 1e9)
    }
}

/// The benchmark's requests (dom0's `/local/domain/0/bench`) and the checks on their replies.
struct XenStoreBenchRequests {
    static let path = Array((XenStored.domainPath(.control) + "/bench").utf8)
    static let ok = Array("OK".utf8) + [0]
    private var nextID: UInt32 = 1

    mutating func write() -> XenStoreMessage {
        defer { nextID &+= 1 }
        return XenStoreMessage(.write, requestID: nextID, payload: Self.path + [0] + XenStoreBench.value)
    }

    mutating func read() -> XenStoreMessage {
        defer { nextID &+= 1 }
        return XenStoreMessage(.read, requestID: nextID, payload: Self.path + [0])
    }

    /// XS_WRITE's reply: "OK\0", same req_id.
    static func checkWriteReply(_ m: XenStoreMessage, to request: XenStoreMessage) throws {
        guard m.type == .write, m.requestID == request.requestID, m.payload == ok else {
            throw ToolstackError.engine("xenstore bench: unexpected reply to XS_WRITE: \(m)")
        }
    }

    /// XS_READ's reply: the value written, same req_id.
    static func checkReadReply(_ m: XenStoreMessage, to request: XenStoreMessage) throws {
        guard m.type == .read, m.requestID == request.requestID, m.payload == XenStoreBench.value else {
            throw ToolstackError.engine("xenstore bench: unexpected reply to XS_READ: \(m)")
        }
    }
}

/// A minimal synchronous xs_wire client over a unix socket (libxenstore's shape): one request,
/// then its reply; watch events that arrive in between are skipped. Not thread-safe.
final class XenStoreSocketClient {
    private let connection: UnixConnection
    private var reader = XenStoreFrameReader()

    init(path: String) throws {
        do { connection = try UnixConnection.connect(path: path) } catch {
            throw ToolstackError.engine("cannot connect to xenstored at \(path): \(error)")
        }
    }

    /// Sends `request` and returns the reply carrying its req_id (XS_ERROR included).
    func call(_ request: XenStoreMessage) throws -> XenStoreMessage {
        do { try connection.write(request.encoded) } catch {
            throw ToolstackError.engine("xenstored socket: \(error)")
        }
        while true {
            while let frame = reader.next() {
                guard case .message(let m) = frame else { throw ToolstackError.engine("xenstored sent an oversized message") }
                if m.type == .watchEvent { continue }
                guard m.requestID == request.requestID else { continue }
                return m
            }
            let bytes: [UInt8]
            do { bytes = try connection.read(max: 4096 + XenStoreMessage.headerSize) } catch {
                throw ToolstackError.engine("xenstored socket: \(error)")
            }
            guard !bytes.isEmpty else { throw ToolstackError.engine("xenstored closed the socket") }
            reader.append(bytes)
        }
    }

    func close() { connection.close() }
}

/// One reply handed from xenstored's callback (under its lock) to the caller that sent the
/// request: in the in-process client the reply is delivered inside `send`, so a plain
/// mutex-guarded slot suffices.
private final class ReplyBox: Sendable {
    private let slot = Mutex<XenStoreMessage?>(nil)
    func put(_ m: XenStoreMessage) { slot.withLock { $0 = m } }
    func take() throws -> XenStoreMessage {
        guard let m = slot.withLock({ m -> XenStoreMessage? in defer { m = nil }; return m }) else {
            throw ToolstackError.engine("in-process xenstore client: no reply")
        }
        return m
    }
}
