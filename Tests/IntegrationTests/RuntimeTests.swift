import HostOS
import Testing

/// The Xen runtime from inside a real guest: events, timers, SMP, IPIs, grant tables.
extension KVMIntegration {
    @Suite(.enabled(if: Env.canBoot, Env.skipReason))
    struct RuntimeGuestTests {
        static func run(_ name: String, vcpus: Int = 1, _ extra: String = "", timeout: Int = 300) throws -> Env.Run {
            try Env.petrel(["run", Env.guest, "--memory", "64", "--vcpus", "\(vcpus)", "--cmdline", "test=\(name) \(extra)"],
                           timeout: timeout)
        }

        // Two vCPUs: the guest's SMP test spin-waits across vCPUs, and more vCPUs than host CPUs
        // (two here) can starve each other for minutes on this backend.
        @Test(arguments: [("evtchn", 1), ("timer", 1), ("grant", 1), ("smp", 2)])
        func guestTestPasses(_ name: String, _ vcpus: Int) throws {
            let r = try Self.run(name, vcpus: vcpus, "vcpus=\(vcpus)")
            #expect(r.lines.contains("PASS \(name)"), "stdout: \(r.stdout)\nstderr: \(r.stderr)")
            #expect(!r.stdout.contains("FAIL"), "stdout: \(r.stdout)")
            #expect(r.status == 0, "stderr: \(r.stderr)")
        }

        /// Two vCPUs send 10,000 IPIs each to the other; both sides count every one, none twice.
        @Test func ipisAreNeitherLostNorDuplicated() throws {
            let r = try Self.run("ipi", vcpus: 2, "vcpus=2 n=10000")
            #expect(r.lines.contains("PASS ipi"), "stdout: \(r.stdout)\nstderr: \(r.stderr)")
            #expect(r.status == 0)
        }

        /// 100,000 random event-channel, grant and sched ops with random arguments: Petrel must
        /// not trap, the guest must finish, and every result must be success or a Xen errno.
        /// Nor leak: Petrel's peak resident memory after 100,000 ops is within 16 MiB of its
        /// peak after 2,000 (a leak of a few hundred bytes an op would show).
        @Test func randomHypercallStorm() throws {
            // ~110 s on this machine: the guest's own code is emulated (~1 µs an instruction),
            // so each op costs about a millisecond of guest time around its exit.
            let small = try Self.run("storm", vcpus: 1, "n=2000 seed=7")
            #expect(small.lines.contains("PASS storm"), "stdout: \(small.stdout.suffix(2000))\nstderr: \(small.stderr)")
            let r = try Self.run("storm", vcpus: 1, "n=100000 seed=7", timeout: 1500)
            let (smallPeak, peak) = (small.peakRSSKiB, r.peakRSSKiB)
            #expect(r.lines.contains("PASS storm"), "stdout: \(r.stdout.suffix(2000))\nstderr: \(r.stderr)")
            #expect(r.status == 0, "stderr: \(r.stderr)")
            #expect(smallPeak > 0 && peak > 0)
            #expect(peak - smallPeak < 16 << 10, "peak RSS \(smallPeak) KiB after 2,000 ops, \(peak) KiB after 100,000")
        }

        /// 1,000 one-shot timers 1 ms apart: none early, none lost. Lateness is reported, not
        /// asserted (benchmarks measure it).
        @Test func oneShotTimersAreNeverEarlyOrLost() throws {
            let r = try Self.run("timeraccuracy")
            let line = try #require(r.lines.first { $0.hasPrefix("timer p50_us=") }, "stdout: \(r.stdout)")
            #expect(line.contains("early=0"), "\(line)")
            #expect(line.contains("lost=0"), "\(line)")
            #expect(r.lines.contains("PASS timeraccuracy"))
            print("timer accuracy: \(line)")
        }
    }
}
