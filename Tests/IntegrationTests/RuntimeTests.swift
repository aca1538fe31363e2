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
        @Test(.enabled(if: HostProcess.environment("PETREL_STORM") == "1",
                       "the 100,000-op guest storm runs with PETREL_STORM=1 (about 100 s alone, much longer under the test harness; see the issue note)"))
        func randomHypercallStorm() throws {
            // ~100 s alone on this machine; every op is a VM exit on a nested backend.
            let r = try Self.run("storm", vcpus: 1, "n=100000 seed=7", timeout: 1500)
            #expect(r.lines.contains("PASS storm"), "stdout: \(r.stdout.suffix(2000))\nstderr: \(r.stderr)")
            #expect(r.status == 0, "stderr: \(r.stderr)")
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
