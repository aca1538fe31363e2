// One side of the shared ring at work (RingPair.swift): both directions at once, the
// sleep/notify protocol, the report line, and the xenstore steps both ring tests share.

/// Both directions at once, for one side, until each is done.
struct RingSession {
    var tx: RingStream
    var rx: RingStream
    let control: PhysRegion
    let side: Int
    let port: UInt32
    private(set) var sends: UInt64 = 0
    private(set) var sleeps: UInt64 = 0
    /// Sleeps that ended by the poll's 100 ms timeout with nothing to do: the peer was not there
    /// yet or was slow (a lost event would show here too, without hanging the stream).
    private(set) var timeouts: UInt64 = 0
    private(set) var sendError: Int64 = 0

    init(control: PhysRegion, pages: PhysRegion, pool: RingPool, side: Int, port: UInt32, total: UInt64) {
        self.control = control
        self.side = side
        self.port = port
        tx = RingStream(control: control, pages: pages, pool: pool, dir: side, total: total)
        rx = RingStream(control: control, pages: pages, pool: pool, dir: 1 - side, total: total)
    }

    var done: Bool { tx.done && rx.done }
    private var mine: Int { RingPair.sleepingOffset(side) }
    private var peers: Int { RingPair.sleepingOffset(1 - side) }

    /// Streams until both directions are done, `deadline` (system time) passes, or the peer
    /// breaks the ring. `step` runs after every pass (a check the caller wants made mid-stream).
    /// Returns false on the deadline or a broken ring.
    mutating func run(deadline: UInt64, _ step: (RingSession) -> Void) -> Bool {
        while !done {
            var moved = false
            if tx.push() { moved = true }
            if rx.pull() { moved = true }
            if rx.corrupt { return false }
            step(self)
            if moved {
                notifyPeer()
                continue
            }
            if Clock.now() > deadline { return false }
            sleep()
        }
        return true
    }

    /// After progress: wake the peer if it sleeps (one event per sleep).
    private mutating func notifyPeer() {
        petrel_barrier()
        if control.load64(peers) != 0 && control.exchange64(peers, 0) != 0 {
            let rc = EventChannel.send(port)
            if rc != 0 && sendError == 0 { sendError = rc }
            sends += 1
        }
    }

    private func canMove() -> Bool { tx.canPush() || rx.canPull() }

    private mutating func sleep() {
        Events.clearPending(port)
        control.store64(mine, 1)
        petrel_barrier()
        if canMove() {
            control.store64(mine, 0)
            return
        }
        sleeps += 1
        _ = Sched.poll(port: port, timeout: Clock.now() + 100 * nsPerMs, window: false)
        control.store64(mine, 0)
        if !Events.isPending(port) && !canMove() { timeouts += 1 }
    }

    /// `ring role=… bytes_tx=… bytes_rx=… tx_checksum=… rx_checksum=… ms=… sends=… sleeps=…`
    func report(role: StaticString, elapsed: UInt64) {
        out.s("ring role=").s(role).s(" bytes_tx=").dec(tx.position).s(" bytes_rx=").dec(rx.position)
            .s(" tx_checksum=").hex(tx.checksum, digits: 16).s(" rx_checksum=").hex(rx.checksum, digits: 16)
            .s(" ms=").dec(elapsed / nsPerMs).s(" sends=").dec(sends).s(" sleeps=").dec(sleeps)
            .s(" timeouts=").dec(timeouts).end()
    }

    /// The FAIL checks every side makes once streaming stopped.
    func check(_ t: inout TestContext) {
        t.expectRC("EVTCHNOP_send to the peer", sendError, 0)
        t.expect("the peer's ring indexes stay within the ring", !rx.corrupt, expected: "sane", got: Int64(bitPattern: rx.position))
        t.expectEqual("bytes sent", tx.position, tx.total)
        t.expectEqual("bytes received", rx.position, rx.total)
        if rx.mismatches != 0 {
            t.fail("received blocks match the generator", "mismatch")
            out.s("  mismatched blocks=").dec(rx.mismatches).s(" first at byte ").dec(rx.firstMismatch).end()
        }
    }
}

/// xenstore helpers shared by the ring tests.
enum RingStore {
    /// `body`'s result, or nil after a FAIL naming the errno.
    static func ok<R>(_ t: inout TestContext, _ check: StaticString, _ body: () throws(XenBusError) -> R) -> R? {
        do {
            return try body()
        } catch {
            t.expectRC(check, -error.errno, 0)
            return nil
        }
    }

    /// Connects to xenstore and reads our domid.
    static func start(_ t: inout TestContext) -> UInt64? {
        do {
            try XenBus.start()
        } catch {
            t.expectRC("xenbus start", -error.errno, 0)
            return nil
        }
        guard let text = ok(&t, "read domid", { () throws(XenBusError) in try XenBus.read("domid") }),
              let domid = text.decimal, domid > 0, domid < UInt64(PETREL_DOMID_FIRST_RESERVED) else {
            t.fail("read domid", "not a guest domain id")
            return nil
        }
        return domid
    }

    /// Waits until `path` reads `value` (a watch on it wakes us), up to `timeout` ns.
    /// A node we cannot read yet (missing, or not yet shared with us) counts as not there.
    static func waitFor(_ t: inout TestContext, _ path: XsBytes, _ value: XsBytes, token: XsBytes,
                        timeout: UInt64) -> Bool {
        guard ok(&t, "watch", { () throws(XenBusError) in try XenBus.watch(path, token: token) }) != nil else { return false }
        let deadline = Clock.now() + timeout
        var found = false
        while !found {
            do {
                if try XenBus.read(path).equals(value) { found = true; break }
            } catch {
                if error != .ENOENT && error != .EACCES {
                    t.expectRC("read a watched node", -error.errno, 0)
                    return false
                }
            }
            let now = Clock.now()
            if now >= deadline { break }
            do {
                _ = try XenBus.waitWatchEvent(timeout: min(deadline - now, nsPerSec))
            } catch {
                if error != .ETIMEDOUT {
                    t.expectRC("wait for a watch event", -error.errno, 0)
                    return false
                }
            }
        }
        _ = try? XenBus.unwatch(path, token: token)
        if !found {
            t.fail("the peer's xenstore node never reached the expected value")
            out.s("  waited for ").xs(path).s(" = ").xs(value).end()
        }
        return found
    }

    /// Creates `dir` (relative to our home) readable by `reader`, and writes `dir/state`.
    static func publish(_ t: inout TestContext, dir: XsBytes, me: UInt64, reader: UInt64, state: XsBytes) -> Bool {
        let owner = XsText(WorkArea.buffer(6).sub(0, 32), "n", decimal: me)
        let read = XsText(WorkArea.buffer(6).sub(32, 32), "r", decimal: reader)
        var statePath = XsText(WorkArea.buffer(6).sub(64, 128), dir)
        statePath.append("/state")
        guard ok(&t, "mkdir", { () throws(XenBusError) in try XenBus.mkdir(dir) }) != nil,
              ok(&t, "set_perms", { () throws(XenBusError) in try XenBus.setPerms(dir, owner.bytes, read.bytes) }) != nil,
              ok(&t, "write state", { () throws(XenBusError) in try XenBus.write(statePath.bytes, state) }) != nil
        else { return false }
        return true
    }
}
