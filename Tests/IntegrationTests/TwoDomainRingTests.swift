import Glibc
import HostOS
import Testing
import Toolstack

/// Domains talking to each other through grants, event channels and xenstore, under one daemon.
extension KVMIntegration {
    @Suite(.enabled(if: Env.canBoot, Env.skipReason))
    struct TwoDomainRingTests {
        static let bytes = 64 << 20

        /// Both domains meet in xenstore, exchange a grant reference and an event channel, and
        /// stream 64 MiB through a shared ring in both directions, checksummed
        /// (Guests/PetrelOS/Tests/RingPair.swift). A third domain, created while the grants are
        /// live, can neither map nor copy them.
        @Test func streamSixtyFourMiBEachWayThroughASharedRing() throws {
            let t0 = Host.monotonicNanoseconds()
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            // Ids in a fresh daemon go up from 1: back 1, front 2, spy 3. Stopped domains stay
            // (preserve) so their consoles can be read whenever the tap attaches.
            let keep = "on_poweroff = \"preserve\""
            let back = try d.config("ringback", test: "ringback peer=2", ["memory = 64", keep])
            let front = try d.config("ringfront", test: "ringfront peer=1 spy=3", ["memory = 64", keep])
            let spy = try d.config("ringspy", test: "ringspy peer=2", ["memory = 32", keep])
            #expect(try d.cli(["create", back]).status == 0)
            let backTap = try RingConsoleTap(d, "ringback")
            #expect(try d.cli(["create", front]).status == 0)
            let frontTap = try RingConsoleTap(d, "ringfront")
            // The spy comes once the frontend has granted its pages (it keeps them until the
            // spy says it is done).
            #expect(RingConsoleTap.pump([frontTap, backTap], seconds: 60) { _ in frontTap.text.contains("granted refs") },
                    "frontend: \(frontTap.text)")
            #expect(try d.cli(["create", spy]).status == 0)
            let spyTap = try RingConsoleTap(d, "ringspy")
            let taps = [backTap, frontTap, spyTap]
            let client = try d.client()
            defer { client.close() }
            var lastList: UInt64 = 0
            let stopped = RingConsoleTap.pump(taps, seconds: 300) { _ in
                // Every half second: have all three stopped (shut down or crashed)?
                let now = Host.monotonicNanoseconds()
                guard now - lastList > 500_000_000 else { return false }
                lastList = now
                let rows = (try? client.call(ControlRequest(op: .list)).domains) ?? []
                return rows.filter { $0.name.hasPrefix("ring") && ($0.state.contains("s") || $0.state.contains("c")) }.count == 3
            }
            let seconds = Double(Host.monotonicNanoseconds() - t0) / 1e9
            #expect(stopped, "all three domains stopped within 300 s")
            // What they printed last is in the daemon's log already; let it arrive.
            _ = RingConsoleTap.pump(taps, seconds: 1) { _ in false }
            let (b, f, s) = (backTap.text, frontTap.text, spyTap.text)
            #expect(b.contains("PASS ringback"), "backend: \(b)")
            #expect(f.contains("PASS ringfront"), "frontend: \(f)")
            #expect(s.contains("PASS ringspy"), "spy: \(s)")
            // Xen's statuses for a grant naming someone else: general_error to map or copy it,
            // permission_denied to name the granter's frame.
            #expect(s.contains("ringspy map=-1 map_ro=-1 copy=-1 copy_frame=-8"), "spy: \(s)")

            let backRing = try #require(Self.report(b, role: "back"), "backend: \(b)")
            let frontRing = try #require(Self.report(f, role: "front"), "frontend: \(f)")
            for r in [backRing, frontRing] {
                #expect(r["bytes_tx"] == "\(Self.bytes)" && r["bytes_rx"] == "\(Self.bytes)", "\(r)")
            }
            #expect(frontRing["tx_checksum"] != nil && frontRing["tx_checksum"] == backRing["rx_checksum"],
                    "front→back: \(frontRing) \(backRing)")
            #expect(backRing["tx_checksum"] != nil && backRing["tx_checksum"] == frontRing["rx_checksum"],
                    "back→front: \(backRing) \(frontRing)")
            #expect(frontRing["tx_checksum"] != backRing["tx_checksum"], "the two directions carry different data")
            let ms = max(Double(frontRing["ms"] ?? "") ?? 0, Double(backRing["ms"] ?? "") ?? 0)
            let rate = ms > 0 ? Double(Self.bytes) / 1_048_576 / (ms / 1000) : 0
            print("two-domain ring: 64 MiB each way in \(ms / 1000) s: \(rate) MiB/s each way; test took \(seconds) s")

            for name in ["ringspy", "ringfront", "ringback"] { #expect(try d.cli(["destroy", name]).status == 0) }
            let rows = try d.waitForList { $0.count == 1 }
            #expect(rows.map(\.name) == ["Domain-0"], "\(rows)")
        }

        /// A read-only grant mapping is enforced: the guest's writes through it are discarded
        /// and the granted page is unchanged (Guests/PetrelOS/Tests/TestGrantRO.swift).
        @Test func readOnlyGrantMappingDiscardsWrites() throws {
            let r = try Env.guestTest("grantro")
            #expect(r.lines.contains("PASS grantro"), "stdout: \(r.stdout)\nstderr: \(r.stderr)")
            #expect(r.status == 0, "\(r.stderr)")
        }

        /// The `ring role=ROLE key=value …` line as a dictionary.
        static func report(_ text: String, role: String) -> [String: String]? {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("ring role=\(role) ") }) else {
                return nil
            }
            var fields: [String: String] = [:]
            for word in line.split(separator: " ") {
                let kv = word.split(separator: "=", maxSplits: 1)
                if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
            }
            return fields
        }
    }
}

/// A control connection attached to a domain's console (its backlog, then what it prints);
/// `ended` once the daemon closes it (the domain is gone).
private final class RingConsoleTap {
    private let connection: UnixConnection
    private(set) var bytes: [UInt8] = []
    private(set) var ended = false

    init(_ d: DaemonHarness, _ domain: String) throws {
        connection = try UnixConnection.connect(path: d.stateDir + "/petrel.sock")
        try connection.write(line: ControlCodec.encode(ControlRequest(op: .console, domain: domain)))
        let reply = try connection.readLine()
        guard reply?.contains("\"ok\":true") == true else { throw HarnessError("console \(domain): \(reply ?? "EOF")") }
    }

    deinit { connection.close() }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Reads whatever is there within `timeoutMs`.
    func poll(timeoutMs: Int32) {
        guard !ended, connection.waitReadable(timeoutMs: timeoutMs) else { return }
        let chunk = (try? connection.read()) ?? []
        if chunk.isEmpty { ended = true } else { bytes += chunk }
    }

    /// Reads all `taps` until `done` holds (true) or `seconds` pass (false).
    static func pump(_ taps: [RingConsoleTap], seconds: UInt64, until done: ([RingConsoleTap]) -> Bool) -> Bool {
        let deadline = Host.monotonicNanoseconds() + seconds * 1_000_000_000
        while !done(taps) {
            guard Host.monotonicNanoseconds() < deadline else { return false }
            if taps.allSatisfy(\.ended) { usleep(20_000) }
            for tap in taps { tap.poll(timeoutMs: 20) }
        }
        return true
    }
}
