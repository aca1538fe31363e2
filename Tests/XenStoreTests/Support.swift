import Synchronization
import XenABI
@testable import XenStore

/// An in-process wire client: sends a request, collects its reply (processing is synchronous)
/// and keeps watch events apart.
final class Locked<T: Sendable>: Sendable {
    let m: Mutex<T>
    init(_ v: T) { m = Mutex(v) }
    func withLock<R: Sendable>(_ body: (inout T) -> R) -> R { m.withLock { body(&$0) } }
}

final class TestClient: Sendable {
    private let inbox = Locked<[XenStoreMessage]>([])
    private let pendingEvents = Mutex<[XenStoreMessage]>([])
    private let requestID = Mutex<UInt32>(0)
    let connection: XenStoreClientConnection

    init(_ daemon: XenStored, as domid: DomainID = .control) {
        let box = inbox
        connection = daemon.connect(as: domid) { m in box.withLock { $0.append(m) } }
    }

    /// Sends `message` and returns the reply (watch events are set aside).
    func send(_ message: XenStoreMessage) -> XenStoreMessage? {
        connection.send(message)
        let got = inbox.withLock { m in defer { m.removeAll() }; return m }
        pendingEvents.withLock { $0 += got.filter { $0.type == .watchEvent } }
        return got.last { $0.type != .watchEvent }
    }

    /// A request of strings; returns the payload or the error.
    func call(_ type: XenStoreMessageType, _ strings: [String], tx: UInt32 = 0) -> Result<[UInt8], XenStoreError> {
        call(type, payload: strings.flatMap { Array($0.utf8) + [0] }, tx: tx)
    }

    func call(_ type: XenStoreMessageType, payload: [UInt8], tx: UInt32 = 0) -> Result<[UInt8], XenStoreError> {
        let id = requestID.withLock { $0 += 1; return $0 }
        guard let reply = send(XenStoreMessage(type, requestID: id, transactionID: tx, payload: payload)) else {
            return .failure(.EIO)
        }
        precondition(reply.requestID == id && reply.transactionID == tx, "reply must echo req_id and tx_id")
        if reply.type == .error { return .failure(XenStoreError(wirePayload: reply.payload) ?? .EIO) }
        precondition(reply.type == type, "reply type must match the request")
        return .success(reply.payload)
    }

    /// The error of a call, or nil if it succeeded.
    func error(_ type: XenStoreMessageType, _ strings: [String], tx: UInt32 = 0) -> XenStoreError? {
        if case .failure(let e) = call(type, strings, tx: tx) { return e }
        return nil
    }

    func read(_ path: String, tx: UInt32 = 0) -> Result<String, XenStoreError> {
        call(.read, [path], tx: tx).map { String(decoding: $0, as: UTF8.self) }
    }

    func write(_ path: String, _ value: String, tx: UInt32 = 0) -> XenStoreError? {
        if case .failure(let e) = call(.write, payload: Array(path.utf8) + [0] + Array(value.utf8), tx: tx) { return e }
        return nil
    }

    func directory(_ path: String, tx: UInt32 = 0) -> Result<[String], XenStoreError> {
        call(.directory, [path], tx: tx).map { XenStoreMessage(.directory, payload: $0).stringValues }
    }

    func startTransaction() -> UInt32 {
        guard case .success(let p) = call(.transactionStart, [""]) else { return 0 }
        return UInt32(String(decoding: p.dropLast(), as: UTF8.self)) ?? 0
    }

    func endTransaction(_ tx: UInt32, commit: Bool = true) -> XenStoreError? {
        error(.transactionEnd, [commit ? "T" : "F"], tx: tx)
    }

    /// Watch events received so far, as (path, token); drains them.
    func events() -> [(path: String, token: String)] {
        let arrived = inbox.withLock { m in defer { m.removeAll() }; return m }
        pendingEvents.withLock { $0 += arrived.filter { $0.type == .watchEvent } }
        return pendingEvents.withLock { e in
            defer { e.removeAll() }
            return e.map { m in let s = m.stringValues; return (s[0], s.count > 1 ? s[1] : "") }
        }
    }

    func close() { connection.close() }
}

/// SplitMix64: a seeded generator, so random tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A daemon with guest domains introduced (no ring) and homes made as libxl does.
func daemonWithGuests(_ guests: [UInt16] = [5, 6], config: XenStoreConfig = XenStoreConfig()) throws -> XenStored {
    let d = XenStored.quiet(config: config)
    for g in guests {
        try d.createDomainHome(DomainID(g), name: "guest\(g)")
        try d.introduceDomain(DomainID(g), gfn: GFN(0x1000 + UInt64(g)), port: EvtchnPort(1))
    }
    return d
}

extension Result {
    var value: Success? { if case .success(let v) = self { v } else { nil } }
    var failure: Failure? { if case .failure(let e) = self { e } else { nil } }
}

import Logging

extension XenStored {
    /// A daemon that logs only errors, so test output stays readable.
    static func quiet(config: XenStoreConfig = XenStoreConfig()) -> XenStored {
        var logger = Logger(label: "petrel.xenstored.test")
        logger.logLevel = .error
        return XenStored(config: config, logger: logger)
    }
}
