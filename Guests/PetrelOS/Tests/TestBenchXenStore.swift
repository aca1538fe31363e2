// test=bench-xenstore [n=10000]: xenstore operations over the guest's ring (Kernel/XenBus.swift),
// as a guest's xenbus driver does them: n rounds of XS_WRITE then XS_READ of a 16-byte value
// at data/bench (a node the domain owns), each read checked against what was written. Prints
//   bench xenstore-ring ops=2N ns=T
// with T the pvclock nanoseconds for all 2N operations, after 100 untimed warm-up rounds.
// Every round trip is a request into the ring, EVTCHNOP_send, xenstored's reply, and the
// event back (XenBus.talk).

enum TestBenchXenStore {
    static let value: XsBytes = "0123456789abcdef"

    static func run(_ t: inout TestContext) {
        guard t.startRuntime() else { return }
        guard let n = TestRunner.parameter(&t, "n", default: 10_000, range: 1...100_000_000) else { return }
        do {
            try XenBus.start()
        } catch {
            return t.expectRC("xenbus start (HVM_PARAM_STORE_PFN/EVTCHN)", -error.errno, 0)
        }
        guard rounds(&t, 100) else { return }
        let t0 = Clock.now()
        guard rounds(&t, n) else { return }
        let ns = Clock.now() - t0
        out.s("bench xenstore-ring ops=").dec(2 * n).s(" ns=").dec(ns).end()
        do {
            try XenBus.rm("data/bench")
        } catch {
            t.expectRC("rm data/bench", -error.errno, 0)
        }
    }

    /// `count` write+read rounds; false after a FAIL line.
    private static func rounds(_ t: inout TestContext, _ count: UInt64) -> Bool {
        var i: UInt64 = 0
        while i < count {
            do {
                try XenBus.write("data/bench", value)
                let got = try XenBus.read("data/bench")
                guard got.equals(value) else {
                    t.fail("read data/bench", "value differs from the one written")
                    return false
                }
            } catch {
                t.expectRC("write/read data/bench", -error.errno, 0)
                return false
            }
            i += 1
        }
        return true
    }
}
