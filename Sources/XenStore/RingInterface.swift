/// The guest-shared page `struct xenstore_domain_interface` (`xen/io/xs_wire.h`): a request ring
/// the guest produces into and xenstored consumes, a response ring the other way round, their
/// free-running 32-bit indexes, and the feature/connection/error words.
public enum XenStoreRingLayout {
    /// `XENSTORE_RING_SIZE`.
    public static let ringSize = 1024
    public static let requestRing = 0          // char req[1024]
    public static let responseRing = 1024      // char rsp[1024]
    public static let requestConsumer = 2048   // req_cons
    public static let requestProducer = 2052   // req_prod
    public static let responseConsumer = 2056  // rsp_cons
    public static let responseProducer = 2060  // rsp_prod
    public static let serverFeatures = 2064    // server_features
    public static let connection = 2068        // connection
    public static let error = 2072             // error
    /// `sizeof(struct xenstore_domain_interface)`.
    public static let size = 2076

    /// `XENSTORE_SERVER_FEATURE_RECONNECTION` / `_ERROR`.
    public static let featureReconnection: UInt32 = 1
    public static let featureError: UInt32 = 2
    /// `XENSTORE_CONNECTED` / `XENSTORE_RECONNECT`.
    public static let connected: UInt32 = 0
    public static let reconnect: UInt32 = 1
    /// `XENSTORE_ERROR_NONE`, `_COMM`, `_RINGIDX`, `_PROTO`.
    public static let errorNone: UInt32 = 0
    public static let errorComm: UInt32 = 1
    public static let errorRingIndex: UInt32 = 2
    public static let errorProtocol: UInt32 = 3
}

/// Index arithmetic of the xenstore rings (Xen's domain.c `check_indexes`, `get_input_chunk`,
/// `get_output_chunk`). Indexes run freely and wrap at 2^32; `MASK_XENSTORE_IDX` maps one to a
/// ring offset.
public enum XenStoreRingIndex {
    /// `MASK_XENSTORE_IDX`.
    public static func mask(_ index: UInt32) -> Int { Int(index & UInt32(XenStoreRingLayout.ringSize - 1)) }

    /// A guest-written pair is sane if the producer is at most a ring ahead of the consumer.
    public static func isValid(consumer: UInt32, producer: UInt32) -> Bool {
        producer &- consumer <= UInt32(XenStoreRingLayout.ringSize)
    }

    /// The contiguous readable bytes at the consumer: (ring offset, length), stopping at the wrap.
    public static func inputChunk(consumer: UInt32, producer: UInt32) -> (offset: Int, length: Int) {
        let offset = mask(consumer)
        return (offset, min(XenStoreRingLayout.ringSize - offset, Int(producer &- consumer)))
    }

    /// The contiguous writable space at the producer: (ring offset, length), stopping at the wrap.
    public static func outputChunk(consumer: UInt32, producer: UInt32) -> (offset: Int, length: Int) {
        let offset = mask(producer)
        return (offset, min(XenStoreRingLayout.ringSize - offset,
                            XenStoreRingLayout.ringSize - Int(producer &- consumer)))
    }
}

/// How xenstored reaches one guest's interface page and event channel. The hypervisor side
/// implements it over guest memory (the page the toolstack reserved) and the domain's xenstore
/// event channel, so that this module needs neither.
///
/// xenstored calls it with its lock held, from whichever thread is serving the ring. Offsets are
/// page offsets (`XenStoreRingLayout`), always within `XenStoreRingLayout.size`.
public protocol XenStoreRingAccess: AnyObject, Sendable {
    /// Copies `count` bytes out of the page at `offset`.
    func readBytes(at offset: Int, count: Int) -> [UInt8]
    /// Copies `bytes` into the page at `offset`.
    func writeBytes(at offset: Int, _ bytes: [UInt8])
    /// Reads a little-endian 32-bit field once, ordered before the data reads that follow
    /// (acquire; the guest may change it concurrently).
    func readWord(at offset: Int) -> UInt32
    /// Writes a little-endian 32-bit field, ordered after the data writes before it (release).
    func writeWord(at offset: Int, _ value: UInt32)
    /// Signals the guest's xenstore event channel.
    func notify()
}
