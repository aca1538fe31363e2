import GuestMemory
import Synchronization
import XenABI

/// A domain's console (Xen's console driver for `console_io`, and xenconsoled's half of the PV
/// console ring). Output from both paths goes to one sink, in the order the guest produced it:
/// before `console_io` output is written, whatever the guest already put in the ring is drained.
///
/// Locking: `lock` serialises draining and writing, so output from several vCPUs never
/// interleaves mid-chunk. The sink is called with the lock held and must not call back in.
public final class Console: Sendable {
    public typealias Sink = @Sendable ([UInt8]) -> Void
    private struct State {
        var sink: Sink?
        var ring: GPA?
        var port: EvtchnPort?
        var bytesWritten = 0
    }
    private let lock = Mutex<State>(State())

    init() {}

    /// Where console output goes (the toolstack sets this: stdout, a log, attached clients).
    public func setSink(_ sink: @escaping Sink) { lock.withLock { $0.sink = sink } }

    /// Attaches the PV console ring (`struct xencons_interface` at `ring`) and its event port.
    public func attachRing(at ring: GPA, port: EvtchnPort) {
        lock.withLock { $0.ring = ring; $0.port = port }
    }

    public var ringPort: EvtchnPort? { lock.withLock { $0.port } }
    public var bytesWritten: Int { lock.withLock { $0.bytesWritten } }

    /// `console_io(CONSOLEIO_write)`: earlier ring output first, then these bytes.
    public func write(_ bytes: [UInt8], memory: GuestPhysicalMemory) {
        lock.withLock { s in
            Self.drain(&s, memory: memory)
            s.bytesWritten += bytes.count
            s.sink?(bytes)
        }
    }

    /// Consumes everything between `out_cons` and `out_prod` (the guest notified us, yielded,
    /// or stopped). A guest that corrupts its indexes loses only its own output.
    public func drainRing(memory: GuestPhysicalMemory) {
        lock.withLock { Self.drain(&$0, memory: memory) }
    }

    private static func drain(_ s: inout State, memory: GuestPhysicalMemory) {
        guard let ring = s.ring else { return }
        let outSize = UInt32(XenconsInterface.outSize)
        do {
            let prod = try memory.loadAcquire(UInt32.self, at: ring.advanced(by: UInt64(XenconsInterface.Offset.outProd)))
            var cons = try memory.load(UInt32.self, at: ring.advanced(by: UInt64(XenconsInterface.Offset.outCons)))
            // The guest owns out_prod: a distance larger than the ring is a corrupt index.
            // Resynchronise rather than read garbage (xenconsoled does the same).
            if prod &- cons > outSize { cons = prod &- outSize }
            guard prod != cons else { return }
            var out: [UInt8] = []
            out.reserveCapacity(Int(prod &- cons))
            let base = ring.advanced(by: UInt64(XenconsInterface.Offset.out))
            // Copy in at most two pieces (the ring wraps once at most).
            while cons != prod {
                let idx = cons % outSize
                let n = min(prod &- cons, outSize - idx)
                out += try memory.read(at: base.advanced(by: UInt64(idx)), count: Int(n))
                cons &+= n
            }
            try memory.storeRelease(cons, at: ring.advanced(by: UInt64(XenconsInterface.Offset.outCons)))
            s.bytesWritten += out.count
            s.sink?(out)
        } catch {
            // The ring page went away (the guest remapped over it): nothing to drain.
        }
    }
}
