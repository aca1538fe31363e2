// The shared ring of test=ringfront / test=ringback: two domains stream bytes to each other
// through pages the frontend grants to the backend.
//
// Pages (the frontend's RAM, granted writable to the backend as refs firstRef...):
//   page 0        control: magic, data pages per direction, the refs of every data page,
//                 and per direction a producer and a consumer index (free-running byte
//                 counts, each on a cache line of its own), and per side a `sleeping` flag;
//   pages 1...D   the front→back ring (D pages);
//   pages D+1...  the back→front ring (D pages).
// The backend maps the control page (ring-ref in xenstore), reads the data refs from it and
// maps those pages after it, so both sides see each ring as one contiguous buffer.
//
// Data moves in 16 KiB blocks, a whole number of which fill a ring. Every guest instruction
// costs about a microsecond on this host's KVM backend (string instructions about 2 us per
// iteration), so no side touches the data word by word in Swift: block k of a direction is
// chunk c_k of a 64 KiB pool of xorshift64 words both sides build from one seed (c_k from a
// per-direction xorshift64 sequence), its last 8 bytes replaced by a header (direction and k).
// The sender copies it in with `rep movsq`; the receiver checks it against the pool with one
// `repe cmpsq` and the header, so every byte is verified.
//
// Checksum: FNV-1a 64 over the blocks' digests (8 bytes each, little-endian), a block's digest
// being FNV-1a 64 over its 16 KiB. A chunk's digest up to the header is computed once from the
// pool; a verified block's digest continues it over the header, and a block that does not
// verify is hashed from the bytes received. Both sides print what they sent and received.
//
// Notification: a side that can make no progress clears its port's pending bit, sets its
// `sleeping` flag, fences, looks again, and only then sleeps in SCHEDOP_poll (a timeout keeps
// a lost event from hanging it). A side that made progress fences and, if the peer's flag is
// set, exchanges it with 0 and sends one event. Each side fences between its store and its
// load, so one of them sees the other's (Dekker): no wakeup is lost, and a block costs at
// most one EVTCHNOP_send.

enum RingPair {
    static let pageSize = 4096
    /// Data pages per direction.
    static let dataPages = 32
    static let ringBytes = dataPages * pageSize
    static let totalPages = 1 + 2 * dataPages
    static let blockBytes = 16 * 1024
    static let blockWords = blockBytes / 8
    /// Grant refs the frontend uses: firstRef + page index (refs 0..7 are Xen's reserved ones).
    static let firstRef: UInt32 = 16

    static let magic: UInt64 = 0x4749_4E52_4C45_5254  // "TRELRING"
    static let magicOffset = 0
    static let pagesOffset = 8
    static let refsOffset = 1024
    /// A word the frontend zeroes and nobody may change: the backend writes it through a
    /// read-only mapping of the control page, which must discard the write.
    static let readOnlyProbeOffset = 2048
    /// Direction 0 is front→back, 1 back→front.
    static func prodOffset(_ dir: Int) -> Int { 64 + 256 * dir }
    static func consOffset(_ dir: Int) -> Int { 128 + 256 * dir }
    /// Side 0 is the frontend, 1 the backend.
    static func sleepingOffset(_ side: Int) -> Int { 576 + 64 * side }

    static let poolSeed: UInt64 = 0x2545_F491_4F6C_DD1D
    static func seed(_ dir: Int) -> UInt64 { dir == 0 ? 0x9E37_79B9_7F4A_7C15 : 0xD1B5_4A32_D192_ED03 }

    static let fnvOffset: UInt64 = 0xcbf2_9ce4_8422_2325
    static let fnvPrime: UInt64 = 0x0000_0100_0000_01b3

    /// The 64 MiB each way the test moves by default (`bytes=`, a multiple of blockBytes).
    static let defaultBytes: UInt64 = 64 << 20

    /// The xenstore state values (xen/io/xenbus.h XenbusState).
    static let stateInitialised: XsBytes = "3"
    static let stateConnected: XsBytes = "4"
    static let stateClosed: XsBytes = "6"

    /// The ring pages' data region for direction `dir` inside `pages` (all totalPages).
    static func ring(_ pages: PhysRegion, _ dir: Int) -> PhysRegion {
        pages.sub(pageSize * (1 + dir * dataPages), ringBytes)
    }

    /// The top of RAM (page aligned), from the start info's memory map.
    static var ramTop: UInt64? { Boot.startInfo.map { $0.ramEnd & ~UInt64(pageSize - 1) } }

    /// Where a side builds its RingPool: 2 MiB below the top of its RAM (the frontend's ring
    /// pages are the top MiB; nothing else of PetrelOS lives up there).
    static func poolRegion() -> PhysRegion? {
        ramTop.map { PhysRegion(base: $0 - (2 << 20), size: RingPool.bytes) }
    }

    /// Checks `bytes=` (a positive multiple of blockBytes); FAILs otherwise.
    static func checkTotal(_ t: inout TestContext, _ total: UInt64) -> Bool {
        if total == 0 || total % UInt64(blockBytes) != 0 { t.fail("bytes= must be a multiple of 16384") }
        return t.ok
    }

    /// A block's header: its direction and sequence number.
    static func header(_ dir: Int, _ k: UInt64) -> UInt64 { UInt64(dir) << 56 | k }

    @inline(__always)
    static func xorshift(_ x: UInt64) -> UInt64 {
        var x = x
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        return x
    }

    /// FNV-1a 64 continued over the 8 bytes of `w`, little-endian (the bytes as in memory).
    @inline(__always)
    static func fnv(_ h: UInt64, _ w: UInt64) -> UInt64 {
        var h = h
        h = (h ^ (w & 0xff)) &* fnvPrime
        h = (h ^ ((w >> 8) & 0xff)) &* fnvPrime
        h = (h ^ ((w >> 16) & 0xff)) &* fnvPrime
        h = (h ^ ((w >> 24) & 0xff)) &* fnvPrime
        h = (h ^ ((w >> 32) & 0xff)) &* fnvPrime
        h = (h ^ ((w >> 40) & 0xff)) &* fnvPrime
        h = (h ^ ((w >> 48) & 0xff)) &* fnvPrime
        h = (h ^ (w >> 56)) &* fnvPrime
        return h
    }

    /// FNV-1a 64 continued over `words` 8-byte words of `r`.
    static func fnv(_ h: UInt64, _ r: PhysRegion, words: Int) -> UInt64 {
        var h = h
        for i in 0..<words { h = fnv(h, r.load64(8 * i)) }
        return h
    }
}

/// The pool blocks are cut from: `chunks` chunks of blockBytes of xorshift64 words from
/// RingPair.poolSeed, then a page with each chunk's FNV-1a 64 digest over all but its last word.
struct RingPool {
    static let chunks = 4
    static let bytes = chunks * RingPair.blockBytes + RingPair.pageSize
    let region: PhysRegion

    /// Builds the pool in `region` (RingPool.bytes of the caller's RAM).
    init(_ region: PhysRegion) {
        precondition(region.size >= Self.bytes)
        self.region = region
        var g = RingPair.poolSeed
        for i in 0..<(Self.chunks * RingPair.blockWords) {
            g = RingPair.xorshift(g)
            region.store64(8 * i, g)
        }
        for c in 0..<Self.chunks {
            region.store64(Self.chunks * RingPair.blockBytes + 8 * c,
                           RingPair.fnv(RingPair.fnvOffset, chunk(c), words: RingPair.blockWords - 1))
        }
    }

    func chunk(_ c: Int) -> PhysRegion { region.sub(c * RingPair.blockBytes, RingPair.blockBytes) }
    func digest(_ c: Int) -> UInt64 { region.load64(Self.chunks * RingPair.blockBytes + 8 * c) }
}

/// One direction of the ring as one side sees it: producing (tx) or consuming (rx) blocks.
struct RingStream {
    let control: PhysRegion
    let data: PhysRegion
    let pool: RingPool
    let dir: Int
    let total: UInt64
    /// Bytes produced (tx) or consumed (rx) so far: our index, a multiple of blockBytes.
    private(set) var position: UInt64 = 0
    private var chooser: UInt64
    private(set) var checksum = RingPair.fnvOffset
    /// Received blocks that differ from what the generator says, and the first one's position.
    private(set) var mismatches: UInt64 = 0
    private(set) var firstMismatch: UInt64 = 0
    /// The peer's index was impossible (beyond what can be in the ring): the stream is broken.
    private(set) var corrupt = false

    init(control: PhysRegion, pages: PhysRegion, pool: RingPool, dir: Int, total: UInt64) {
        self.control = control
        self.data = RingPair.ring(pages, dir)
        self.pool = pool
        self.dir = dir
        self.total = total
        chooser = RingPair.seed(dir)
    }

    var done: Bool { position == total }
    private var size: UInt64 { UInt64(RingPair.ringBytes) }
    private var block: UInt64 { UInt64(RingPair.blockBytes) }

    /// Whether a producer has room for a block.
    func canPush() -> Bool {
        !done && position &- control.load64(RingPair.consOffset(dir)) <= size - block
    }

    /// Whether a whole block waits for a consumer.
    func canPull() -> Bool {
        !done && control.load64(RingPair.prodOffset(dir)) &- position >= block
    }

    private mutating func nextChunk() -> Int {
        chooser = RingPair.xorshift(chooser)
        return Int(chooser >> 32) % RingPool.chunks
    }

    /// Produces one block if there is room; returns whether it did.
    mutating func push() -> Bool {
        guard canPush() else { return false }
        let c = nextChunk()
        let slot = data.sub(Int(position % size), RingPair.blockBytes)
        let header = RingPair.header(dir, position / block)
        petrel_memcpy(slot.base, pool.chunk(c).base, UInt64(RingPair.blockBytes - 8))
        slot.store64(RingPair.blockBytes - 8, header)
        checksum = RingPair.fnv(checksum, RingPair.fnv(pool.digest(c), header))
        position += block
        // One store after the data (x86 keeps stores in order): the consumer's view.
        control.store64(RingPair.prodOffset(dir), position)
        return true
    }

    /// Consumes and checks one block if one is there; returns whether it did.
    mutating func pull() -> Bool {
        let prod = control.load64(RingPair.prodOffset(dir))
        if prod &- position > size || prod > total || prod % block != 0 {
            corrupt = true
            return false
        }
        guard prod - position >= block else { return false }
        let c = nextChunk()
        let slot = data.sub(Int(position % size), RingPair.blockBytes)
        let expected = RingPair.header(dir, position / block)
        let same = petrel_compare_qwords(slot.base, pool.chunk(c).base, UInt64(RingPair.blockWords - 1))
        let header = slot.load64(RingPair.blockBytes - 8)
        let digest: UInt64
        if same == UInt64(RingPair.blockWords - 1) && header == expected {
            digest = RingPair.fnv(pool.digest(c), header)
        } else {
            if mismatches == 0 { firstMismatch = position }
            mismatches += 1
            digest = RingPair.fnv(RingPair.fnvOffset, slot, words: RingPair.blockWords)
        }
        checksum = RingPair.fnv(checksum, digest)
        position += block
        control.store64(RingPair.consOffset(dir), position)
        return true
    }
}
