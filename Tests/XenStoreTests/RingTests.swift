import Testing
import XenABI
@testable import XenStore

/// A guest on the other side of an in-memory ring: writes requests, kicks xenstored, reads replies.
struct RingGuest {
    let ring: XenStoreMemoryRing
    let conn: XenStoreRingConnection
    var reader = XenStoreFrameReader()

    /// Sends a request (kicking xenstored as often as needed to push it all) and returns the
    /// messages that came back.
    mutating func roundTrip(_ m: XenStoreMessage) -> [XenStoreMessage] {
        var bytes = m.encoded[...]
        var got: [XenStoreMessage] = []
        var stalled = 0
        repeat {
            let n = ring.guestWrite(Array(bytes))
            bytes = bytes.dropFirst(n)
            conn.handleEvent()
            got += receive()
            stalled = n == 0 ? stalled + 1 : 0
        } while !bytes.isEmpty && stalled < 3
        return got
    }

    /// Reads whatever is in the response ring, kicking xenstored after consuming, until it is quiet.
    mutating func receive() -> [XenStoreMessage] {
        var got: [XenStoreMessage] = []
        while true {
            let bytes = ring.guestRead()
            if bytes.isEmpty { break }
            reader.append(bytes)
            conn.handleEvent()   // space freed: xenstored continues writing
        }
        while case .message(let m)? = reader.next() { got.append(m) }
        return got
    }
}

@Suite struct RingTests {
    func setUp(domid: UInt16 = 5, config: XenStoreConfig = XenStoreConfig()) throws -> (XenStored, RingGuest) {
        let d = try daemonWithGuests([], config: config)
        try d.createDomainHome(DomainID(domid), name: "ringguest")
        let ring = XenStoreMemoryRing()
        let conn = try #require(try d.introduceDomain(DomainID(domid), gfn: GFN(0xFEFFF), port: EvtchnPort(3), ring: ring))
        return (d, RingGuest(ring: ring, conn: conn))
    }

    @Test func indexArithmetic() {
        #expect(XenStoreRingIndex.mask(1024) == 0 && XenStoreRingIndex.mask(1023) == 1023 && XenStoreRingIndex.mask(.max) == 1023)
        #expect(XenStoreRingIndex.isValid(consumer: 10, producer: 1034))
        #expect(!XenStoreRingIndex.isValid(consumer: 10, producer: 1035))
        #expect(!XenStoreRingIndex.isValid(consumer: 11, producer: 10))
        #expect(XenStoreRingIndex.isValid(consumer: .max - 5, producer: 10))               // wrapped
        #expect(XenStoreRingIndex.inputChunk(consumer: 1000, producer: 1100) == (1000, 24))
        #expect(XenStoreRingIndex.inputChunk(consumer: .max - 1, producer: 5) == (1022, 2))
        #expect(XenStoreRingIndex.outputChunk(consumer: 0, producer: 1000) == (1000, 24))
        #expect(XenStoreRingIndex.outputChunk(consumer: 500, producer: 1000) == (1000, 24))
        #expect(XenStoreRingIndex.outputChunk(consumer: 1000, producer: 1030) == (6, 994))
        #expect(XenStoreRingIndex.outputChunk(consumer: 0, producer: 1024).length == 0)
        #expect(XenStoreRingLayout.size == 2076 && XenStoreRingLayout.requestConsumer == 2048)
    }

    @Test func requestAndReplyOverTheRing() throws {
        var (d, g) = try setUp()
        #expect(g.ring.readWord(at: XenStoreRingLayout.serverFeatures) == XenStoreRingLayout.featureError)
        let w = g.roundTrip(XenStoreMessage(.write, requestID: 1, payload: Array("data/k\0hello".utf8)))
        #expect(w == [XenStoreMessage(.write, requestID: 1, payload: Array("OK\0".utf8))])
        #expect(try d.readString("/local/domain/5/data/k") == "hello")
        let r = g.roundTrip(XenStoreMessage(.read, requestID: 2, strings: ["data/k"]))
        #expect(r.first?.payload == Array("hello".utf8))
        // The guest is unprivileged over its ring.
        let e = g.roundTrip(XenStoreMessage(.read, requestID: 3, strings: ["/tool/xenstored"]))
        #expect(e.first?.type == .error && e.first?.payload == XenStoreError.EACCES.wirePayload)
        #expect(g.ring.notifications > 0)
    }

    @Test func indexesWrapAround2To32() throws {
        var (d, g) = try setUp()
        defer { withExtendedLifetime(d) {} }
        // Move all four indexes near 2^32 (as a long-running guest would be), consistently.
        let start = UInt32.max - 40
        for f in [XenStoreRingLayout.requestConsumer, XenStoreRingLayout.requestProducer,
                  XenStoreRingLayout.responseConsumer, XenStoreRingLayout.responseProducer] {
            g.ring.writeWord(at: f, start)
        }
        for i in 0..<50 {
            let value = String(repeating: "v", count: 100 + i * 7)
            let w = g.roundTrip(XenStoreMessage(.write, requestID: UInt32(i), payload: Array("data/k\0\(value)".utf8)))
            #expect(w.first?.type == .write)
            let r = g.roundTrip(XenStoreMessage(.read, requestID: UInt32(i), strings: ["data/k"]))
            #expect(r.first?.payload == Array(value.utf8))
        }
        #expect(g.ring.readWord(at: XenStoreRingLayout.requestProducer) < start)   // wrapped
    }

    @Test func repliesLargerThanTheRing() throws {
        var (d, g) = try setUp()
        let big = [UInt8]((0..<4000).map { UInt8(truncatingIfNeeded: $0) })
        try d.write("/local/domain/5/data/big", big)
        let r = g.roundTrip(XenStoreMessage(.read, requestID: 9, strings: ["data/big"]))
        #expect(r.count == 1 && r.first?.payload == big)
        // A request larger than the ring goes in pieces too.
        let w = g.roundTrip(XenStoreMessage(.write, requestID: 10, payload: Array("data/w\0".utf8) + [UInt8](repeating: 0x61, count: 2000)))
        #expect(w.first?.type == .write)
    }

    @Test func watchEventsReachTheGuest() throws {
        var (d, g) = try setUp()
        let r = g.roundTrip(XenStoreMessage(.watch, requestID: 1, strings: ["data", "tok"]))
        #expect(r.map(\.type) == [.watch, .watchEvent])
        #expect(r.last?.stringValues == ["data", "tok"])
        let before = g.ring.notifications
        try d.write("/local/domain/5/data/x", "1")
        #expect(g.ring.notifications > before)                     // the guest was signalled
        #expect(g.receive().map(\.stringValues) == [["data/x", "tok"]])
    }

    @Test func corruptIndexesStopTheConnection() throws {
        var (d, g) = try setUp()
        g.ring.writeWord(at: XenStoreRingLayout.requestProducer, 5000)   // more than a ring ahead
        g.conn.handleEvent()
        #expect(g.ring.readWord(at: XenStoreRingLayout.error) == XenStoreRingLayout.errorRingIndex)
        // No longer served; other clients are unaffected.
        g.ring.writeWord(at: XenStoreRingLayout.requestProducer, 0)
        #expect(g.roundTrip(XenStoreMessage(.read, strings: ["data"])).isEmpty)
        try d.write("/ok", "1")
        // Introducing it again resets the ring and serves it.
        _ = try d.introduceDomain(DomainID(5), gfn: GFN(0xFEFFF), port: EvtchnPort(3))
        #expect(g.ring.readWord(at: XenStoreRingLayout.error) == XenStoreRingLayout.errorNone)
        g.reader = XenStoreFrameReader()
        #expect(g.roundTrip(XenStoreMessage(.read, strings: ["data"])).first?.type == .read)
    }

    @Test func oversizedPayloadIsAProtocolError() throws {
        let (d, g) = try setUp()
        defer { withExtendedLifetime(d) {} }
        g.ring.guestWrite(XenStoreMessage(.read).encoded.prefix(12) + [0xFF, 0xFF, 0, 0])
        g.conn.handleEvent()
        #expect(g.ring.readWord(at: XenStoreRingLayout.error) == XenStoreRingLayout.errorProtocol)
    }

    @Test func garbageOnTheRingNeverTraps() throws {
        var rng = SeededGenerator(seed: 7)
        let (d, g) = try setUp()
        for _ in 0..<300 {
            let n = Int(rng.next(upperBound: 200))
            g.ring.guestWrite((0..<n).map { _ in UInt8(rng.next(upperBound: 256)) })
            if rng.next(upperBound: 10) == 0 {
                g.ring.writeWord(at: XenStoreRingLayout.responseConsumer, UInt32(truncatingIfNeeded: rng.next()))
            }
            g.conn.handleEvent()
            _ = g.ring.guestRead()
            if g.ring.readWord(at: XenStoreRingLayout.error) != 0 {
                _ = try d.introduceDomain(DomainID(5), gfn: GFN(0xFEFFF), port: EvtchnPort(3))
            }
        }
        try d.write("/still", "alive")
    }

    @Test func unconsumedRepliesStopReading() throws {
        var config = XenStoreConfig()
        config.maxOutstandingRequests = 3
        var (d, g) = try setUp(config: config)
        defer { withExtendedLifetime(d) {} }
        // Requests whose replies (2 KiB each) the guest does not consume: after 3 queued replies
        // xenstored stops taking requests from the ring.
        let big = String(repeating: "z", count: 2000)
        #expect(g.roundTrip(XenStoreMessage(.write, payload: Array("data/b\0\(big)".utf8))).first?.type == .write)
        let msg = XenStoreMessage(.read, strings: ["data/b"]).encoded
        for _ in 0..<6 { g.ring.guestWrite(msg) }
        g.conn.handleEvent()
        let cons = g.ring.readWord(at: XenStoreRingLayout.requestConsumer)
        let prod = g.ring.readWord(at: XenStoreRingLayout.requestProducer)
        #expect(prod &- cons > 0)                 // left unread
        // Consuming lets it continue.
        var reader = XenStoreFrameReader()
        var replies = 0
        for _ in 0..<50 {
            reader.append(g.ring.guestRead())
            g.conn.handleEvent()
            while case .message? = reader.next() { replies += 1 }
        }
        #expect(replies == 6)
    }

    @Test func releaseStopsTheRing() throws {
        var (d, g) = try setUp()
        try d.releaseDomain(DomainID(5))
        #expect(d.ringConnection(for: DomainID(5)) == nil)
        #expect(g.roundTrip(XenStoreMessage(.read, strings: ["data"])).isEmpty)
    }

    @Test func reconnectRequestIsCompletedOnIntroduce() throws {
        let (d, g) = try setUp()
        g.ring.writeWord(at: XenStoreRingLayout.connection, XenStoreRingLayout.reconnect)
        _ = try d.introduceDomain(DomainID(5), gfn: GFN(0xFEFFF), port: EvtchnPort(3))
        #expect(g.ring.readWord(at: XenStoreRingLayout.connection) == XenStoreRingLayout.connected)
    }
}
