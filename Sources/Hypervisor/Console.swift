import GuestMemory
import Synchronization
import XenABI

/// A domain's console (Xen's console driver for `console_io`, and xenconsoled's half of the PV
/// console ring).
///
/// Output from both paths goes to one sink and to any number of observers (attached clients),
/// in the order the guest produced it: before `console_io` output is written, whatever the
/// guest already put in the ring is drained.
///
/// Input (Console+Input.swift) comes from the backend's clients through `input(_:)` into a
/// bounded queue, from which it reaches the guest through the ring's `in` buffer or
/// `CONSOLEIO_read`, whichever takes it first.
///
/// Locking: three mutexes, never nested in one another.
/// - `ringRef` holds where the ring is; it is read (copied) before either of the others is taken.
/// - `output` serialises draining and writing, so output from several vCPUs never interleaves
///   mid-chunk. The sink and the observers are called with it held, in order: they must not
///   call `write`, `drainRing`, `ringNotified`, `setSink` or add or remove an observer (that
///   would deadlock), and should not block for long (the guest's vCPU waits). They may call
///   `input(_:)`, which takes only the input lock.
/// - `inputState` (Console+Input.swift) guards the input queue and the ring's input side.
///   Nothing is called with it held except the `CONSOLEIO_read` copy-out closure; event
///   notifications and input-space handlers run after it is dropped.
public final class Console: Sendable {
    public typealias Sink = @Sendable ([UInt8]) -> Void

    /// Names one output observer, for `removeOutputObserver`.
    public struct ObserverToken: Hashable, Sendable {
        let raw: UInt64
    }

    /// Where the PV ring is: its page and its event port.
    struct Ring: Sendable {
        var gpa: GPA
        var port: EvtchnPort
    }

    private struct Output {
        var sink: Sink?
        /// Registration order is delivery order.
        var observers: [(token: ObserverToken, observer: Sink)] = []
        var nextToken: UInt64 = 1
        var bytesWritten = 0

        func emit(_ bytes: [UInt8]) {
            sink?(bytes)
            for o in observers { o.observer(bytes) }
        }
    }

    private struct WeakDomain: @unchecked Sendable { weak var domain: Domain? }

    let ringRef = Mutex<Ring?>(nil)
    private let output = Mutex<Output>(Output())
    let inputState = Mutex<InputState>(InputState())
    private let domainRef = Mutex<WeakDomain>(WeakDomain())

    init() {}

    /// The domain whose event channel and memory input uses (Domain.init calls this once).
    func attach(to domain: Domain) { domainRef.withLock { $0.domain = domain } }

    var domain: Domain? { domainRef.withLock { $0.domain } }

    /// Where console output goes (the toolstack sets this: stdout, a log).
    public func setSink(_ sink: @escaping Sink) { output.withLock { $0.sink = sink } }

    /// Adds a client of the output (an attached `petrel console`): from now on it gets every
    /// chunk the sink gets, in the same order, after the sink and after observers added
    /// earlier. Called with the output lock held (see the type's locking rules).
    public func addOutputObserver(_ observer: @escaping Sink) -> ObserverToken {
        output.withLock { s in
            let token = ObserverToken(raw: s.nextToken)
            s.nextToken += 1
            s.observers.append((token, observer))
            return token
        }
    }

    /// Removes an observer. Once this returns it is never called again (a chunk being
    /// delivered finishes first). Unknown tokens are ignored. Must not be called from an
    /// observer.
    public func removeOutputObserver(_ token: ObserverToken) {
        output.withLock { s in s.observers.removeAll { $0.token == token } }
    }

    /// Attaches the PV console ring (`struct xencons_interface` at `ring`) and its event port.
    /// Input waits in the queue until the guest first notifies the port (`ringNotified`).
    public func attachRing(at ring: GPA, port: EvtchnPort) {
        ringRef.withLock { $0 = Ring(gpa: ring, port: port) }
        inputState.withLock { $0.ringConnected = false }
    }

    public var ringPort: EvtchnPort? { ringRef.withLock { $0?.port } }
    public var bytesWritten: Int { output.withLock { $0.bytesWritten } }

    /// `console_io(CONSOLEIO_write)`: earlier ring output first, then these bytes.
    public func write(_ bytes: [UInt8], memory: GuestPhysicalMemory) {
        let ring = ringRef.withLock { $0 }
        output.withLock { s in
            Self.drain(&s, ring: ring, memory: memory)
            s.bytesWritten += bytes.count
            s.emit(bytes)
        }
    }

    /// Consumes everything between `out_cons` and `out_prod` (the guest notified us, yielded,
    /// or stopped). A guest that corrupts its indexes loses only its own output.
    public func drainRing(memory: GuestPhysicalMemory) {
        let ring = ringRef.withLock { $0 }
        output.withLock { Self.drain(&$0, ring: ring, memory: memory) }
    }

    /// The guest notified the ring's port (xenconsoled's `handle_ring_read`): drain its output,
    /// and refill `in` from the input queue. The first notification also connects the ring's
    /// input side: until the guest shows it is live on the ring, input stays queued, where
    /// `CONSOLEIO_read` can take it (a guest that only uses `console_io` never notifies).
    public func ringNotified(memory: GuestPhysicalMemory) {
        drainRing(memory: memory)
        inputState.withLock { $0.ringConnected = true }
        pushInput()
    }

    private static func drain(_ s: inout Output, ring: Ring?, memory: GuestPhysicalMemory) {
        guard let ring = ring?.gpa else { return }
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
            s.emit(out)
        } catch {
            // The ring page went away (the guest remapped over it): nothing to drain.
        }
    }
}
