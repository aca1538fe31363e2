import GuestMemory
import Hypervisor
import Logging
import Testing
import XenABI
import XenStore
@testable import Toolstack

/// Domains built as `petrel run` builds them (RAM, special pages, console, xenstore) on one
/// hypervisor and one xenstored, without an engine: tests act as the guest through its memory
/// and `EVTCHNOP_send`.
final class XenStoreTestWorld {
    let hypervisor = Hypervisor(services: HostOSServices())
    let xenstored: XenStored
    private(set) var domains: [Domain] = []
    static let ram: UInt64 = 4 << 20

    /// A world with its own xenstored, or sharing `xenstored` with another (as the daemon's
    /// domains share one).
    init(xenstored: XenStored? = nil) {
        // Quiet: the fuzz tests make it warn about every connection it drops.
        var logger = Logger(label: "test.xenstored")
        logger.logLevel = .critical
        self.xenstored = xenstored ?? XenStored(logger: logger)
    }

    func domain(_ name: String = "guest", vcpus: Int = 1, attach: Bool = true) throws -> Domain {
        let d = try hypervisor.createDomain(DomainConfig(name: name, memoryBytes: Self.ram, vcpus: vcpus))
        domains.append(d)
        try DomainLayout(ramBytes: Self.ram).populate(d.memory)
        try DomainDevices.attachConsole(to: d, sink: { _ in })
        if attach { try DomainDevices.attachXenStore(to: d, xenstored: xenstored) }
        return d
    }

    /// Removes every domain (stops their timer threads).
    func close() {
        for d in domains { hypervisor.removeDomain(d.id) }
        domains.removeAll()
    }
}

/// The guest's side of its xenstore page, through its memory (what a front-end's `xb_write`,
/// `xb_read` and EVTCHNOP_send do).
struct GuestXenStoreSide {
    let domain: Domain
    var page: GPA { DomainLayout.gfn(of: .xenstore).address }
    var port: EvtchnPort { EvtchnPort(UInt32(domain.params[HVMParam.storeEvtchn])) }

    func word(_ offset: Int) throws -> UInt32 { try domain.memory.load(UInt32.self, at: page.advanced(by: UInt64(offset))) }
    func setWord(_ offset: Int, _ v: UInt32) throws { try domain.memory.store(v, at: page.advanced(by: UInt64(offset))) }

    /// Puts `bytes` in the request ring as far as they fit; returns how many.
    @discardableResult
    func write(_ bytes: [UInt8]) throws -> Int {
        var done = 0
        while done < bytes.count {
            let cons = try word(XenStoreRingLayout.requestConsumer), prod = try word(XenStoreRingLayout.requestProducer)
            guard XenStoreRingIndex.isValid(consumer: cons, producer: prod) else { break }
            let chunk = XenStoreRingIndex.outputChunk(consumer: cons, producer: prod)
            let n = min(chunk.length, bytes.count - done)
            if n <= 0 { break }
            try domain.memory.write(Array(bytes[done..<(done + n)]),
                                    at: page.advanced(by: UInt64(XenStoreRingLayout.requestRing + chunk.offset)))
            try setWord(XenStoreRingLayout.requestProducer, prod &+ UInt32(n))
            done += n
        }
        return done
    }

    /// Takes everything in the response ring.
    func read() throws -> [UInt8] {
        var out: [UInt8] = []
        while true {
            let cons = try word(XenStoreRingLayout.responseConsumer), prod = try word(XenStoreRingLayout.responseProducer)
            guard XenStoreRingIndex.isValid(consumer: cons, producer: prod) else { break }
            let chunk = XenStoreRingIndex.inputChunk(consumer: cons, producer: prod)
            if chunk.length <= 0 { break }
            out += try domain.memory.read(at: page.advanced(by: UInt64(XenStoreRingLayout.responseRing + chunk.offset)),
                                          count: chunk.length)
            try setWord(XenStoreRingLayout.responseConsumer, cons &+ UInt32(chunk.length))
        }
        return out
    }

    /// EVTCHNOP_send on the xenstore port (xenstored serves the ring on this thread).
    func signal() throws { try domain.evtchn.send(port) }

    /// Sends `m` (signalling after each ring-full) and collects what comes back until `count`
    /// messages have arrived or nothing more does.
    func exchange(_ m: XenStoreMessage, expecting count: Int = 1) throws -> [XenStoreMessage] {
        var reader = XenStoreFrameReader()
        var bytes = m.encoded[...]
        var got: [XenStoreMessage] = []
        var idle = 0
        while idle < 3 {
            let n = try write(Array(bytes))
            bytes = bytes.dropFirst(n)
            try signal()
            let r = try read()
            reader.append(r)
            while case .message(let msg)? = reader.next() { got.append(msg) }
            if bytes.isEmpty && got.count >= count { break }
            idle = (n == 0 && r.isEmpty) ? idle + 1 : 0
        }
        return got
    }
}

@Suite struct GuestXenStoreRingTests {
    @Test func aRequestRoundTripsThroughTheGuestPage() throws {
        let w = XenStoreTestWorld()
        defer { w.close() }
        let d = try w.domain("roundtrip")
        let g = GuestXenStoreSide(domain: d)
        let replies = try g.exchange(XenStoreMessage(.read, requestID: 7, strings: ["name"]))
        #expect(replies.count == 1)
        #expect(replies.first?.type == .read)
        #expect(replies.first?.requestID == 7)
        #expect(replies.first?.payload == Array("roundtrip".utf8))
        // xenstored signalled the guest's port (deferred: this guest has no shared_info yet).
        #expect(d.evtchn.isPending(g.port))
        #expect(try g.word(XenStoreRingLayout.error) == XenStoreRingLayout.errorNone)
        #expect(try g.word(XenStoreRingLayout.serverFeatures) & XenStoreRingLayout.featureError != 0)
    }

    /// Requests and replies longer than the 1 KiB rings cross several wraps.
    @Test func messagesLargerThanTheRingCrossWraps() throws {
        let w = XenStoreTestWorld()
        defer { w.close() }
        let d = try w.domain()
        let g = GuestXenStoreSide(domain: d)
        let value = (0..<2000).map { UInt8(0x41 + $0 % 26) }
        let ack = try g.exchange(XenStoreMessage(.write, requestID: 1, payload: Array("data/big".utf8) + [0] + value))
        #expect(ack.first?.type == .write)
        let back = try g.exchange(XenStoreMessage(.read, requestID: 2, strings: ["data/big"]))
        #expect(back.first?.payload == value)
        #expect(try w.xenstored.read(XenStored.domainPath(d.id) + "/data/big") == value)
    }

    @Test func garbageIndexesDropOnlyThatGuestsConnection() throws {
        let w = XenStoreTestWorld()
        defer { w.close() }
        let bad = try w.domain("bad"), good = try w.domain("good")
        let b = GuestXenStoreSide(domain: bad), g = GuestXenStoreSide(domain: good)
        try b.setWord(XenStoreRingLayout.requestConsumer, 5)
        try b.setWord(XenStoreRingLayout.requestProducer, 5 + 2000)
        try b.signal()
        #expect(try b.word(XenStoreRingLayout.error) == XenStoreRingLayout.errorRingIndex)
        // No longer served, even with sane indexes again.
        try b.setWord(XenStoreRingLayout.requestConsumer, 0)
        try b.setWord(XenStoreRingLayout.requestProducer, 0)
        #expect(try b.exchange(XenStoreMessage(.read, requestID: 1, strings: ["name"])).isEmpty)
        // The other guest is unaffected.
        #expect(try g.exchange(XenStoreMessage(.read, requestID: 1, strings: ["name"])).first?.payload == Array("good".utf8))
        #expect(w.xenstored.isDomainIntroduced(bad.id))
    }

    /// Random pages and random indexes, served again and again: nothing traps, and the
    /// neighbour keeps working throughout.
    @Test func randomPagesNeverTrap() throws {
        let w = XenStoreTestWorld()
        defer { w.close() }
        let fuzzed = try w.domain("fuzzed"), good = try w.domain("good")
        let f = GuestXenStoreSide(domain: fuzzed), g = GuestXenStoreSide(domain: good)
        var rng = SplitMix(seed: 0x5EED)
        let gfn = DomainLayout.gfn(of: .xenstore)
        for i in 0..<300 {
            // Re-introducing resets the ring (indexes zero) and serves the guest again.
            _ = try w.xenstored.introduceDomain(fuzzed.id, gfn: gfn, port: f.port)
            var page = (0..<XenStoreRingLayout.size).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if i % 3 == 0 {
                // Plausible indexes, garbage contents: headers with random lengths and types.
                for off in [XenStoreRingLayout.requestConsumer, XenStoreRingLayout.responseConsumer,
                            XenStoreRingLayout.responseProducer] {
                    page.replaceSubrange(off..<(off + 4), with: [0, 0, 0, 0])
                }
                let prod = UInt32(rng.next() % 1025)
                page.replaceSubrange(XenStoreRingLayout.requestProducer..<(XenStoreRingLayout.requestProducer + 4),
                                     with: (0..<4).map { UInt8(truncatingIfNeeded: prod >> (8 * UInt32($0))) })
            }
            try fuzzed.memory.write(page, at: gfn.address)
            try f.signal()
            try f.signal()
            let error = try f.word(XenStoreRingLayout.error)
            #expect([XenStoreRingLayout.errorNone, XenStoreRingLayout.errorRingIndex, XenStoreRingLayout.errorProtocol]
                .contains(error) || error == UInt32(littleEndianBytes: page, at: XenStoreRingLayout.error))
        }
        let r = try g.exchange(XenStoreMessage(.read, requestID: 3, strings: ["name"]))
        #expect(r.first?.payload == Array("good".utf8))
    }

    /// The guest's page loses its memory: reads are zeros, writes vanish, and the index words
    /// read as an invalid pair so xenstored stops serving the ring.
    @Test func aPageWithNoMemoryBehindItStopsTheConnectionWithoutTrapping() throws {
        let w = XenStoreTestWorld()
        defer { w.close() }
        let d = try w.domain()
        let g = GuestXenStoreSide(domain: d)
        let ring = GuestXenStoreRing(domain: d, gfn: DomainLayout.gfn(of: .xenstore), port: g.port)
        try d.memory.removeRegion(at: DomainLayout.specialBase.address)
        #expect(ring.readBytes(at: 0, count: 16) == [UInt8](repeating: 0, count: 16))
        ring.writeBytes(at: 0, [1, 2, 3])
        ring.writeWord(at: XenStoreRingLayout.error, 9)
        let cons = ring.readWord(at: XenStoreRingLayout.requestConsumer)
        let prod = ring.readWord(at: XenStoreRingLayout.requestProducer)
        #expect(!XenStoreRingIndex.isValid(consumer: cons, producer: prod))
        #expect(!XenStoreRingIndex.isValid(consumer: ring.readWord(at: XenStoreRingLayout.responseConsumer),
                                           producer: ring.readWord(at: XenStoreRingLayout.responseProducer)))
        try g.signal()
        // The toolstack can still talk to xenstored about it, and release it.
        try w.xenstored.write(XenStored.domainPath(d.id) + "/control/shutdown", "poweroff")
        try w.xenstored.releaseDomain(d.id)
    }

    @Test func wordsAndBytesLandInTheGuestPage() throws {
        let w = XenStoreTestWorld()
        defer { w.close() }
        let d = try w.domain(attach: false)
        let gfn = DomainLayout.gfn(of: .xenstore)
        let ring = GuestXenStoreRing(domain: d, gfn: gfn, port: EvtchnPort(3))
        ring.writeWord(at: XenStoreRingLayout.responseProducer, 0xA1B2_C3D4)
        #expect(try d.memory.load(UInt32.self, at: gfn.address.advanced(by: UInt64(XenStoreRingLayout.responseProducer))) == 0xA1B2_C3D4)
        try d.memory.store(UInt32(77), at: gfn.address.advanced(by: UInt64(XenStoreRingLayout.requestProducer)))
        #expect(ring.readWord(at: XenStoreRingLayout.requestProducer) == 77)
        ring.writeBytes(at: XenStoreRingLayout.responseRing + 1020, [9, 8, 7, 6])
        #expect(ring.readBytes(at: XenStoreRingLayout.responseRing + 1020, count: 4) == [9, 8, 7, 6])
        // notify on a port that is not a backend port does nothing (and does not trap).
        ring.notify()
    }
}

/// A small deterministic generator (SplitMix64) for fuzzing.
struct SplitMix {
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

extension UInt32 {
    init(littleEndianBytes b: [UInt8], at i: Int) {
        self = UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
}
