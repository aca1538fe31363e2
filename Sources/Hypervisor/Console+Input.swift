import GuestMemory
import Synchronization
import XenABI

/// The console's input side: a bounded queue fed by the backend's clients (`input(_:)`) and
/// drained by the guest, through the PV ring's `in` buffer (xenconsoled's `handle_tty_read`)
/// or `CONSOLEIO_read` (Xen's serial input), whichever takes a byte first.
///
/// Back-pressure: the queue holds at most `inputCapacity` bytes; `input(_:)` takes what fits
/// and says how much. A client with more waits for `notifyWhenInputSpace`.
extension Console {
    /// The most input the console holds for a guest that is not reading it.
    public static let inputCapacity = 64 << 10

    struct InputState {
        var queue = ByteQueue(capacity: Console.inputCapacity)
        /// True once the guest notified the ring's port: only then does `in` get input.
        var ringConnected = false
        /// One-shot handlers waiting for room in the queue.
        var spaceWaiters: [@Sendable () -> Void] = []
        /// Bytes the guest took, through either path.
        var bytesDelivered = 0

        /// Handlers owed a call, if the queue has room (taken from the list).
        mutating func takeWaitersIfSpace() -> [@Sendable () -> Void] {
            guard !spaceWaiters.isEmpty, queue.free > 0 else { return [] }
            defer { spaceWaiters = [] }
            return spaceWaiters
        }
    }

    /// Queues bytes for the guest (keystrokes from an attached client, `petrel run`'s stdin).
    /// Takes as many as fit (in order, from the front) and returns that count: fewer than
    /// `bytes.count` means the queue is full; the caller keeps the rest and may wait for
    /// `notifyWhenInputSpace`. Moves what it can into the ring at once and notifies the guest;
    /// raises VIRQ_CONSOLE if the guest bound it (Xen's serial input does). Takes the input lock.
    @discardableResult
    public func input(_ bytes: some Collection<UInt8>) -> Int {
        let accepted = inputState.withLock { $0.queue.append(bytes) }
        guard accepted > 0 else { return 0 }
        pushInput()
        domain?.evtchn.raiseGlobalVIRQ(.console)
        return accepted
    }

    /// Calls `handler` once, outside the console's locks, as soon as the input queue has room:
    /// at once (on this thread) if it has room now, else on the thread whose read frees it (a
    /// vCPU's). The handler should only wake its client. Each call registers one more
    /// handler: a client registers again only after its handler ran.
    public func notifyWhenInputSpace(_ handler: @escaping @Sendable () -> Void) {
        let now = inputState.withLock { s -> Bool in
            if s.queue.free > 0 { return true }
            s.spaceWaiters.append(handler)
            return false
        }
        if now { handler() }
    }

    /// Bytes queued and not yet taken by the guest (in the ring counts as taken).
    public var inputQueued: Int { inputState.withLock { $0.queue.count } }

    /// Bytes of input the guest has taken so far, through the ring or `CONSOLEIO_read`.
    public var inputDelivered: Int { inputState.withLock { $0.bytesDelivered } }

    /// `CONSOLEIO_read`'s half (Xen's `do_console_io`): takes up to `max` queued bytes, handing
    /// them to `copyOut(offset, bytes)` in order, in pieces of at most `piece` bytes. A piece
    /// is consumed only once `copyOut` returns; its error ends the read and is rethrown (the
    /// pieces before it stay consumed, as in Xen). Returns the number of bytes taken.
    /// `copyOut` runs with the input lock held and must not call back into the console.
    public func read<E: Error>(max: Int, piece: Int = 4096,
                               copyOut: (_ offset: Int, _ bytes: [UInt8]) throws(E) -> Void) throws(E) -> Int {
        let piece = Swift.max(1, piece)
        let result = inputState.withLock { s -> (taken: Int, error: E?, wake: [@Sendable () -> Void]) in
            var taken = 0
            var failure: E?
            while taken < max, s.queue.count > 0 {
                let bytes = s.queue.peek(Swift.min(max - taken, piece))
                do throws(E) {
                    try copyOut(taken, bytes)
                } catch {
                    failure = error
                    break
                }
                s.queue.removeFirst(bytes.count)
                taken += bytes.count
            }
            s.bytesDelivered += taken
            return (taken, failure, s.takeWaitersIfSpace())
        }
        for h in result.wake { h() }
        if let e = result.error { throw e }
        return result.taken
    }

    /// Moves queued input into the ring (if it is connected and has room), then notifies the
    /// guest and wakes clients waiting for room, outside the lock.
    func pushInput() {
        guard let ring = ringRef.withLock({ $0 }), let d = domain else { return }
        let (pushed, wake) = inputState.withLock { s in
            (Self.fill(&s, ring: ring.gpa, memory: d.memory), s.takeWaitersIfSpace())
        }
        if pushed { d.evtchn.notify(ring.port) }
        for h in wake { h() }
    }

    /// Copies the head of the queue into `in` (xenconsoled's `handle_tty_read`): data first,
    /// then `in_prod` with release ordering; `in_cons` is read with acquire ordering, so the
    /// guest has finished with the bytes we overwrite. True if any byte moved.
    private static func fill(_ s: inout InputState, ring: GPA, memory: GuestPhysicalMemory) -> Bool {
        guard s.ringConnected, s.queue.count > 0 else { return false }
        let size = UInt32(XenconsInterface.inSize)
        let consAt = ring.advanced(by: UInt64(XenconsInterface.Offset.inCons))
        let prodAt = ring.advanced(by: UInt64(XenconsInterface.Offset.inProd))
        do {
            let cons = try memory.loadAcquire(UInt32.self, at: consAt)
            // in_prod is ours, but it lives in the guest's page.
            var prod = try memory.load(UInt32.self, at: prodAt)
            // More than a ring's worth outstanding means the guest scribbled on an index:
            // resynchronise to an empty ring (what it had unread is garbage to it anyway), so
            // input keeps flowing instead of wedging its clients. Only its own input suffers.
            if prod &- cons > size { prod = cons }
            let n = Int(Swift.min(size - (prod &- cons), UInt32(Swift.min(s.queue.count, Int(size)))))
            guard n > 0 else { return false }
            let bytes = s.queue.peek(n)
            let base = ring.advanced(by: UInt64(XenconsInterface.Offset.in))
            var done = 0
            // At most two pieces: the ring wraps once at most.
            while done < n {
                let idx = prod % size
                let k = Swift.min(n - done, Int(size - idx))
                try memory.write(Array(bytes[done..<done + k]), at: base.advanced(by: UInt64(idx)))
                prod &+= UInt32(k)
                done += k
            }
            try memory.storeRelease(prod, at: prodAt)
            s.queue.removeFirst(n)
            s.bytesDelivered += n
            return true
        } catch {
            // The ring page went away: the input stays queued.
            return false
        }
    }
}

/// A fixed-capacity FIFO of bytes (a circular buffer, allocated on first use).
struct ByteQueue {
    let capacity: Int
    private var storage: [UInt8] = []
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    var free: Int { capacity - count }

    /// Appends as many of `bytes` as fit, from the front; returns how many.
    mutating func append(_ bytes: some Collection<UInt8>) -> Int {
        let n = Swift.min(bytes.count, free)
        guard n > 0 else { return 0 }
        if storage.isEmpty { storage = [UInt8](repeating: 0, count: capacity) }
        var tail = (head + count) % capacity
        for b in bytes.prefix(n) {
            storage[tail] = b
            tail = tail + 1 == capacity ? 0 : tail + 1
        }
        count += n
        return n
    }

    /// The first `min(n, count)` bytes, left in place.
    func peek(_ n: Int) -> [UInt8] {
        let n = Swift.min(n, count)
        guard n > 0 else { return [] }
        let first = Swift.min(n, capacity - head)
        return Array(storage[head..<head + first]) + storage[0..<(n - first)]
    }

    mutating func removeFirst(_ n: Int) {
        precondition(n >= 0 && n <= count)
        head = (head + n) % capacity
        count -= n
    }
}
