import GuestMemory
import Hypervisor
import XenABI
import XenStore

/// xenstored's view of one guest's `struct xenstore_domain_interface` (`xen/io/xs_wire.h`): the
/// page at `gfn` in the guest's own memory, read and written through `GuestPhysicalMemory`'s
/// bounds-checked accessors, and the guest's xenstore event channel, signalled with
/// `EventChannel.notify` (Xen's `notify_via_xen_event_channel`).
///
/// The page belongs to the guest, which may overwrite it or move something else over its frame
/// at any time. Nothing it does can trap here: a frame with no memory behind it reads as zeros
/// and swallows writes, and its index words read back as a pair `XenStoreRingIndex.isValid`
/// rejects, so xenstored drops this guest's connection (`XENSTORE_ERROR_RINGIDX`) and no one
/// else's. Garbage indexes in a present page are xenstored's to reject the same way.
///
/// Holds the domain weakly (the domain's backend handler refers to this object through
/// xenstored's connection, and must not keep it alive). Thread-safe: every access is one
/// accessor call on guest memory; xenstored calls it under its own lock.
public final class GuestXenStoreRing: XenStoreRingAccess, Sendable {
    public let gfn: GFN
    public let port: EvtchnPort
    private let memory: GuestPhysicalMemory
    private let signal: @Sendable () -> Void

    /// The guest page `gfn` of `domain`, whose xenstore event channel is `port`.
    public init(domain: Domain, gfn: GFN, port: EvtchnPort) {
        self.gfn = gfn
        self.port = port
        memory = domain.memory
        signal = { [weak domain] in _ = domain?.evtchn.notify(port) }
    }

    private func address(_ offset: Int, _ count: Int) -> GPA {
        // xenstored's offsets come from XenStoreRingLayout and masked ring indexes: past the
        // page is a bug in xenstored, not something a guest can cause.
        precondition(offset >= 0 && count >= 0 && offset + count <= Int(xenPageSize),
                     "xenstore ring access at \(offset)+\(count) is outside the page")
        return gfn.address.advanced(by: UInt64(offset))
    }

    public func readBytes(at offset: Int, count: Int) -> [UInt8] {
        let a = address(offset, count)
        return (try? memory.read(at: a, count: count)) ?? [UInt8](repeating: 0, count: count)
    }

    public func writeBytes(at offset: Int, _ bytes: [UInt8]) {
        let a = address(offset, bytes.count)
        try? memory.write(bytes, at: a)
    }

    public func readWord(at offset: Int) -> UInt32 {
        let a = address(offset, 4)
        do {
            return try memory.loadAcquire(UInt32.self, at: a)
        } catch {
            return Self.unbackedWord(at: offset)
        }
    }

    public func writeWord(at offset: Int, _ value: UInt32) {
        let a = address(offset, 4)
        try? memory.storeRelease(value, at: a)
    }

    public func notify() { signal() }

    /// What an index word reads as when the page has no memory behind it: producers a ring and
    /// more ahead of consumers (which read 0), so the pair is invalid and xenstored stops serving
    /// the ring instead of reading zeros forever.
    static func unbackedWord(at offset: Int) -> UInt32 {
        switch offset {
        case XenStoreRingLayout.requestProducer, XenStoreRingLayout.responseProducer:
            UInt32(XenStoreRingLayout.ringSize) + 1
        default:
            0
        }
    }
}
