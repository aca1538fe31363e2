import Testing
import XenABI
@testable import XenStore

@Suite struct WireTests {
    @Test func headerLayoutAndRoundTrip() {
        let m = XenStoreMessage(.write, requestID: 0x01020304, transactionID: 7, strings: ["/a", "b"])
        let bytes = m.encoded
        #expect(bytes.count == 16 + 5)
        #expect(Array(bytes[0..<16]) == [11, 0, 0, 0, 4, 3, 2, 1, 7, 0, 0, 0, 5, 0, 0, 0])
        var r = XenStoreFrameReader()
        r.append(bytes)
        #expect(r.next() == .message(m))
        #expect(r.next() == nil)
        #expect(XenStoreMessageType.count == 23)
        #expect(XenStoreMessageType.resetWatches.rawValue == 21 && XenStoreMessageType.directoryPart.rawValue == 22)
    }

    @Test func errorTableMatchesXsWire() {
        #expect(XenStoreError.allCases.map(\.rawValue) == [
            "EINVAL", "EACCES", "EEXIST", "EISDIR", "ENOENT", "ENOMEM", "ENOSPC", "EIO", "ENOTEMPTY", "ENOSYS",
            "EROFS", "EBUSY", "EAGAIN", "EISCONN", "E2BIG", "EPERM"])
        #expect(XenStoreError.ENOENT.wirePayload == Array("ENOENT\0".utf8))
        #expect(XenStoreError.EAGAIN.xenErrno == .EAGAIN)
        #expect(XenStoreError(wirePayload: Array("E2BIG\0".utf8)) == .E2BIG)
    }

    @Test func framingByteByByte() {
        let msgs = [XenStoreMessage(.read, requestID: 1, strings: ["/x"]),
                    XenStoreMessage(.transactionStart, requestID: 2, payload: []),
                    XenStoreMessage(.write, requestID: 3, payload: [UInt8](repeating: 0x41, count: 4096))]
        var r = XenStoreFrameReader()
        var out: [XenStoreMessage] = []
        for b in msgs.flatMap(\.encoded) {
            #expect(r.bytesNeeded > 0)
            r.append([b])
            while case .message(let m)? = r.next() { out.append(m) }
        }
        #expect(out == msgs)
        #expect(!r.isMidMessage)
    }

    @Test func oversizedHeaderBreaksTheStream() {
        var r = XenStoreFrameReader()
        r.append(XenStoreMessage(.read).encoded.prefix(12) + [0x01, 0x10, 0, 0])   // len 4097
        #expect(r.next() == .oversized(4097))
        #expect(r.isBroken && r.bytesNeeded == 0)
        r.append([1, 2, 3])
        #expect(r.next() == nil)
    }

    @Test func unknownAndReplyOnlyTypesGetENOSYS() {
        let c = TestClient(XenStored.quiet())
        for raw: UInt32 in [15, 16, 20, 23, 999, 0xFFFF, .max] {
            let reply = c.send(XenStoreMessage(rawType: raw, requestID: 42, transactionID: 0, payload: [0]))
            #expect(reply?.type == .error && reply?.requestID == 42)
            #expect(reply?.payload == XenStoreError.ENOSYS.wirePayload)
        }
    }

    @Test func repliesEchoIDs() {
        let d = XenStored.quiet()
        let c = TestClient(d)
        let tx = c.startTransaction()
        let reply = c.send(XenStoreMessage(.read, requestID: 0xDEADBEEF, transactionID: tx, strings: ["/tool"]))
        #expect(reply?.requestID == 0xDEADBEEF && reply?.transactionID == tx && reply?.type == .read)
        let err = c.send(XenStoreMessage(.read, requestID: 5, transactionID: 77, strings: ["/tool"]))
        #expect(err?.type == .error && err?.requestID == 5 && err?.transactionID == 77)
    }

    @Test func malformedPayloads() {
        let c = TestClient(XenStored.quiet())
        #expect(c.call(.read, payload: []).failure == .EINVAL)
        #expect(c.call(.write, payload: Array("/no-nul".utf8)).failure == .EINVAL)
        #expect(c.call(.mkdir, payload: [0]).failure == .EINVAL)
        #expect(c.call(.watch, payload: Array("/a\0".utf8)).failure == .EINVAL)
        #expect(c.call(.getPerms, payload: Array("/a\0b\0".utf8)).failure == .EINVAL)
        #expect(c.call(.transactionEnd, payload: Array("T".utf8), tx: 1).failure == .ENOENT)
        #expect(c.call(.directoryPart, payload: Array("/\0".utf8)).failure == .EINVAL)
        #expect(c.call(.getDomainPath, payload: Array("12".utf8)).failure == .EINVAL)
        #expect(c.call(.getDomainPath, ["junk"]).value == Array("/local/domain/0\0".utf8))   // atoi
    }

    /// Random messages from random connections never trap, and every request gets exactly one
    /// reply of its own type or an error.
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func randomRequestsNeverTrap(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let d = try daemonWithGuests([5, 6])
        let clients = [TestClient(d), TestClient(d, as: DomainID(5)), TestClient(d, as: DomainID(6))]
        let words = ["/", "/a", "/a/b", "data", "data/x", "@introduceDomain", "@releaseDomain", "/local/domain/5",
                     "T", "F", "0", "5", "r5", "n0", "b6", "w0", "", "tok", "print", "//", "a/", "1"]
        for i in 0..<4000 {
            let raw = rng.next(upperBound: 10) == 0 ? UInt32(rng.next(upperBound: 40)) : UInt32(rng.next(upperBound: 23))
            var payload: [UInt8] = []
            if rng.next(upperBound: 4) == 0 {
                payload = (0..<Int(rng.next(upperBound: 64))).map { _ in UInt8(rng.next(upperBound: 256)) }
            } else {
                for _ in 0..<Int(rng.next(upperBound: 4)) {
                    payload += Array(words[Int(rng.next(upperBound: UInt64(words.count)))].utf8)
                    if rng.next(upperBound: 8) != 0 { payload.append(0) }
                }
            }
            let tx = rng.next(upperBound: 3) == 0 ? UInt32(rng.next(upperBound: 4)) : 0
            let c = clients[Int(rng.next(upperBound: UInt64(clients.count)))]
            let reply = c.send(XenStoreMessage(rawType: raw, requestID: UInt32(i), transactionID: tx, payload: payload))
            #expect(reply != nil)
            #expect(reply?.requestID == UInt32(i))
            #expect(reply?.type == .error || reply?.rawType == raw)
            #expect((reply?.payload.count ?? 0) <= XenStoreLimits.payloadMax)
        }
        // Still consistent afterwards.
        try d.write("/after", "fine")
        #expect(try d.readString("/after") == "fine")
    }

    /// Random bytes through the framer never trap; oversized headers stop it.
    @Test func randomBytesThroughTheFramer() {
        var rng = SeededGenerator(seed: 99)
        for _ in 0..<200 {
            var r = XenStoreFrameReader()
            for _ in 0..<20 {
                r.append((0..<Int(rng.next(upperBound: 300))).map { _ in UInt8(rng.next(upperBound: 256)) })
                while let f = r.next() {
                    if case .message(let m) = f { #expect(m.payload.count <= XenStoreLimits.payloadMax) }
                }
            }
        }
    }
}

extension RandomNumberGenerator {
    mutating func next(upperBound: UInt64) -> UInt64 { next() % upperBound }
}
