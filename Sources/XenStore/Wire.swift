/// `enum xsd_sockmsg_type` (`xen/io/xs_wire.h`).
public enum XenStoreMessageType: UInt32, CaseIterable, Sendable {
    case control = 0            // XS_CONTROL (alias XS_DEBUG)
    case directory = 1
    case read = 2
    case getPerms = 3
    case watch = 4
    case unwatch = 5
    case transactionStart = 6
    case transactionEnd = 7
    case introduce = 8
    case release = 9
    case getDomainPath = 10
    case write = 11
    case mkdir = 12
    case rm = 13
    case setPerms = 14
    case watchEvent = 15
    case error = 16
    case isDomainIntroduced = 17
    case resume = 18
    case setTarget = 19
    // 20 was XS_RESTRICT, removed.
    case resetWatches = 21
    case directoryPart = 22

    /// `XS_TYPE_COUNT`.
    public static let count: UInt32 = 23
    /// `XS_INVALID`: guaranteed never to be a valid type.
    public static let invalidRaw: UInt32 = 0xFFFF
}

/// One `struct xsd_sockmsg` and its payload: four little-endian `uint32_t` (type, req_id, tx_id,
/// len) then `len` bytes, `len ≤ XENSTORE_PAYLOAD_MAX`. Replies echo the request's `req_id` and
/// `tx_id`; watch events carry zeros.
public struct XenStoreMessage: Hashable, Sendable, CustomStringConvertible {
    public static let headerSize = 16

    /// The type as sent; may name no known type (answered with `ENOSYS`).
    public var rawType: UInt32
    public var requestID: UInt32
    public var transactionID: UInt32
    public var payload: [UInt8]

    public init(rawType: UInt32, requestID: UInt32 = 0, transactionID: UInt32 = 0, payload: [UInt8] = []) {
        self.rawType = rawType
        self.requestID = requestID
        self.transactionID = transactionID
        self.payload = payload
    }

    public init(_ type: XenStoreMessageType, requestID: UInt32 = 0, transactionID: UInt32 = 0,
                payload: [UInt8] = []) {
        self.init(rawType: type.rawValue, requestID: requestID, transactionID: transactionID, payload: payload)
    }

    /// A message whose payload is `strings`, each NUL-terminated (the common request shape).
    public init(_ type: XenStoreMessageType, requestID: UInt32 = 0, transactionID: UInt32 = 0,
                strings: [String]) {
        self.init(type, requestID: requestID, transactionID: transactionID,
                  payload: strings.flatMap { Array($0.utf8) + [0] })
    }

    public var type: XenStoreMessageType? { XenStoreMessageType(rawValue: rawType) }

    /// Header and payload as sent on a socket or ring.
    public var encoded: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Self.headerSize + payload.count)
        for field in [rawType, requestID, transactionID, UInt32(truncatingIfNeeded: payload.count)] {
            for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: field >> UInt32(shift))) }
        }
        out.append(contentsOf: payload)
        return out
    }

    /// Decodes a header: (type, req_id, tx_id, len). `bytes` must hold at least 16 bytes.
    public static func decodeHeader(_ bytes: some Collection<UInt8>) -> (rawType: UInt32, requestID: UInt32,
                                                                           transactionID: UInt32, length: UInt32) {
        precondition(bytes.count >= headerSize, "xsd_sockmsg header is 16 bytes")
        var it = bytes.makeIterator()
        func next() -> UInt32 {
            var v: UInt32 = 0
            for shift in stride(from: 0, to: 32, by: 8) { v |= UInt32(it.next()!) << UInt32(shift) }
            return v
        }
        return (next(), next(), next(), next())
    }

    /// The payload's NUL-terminated strings, as Xen's `get_strings` sees them: bytes after the
    /// last NUL are not a string.
    public var strings: [[UInt8]] { Self.splitStrings(payload) }

    /// The payload's strings decoded as UTF-8 (invalid sequences repaired); for tests and logs.
    public var stringValues: [String] { strings.map { String(decoding: $0, as: UTF8.self) } }

    static func splitStrings(_ bytes: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var start = 0
        for (i, b) in bytes.enumerated() where b == 0 {
            out.append(Array(bytes[start..<i]))
            start = i + 1
        }
        return out
    }

    /// Xen's `onearg`: the payload is exactly one string, its single NUL at the end.
    var oneArgument: [UInt8]? {
        guard let nul = payload.firstIndex(of: 0), nul == payload.count - 1 else { return nil }
        return Array(payload[..<nul])
    }

    /// Number of NULs in the payload (`xenstore_count_strings`).
    var nulCount: Int { payload.reduce(0) { $0 + ($1 == 0 ? 1 : 0) } }

    public var description: String {
        let name = type.map { "\($0)" } ?? "type\(rawType)"
        let text = payload.map { $0 == 0 ? "\\0" : ($0 >= 0x20 && $0 < 0x7F ? String(UnicodeScalar($0)) : "?") }
        return "\(name) req=\(requestID) tx=\(transactionID) \"\(text.joined())\""
    }
}

/// Xen's `atoi` on a wire argument: optional leading whitespace and sign, then decimal digits up
/// to the first non-digit; no digits gives 0. Wraps like C's conversion to `unsigned int`.
func xenAtoi(_ bytes: [UInt8]) -> UInt32 {
    var i = bytes.startIndex
    while i < bytes.endIndex, bytes[i] == 0x20 || (0x09...0x0D).contains(bytes[i]) { i += 1 }
    var negative = false
    if i < bytes.endIndex, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
        negative = bytes[i] == UInt8(ascii: "-"); i += 1
    }
    var v: UInt32 = 0
    while i < bytes.endIndex, (0x30...0x39).contains(bytes[i]) {
        v = v &* 10 &+ UInt32(bytes[i] - 0x30); i += 1
    }
    return negative ? 0 &- v : v
}

/// Incremental framing of a byte stream into messages, as Xen's `handle_input` does: a header,
/// then exactly `len` payload bytes. A header announcing more than `XENSTORE_PAYLOAD_MAX` is a
/// protocol violation: the connection is dropped (socket) or marked `XENSTORE_ERROR_PROTO` (ring).
public struct XenStoreFrameReader: Sendable {
    public enum Frame: Hashable, Sendable {
        case message(XenStoreMessage)
        /// A header announced this payload length (> 4096). The stream cannot be resynchronised.
        case oversized(UInt32)
    }

    private var header: [UInt8] = []
    private var pending: (rawType: UInt32, requestID: UInt32, transactionID: UInt32, length: Int)?
    private var payload: [UInt8] = []
    private var frames: [Frame] = []
    private var broken = false

    public init() {}

    /// Bytes still needed to finish the current header or payload: a ring reader takes at most
    /// this many, so it never consumes past the message it is assembling.
    public var bytesNeeded: Int {
        if broken { return 0 }
        if let p = pending { return p.length - payload.count }
        return XenStoreMessage.headerSize - header.count
    }

    /// Whether an oversized header was seen; nothing further is framed.
    public var isBroken: Bool { broken }

    /// Whether a message has started but is incomplete.
    public var isMidMessage: Bool { !header.isEmpty || pending != nil }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        var rest = bytes[...]
        while !rest.isEmpty, !broken {
            if let p = pending {
                let take = min(p.length - payload.count, rest.count)
                payload.append(contentsOf: rest.prefix(take))
                rest = rest.dropFirst(take)
            } else {
                let take = min(XenStoreMessage.headerSize - header.count, rest.count)
                header.append(contentsOf: rest.prefix(take))
                rest = rest.dropFirst(take)
                if header.count == XenStoreMessage.headerSize {
                    let h = XenStoreMessage.decodeHeader(header)
                    header.removeAll(keepingCapacity: true)
                    if h.length > UInt32(XenStoreLimits.payloadMax) {
                        broken = true
                        frames.append(.oversized(h.length))
                        return
                    }
                    pending = (h.rawType, h.requestID, h.transactionID, Int(h.length))
                }
            }
            if let p = pending, payload.count == p.length {
                frames.append(.message(XenStoreMessage(rawType: p.rawType, requestID: p.requestID,
                                                       transactionID: p.transactionID, payload: payload)))
                payload.removeAll(keepingCapacity: true)
                pending = nil
            }
        }
    }

    /// The next complete frame, in order.
    public mutating func next() -> Frame? {
        frames.isEmpty ? nil : frames.removeFirst()
    }

    /// Forgets partial input (a ring reset).
    public mutating func reset() { self = XenStoreFrameReader() }
}
