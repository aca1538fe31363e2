import Synchronization

/// An interface page in ordinary memory, with the guest's side of the protocol (what a
/// front-end such as Linux's xenbus does): a test double for the ring transport, for this
/// module's tests and for anyone wiring xenstored to a domain without a real guest.
///
/// Locking: one internal lock per page; every method is atomic with respect to the others.
public final class XenStoreMemoryRing: XenStoreRingAccess, @unchecked Sendable {
    private struct State {
        var page = [UInt8](repeating: 0, count: 4096)
        var notifications = 0
    }
    private let state = Mutex(State())
    private let onNotify: (@Sendable () -> Void)?

    /// - Parameter onNotify: called (without the page's lock) when xenstored signals the guest.
    public init(onNotify: (@Sendable () -> Void)? = nil) {
        self.onNotify = onNotify
    }

    // MARK: XenStoreRingAccess (xenstored's side)

    public func readBytes(at offset: Int, count: Int) -> [UInt8] {
        state.withLock { Array($0.page[offset..<(offset + count)]) }
    }

    public func writeBytes(at offset: Int, _ bytes: [UInt8]) {
        state.withLock { $0.page.replaceSubrange(offset..<(offset + bytes.count), with: bytes) }
    }

    public func readWord(at offset: Int) -> UInt32 {
        state.withLock { s in
            (0..<4).reduce(UInt32(0)) { $0 | UInt32(s.page[offset + $1]) << UInt32(8 * $1) }
        }
    }

    public func writeWord(at offset: Int, _ value: UInt32) {
        state.withLock { s in
            for i in 0..<4 { s.page[offset + i] = UInt8(truncatingIfNeeded: value >> UInt32(8 * i)) }
        }
    }

    public func notify() {
        state.withLock { $0.notifications += 1 }
        onNotify?()
    }

    /// How many times xenstored signalled the guest.
    public var notifications: Int { state.withLock { $0.notifications } }

    // MARK: The guest's side

    /// Writes as much of `bytes` into the request ring as fits (as a guest's `xb_write`),
    /// advancing `req_prod`. Returns the number of bytes written (none if the indexes are corrupt).
    @discardableResult
    public func guestWrite(_ bytes: [UInt8]) -> Int {
        var written = 0
        while written < bytes.count {
            let cons = readWord(at: XenStoreRingLayout.requestConsumer)
            let prod = readWord(at: XenStoreRingLayout.requestProducer)
            guard XenStoreRingIndex.isValid(consumer: cons, producer: prod) else { break }
            let chunk = XenStoreRingIndex.outputChunk(consumer: cons, producer: prod)
            let n = min(chunk.length, bytes.count - written)
            if n <= 0 { break }
            writeBytes(at: XenStoreRingLayout.requestRing + chunk.offset, Array(bytes[written..<(written + n)]))
            writeWord(at: XenStoreRingLayout.requestProducer, prod &+ UInt32(n))
            written += n
        }
        return written
    }

    /// Reads everything in the response ring (as a guest's `xb_read`), advancing `rsp_cons`;
    /// nothing if the indexes are corrupt.
    public func guestRead() -> [UInt8] {
        var out: [UInt8] = []
        while true {
            let cons = readWord(at: XenStoreRingLayout.responseConsumer)
            let prod = readWord(at: XenStoreRingLayout.responseProducer)
            guard XenStoreRingIndex.isValid(consumer: cons, producer: prod) else { break }
            let chunk = XenStoreRingIndex.inputChunk(consumer: cons, producer: prod)
            if chunk.length <= 0 { break }
            out += readBytes(at: XenStoreRingLayout.responseRing + chunk.offset, count: chunk.length)
            writeWord(at: XenStoreRingLayout.responseConsumer, cons &+ UInt32(chunk.length))
        }
        return out
    }
}
