// test=bench-evtchn [n=10000]: event round trips, then bare exits, in one run:
//   bench evtchn n=N cycles=C     N ping-pongs, TSC cycles on vCPU 0
//   bench bare n=N cycles=C       N `out` to port 0x80 (an exit Petrel ignores)
// With 2+ vCPUs: vCPU 0 sends an IPI to vCPU 1, whose handler sends one back; vCPU 0
// waits (spinning, IF set) for it before the next. With one vCPU: an interdomain
// loopback pair on vCPU 0 (send on one end, the other end's handler counts).

enum TestBenchEvtchn {
    /// WorkArea.shared: 0 pongs received on vCPU 0, 8 vCPU 0's IPI port.
    static var state: PhysRegion { WorkArea.shared.sub(0, 64) }
    static let pong: EventHandler = { _ in TestBenchEvtchn.state.fetchAdd64(0, 1) }
    static let ping: EventHandler = { _ in _ = EventChannel.send(UInt32(TestBenchEvtchn.state.load64(8))) }

    static func run(_ t: inout TestContext) {
        guard t.startRuntime() else { return }
        guard let n = TestRunner.parameter(&t, "n", default: 10_000) else { return }
        state.fill(0)
        let vcpus = SMP.probeCount().count
        var target: UInt32 = 0
        if vcpus >= 2 {
            let (rc0, p0) = EventChannel.bindIPI(vcpu: 0)
            let (rc1, p1) = EventChannel.bindIPI(vcpu: 1)
            t.expectRC("bind_ipi(0)", rc0, 0)
            t.expectRC("bind_ipi(1)", rc1, 0)
            guard t.ok else { return }
            state.store64(8, UInt64(p0))
            Events.bind(p0, cpu: 0, pong)
            Events.bind(p1, cpu: 1, ping)
            if let f = SMP.start(1, work: nil) { return t.fail(f) }
            target = p1
        } else {
            out.s("bench-evtchn: 1 vCPU: loopback pair on vCPU 0").end()
            let (rcA, a) = EventChannel.allocUnbound()
            t.expectRC("alloc_unbound", rcA, 0)
            guard t.ok else { return }
            let (rcB, b) = EventChannel.bindInterdomain(remotePort: a)
            t.expectRC("bind_interdomain", rcB, 0)
            guard t.ok else { return }
            Events.clearPending(b)
            Events.bind(b, cpu: 0, pong)
            target = a
        }
        Console.flush()

        CPU.enableInterrupts()
        var ok = roundTrips(target, 100)
        let start = petrel_rdtsc()
        if ok { ok = roundTrips(target, n) }
        let cycles = petrel_rdtsc() &- start
        CPU.disableInterrupts()
        t.expect("round trip answered within 1 s", ok, expected: "every pong", got: Int64(bitPattern: state.load64(0)))
        guard t.ok else { return }
        out.s("bench evtchn n=").dec(n).s(" cycles=").dec(cycles).end()
        Console.flush()

        let bareStart = petrel_rdtsc()
        var i: UInt64 = 0
        while i < n {
            petrel_outb(TestBenchHypercall.barePort, 0)
            i += 1
        }
        out.s("bench bare n=").dec(n).s(" cycles=").dec(petrel_rdtsc() &- bareStart).end()
        if vcpus >= 2 { _ = VCPU.down(1) }
    }

    private static func roundTrips(_ port: UInt32, _ n: UInt64) -> Bool {
        var i: UInt64 = 0
        while i < n {
            let before = state.load64(0)
            if EventChannel.send(port) != 0 { return false }
            var spins: UInt64 = 0
            while state.load64(0) == before {
                CPU.pause()
                spins += 1
                // Rarely look at the clock: a lost event must not hang the benchmark.
                if spins & 0xffff == 0 && !Wait.spin(ns: nsPerSec, { state.load64(0) != before }) { return false }
            }
            i += 1
        }
        return true
    }
}
