import Glibc
import HostOS
import Testing
import Toolstack

/// `petrel daemon` and the xl-style CLI against it, with real guests.
extension KVMIntegration {
    @Suite(.enabled(if: Env.canBoot, Env.skipReason))
    struct DaemonTests {
        @Test func createListDestroyThroughTheCLI() throws {
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            let cfg = try d.config("idle1", test: "idle")
            let created = try d.cli(["create", cfg])
            #expect(created.status == 0, "\(created.stderr)")
            #expect(created.stderr.contains("domain idle1 created"))

            let list = try d.cli(["list"])
            #expect(list.status == 0)
            #expect(list.lines.first?.hasPrefix("Name") == true && list.lines.first?.contains("Time(s)") == true)
            #expect(list.lines.contains { $0.hasPrefix("Domain-0 ") })
            let row = try #require(list.lines.first { $0.hasPrefix("idle1 ") }, "\(list.stdout)")
            let fields = row.split(separator: " ")
            #expect(fields[1] == "1" && fields[2] == "32" && fields[3] == "1", "\(row)")

            let vcpus = try d.cli(["vcpu-list", "idle1"])
            #expect(vcpus.lines.count == 2 && vcpus.lines[1].hasPrefix("idle1 "), "\(vcpus.stdout)")

            let info = try d.cli(["info"])
            #expect(info.lines.contains { $0.hasPrefix("xen_version") && $0.contains("4.17") }, "\(info.stdout)")

            #expect(try d.cli(["destroy", "idle1"]).status == 0)
            let after = try d.cli(["list"])
            #expect(!after.lines.contains { $0.hasPrefix("idle1 ") })
            let again = try d.cli(["destroy", "idle1"])
            #expect(again.status == 1 && again.stderr.contains("no domain named"), "\(again.stderr)")
            #expect(try d.cli(["dmesg"]).stdout.contains("domain 1 (idle1) created"))
        }

        @Test func pauseStopsTheGuestAndUnpauseResumesIt() throws {
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            #expect(try d.cli(["create", try d.config("p1", test: "idle")]).status == 0)
            #expect(try d.cli(["pause", "p1"]).status == 0)
            let paused = try d.waitForList { $0.first { $0.name == "p1" }?.state == "--p---" }
            #expect(paused.first { $0.name == "p1" }?.state == "--p---")
            usleep(100_000)  // the vCPU leaves the guest at its next exit
            let t0 = try d.waitForList { _ in true }.first { $0.name == "p1" }?.timeSeconds ?? -1
            usleep(300_000)
            let still = try d.waitForList { _ in true }
            #expect(still.first { $0.name == "p1" }?.timeSeconds == t0, "a paused domain accumulates no CPU time")
            #expect(try d.cli(["unpause", "p1"]).status == 0)
            let twice = try d.cli(["unpause", "p1"])
            #expect(twice.status == 1 && twice.stderr.contains("not paused"))
            let running = try d.waitForList { $0.first { $0.name == "p1" }.map { !$0.state.contains("p") } ?? false }
            #expect(running.first { $0.name == "p1" }.map { !$0.state.contains("p") } == true)
        }

        /// A faulting guest crashes only itself; on_crash="restart" brings it back with a new id.
        @Test func crashingDomainLeavesOthersRunningAndRestarts() throws {
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            #expect(try d.cli(["create", try d.config("steady", test: "idle")]).status == 0)
            #expect(try d.cli(["create", try d.config("faulty", test: "fault", ["on_crash = \"restart\""])]).status == 0)
            // The faulting guest dies at every boot: it is restarted (new ids) until the daemon's
            // restart limit, while the steady one keeps running.
            let rows = try d.waitForList { ($0.first { $0.name == "faulty" }?.id ?? 0) >= 4 }
            #expect((rows.first { $0.name == "faulty" }?.id ?? 0) >= 4, "\(rows)")
            let steady = try #require(rows.first { $0.name == "steady" })
            #expect(steady.id == 1 && !steady.state.contains("c") && !steady.state.contains("s"), "\(steady)")
            let log = try d.cli(["dmesg"]).stdout
            #expect(log.contains("crashed: restart"), "\(log)")
            #expect(log.contains("guest crashed on"), "the crash report is logged")
            #expect(try d.cli(["destroy", "faulty"]).status == 0 || true)
            #expect(try d.cli(["list"]).lines.contains { $0.hasPrefix("steady ") })
        }

        /// on_poweroff="preserve" keeps a stopped domain listed (state s) until destroyed.
        @Test func preserveKeepsAStoppedDomain() throws {
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            #expect(try d.cli(["create", try d.config("kept", test: "console", ["on_poweroff = \"preserve\""])]).status == 0)
            let rows = try d.waitForList { $0.first { $0.name == "kept" }?.state == "---s--" }
            #expect(rows.first { $0.name == "kept" }?.state == "---s--", "\(rows)")
            #expect(try d.cli(["destroy", "kept"]).status == 0)
            #expect(!(try d.cli(["list"]).lines.contains { $0.hasPrefix("kept ") }))
        }

        @Test func badRequestsGetClearErrors() throws {
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            let missing = try d.cli(["create", d.stateDir + "/nope.cfg"])
            #expect(missing.status == 1 && missing.stderr.contains("nope.cfg"), "\(missing.stderr)")
            let badKernel = try d.cli(["create", try d.config("bad", test: "console", ["kernel = \"/etc/hostname\""])])
            #expect(badKernel.status == 1 && badKernel.stderr.contains("/etc/hostname"), "\(badKernel.stderr)")
            #expect(try d.cli(["pause", "nobody"]).stderr.contains("no domain named"))
            #expect(try d.cli(["create", try d.config("twice", test: "idle")]).status == 0)
            let dup = try d.cli(["create", try d.config("twice", test: "idle")])
            #expect(dup.status == 1 && dup.stderr.contains("already exists"), "\(dup.stderr)")

            // Garbage on the control socket gets an error reply and the daemon stays up.
            let conn = try UnixConnection.connect(path: d.stateDir + "/petrel.sock")
            try conn.write(line: "{not json")
            #expect(try conn.readLine()?.contains("\"ok\":false") == true)
            try conn.write(line: #"{"op":"explode"}"#)
            #expect(try conn.readLine()?.contains("\"ok\":false") == true)
            conn.close()
            #expect(try d.cli(["list"]).status == 0)
        }

        /// 200 domains created and destroyed: the daemon's fds, threads and RSS return to where
        /// they were.
        @Test func twoHundredDomainsLeakNothing() throws {
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            let cfg = try XLConfig.load(path: try d.config("leak", test: "idle"))
            let c = try d.client()
            defer { c.close() }
            func cycle(_ i: Int) throws {
                var spec = DomainSpec(config: cfg)
                spec.name = "leak\(i)"
                try c.call(ControlRequest(op: .create, spec: spec, wait: true))
                try c.call(ControlRequest(op: .destroy, domain: spec.name, wait: true))
            }
            func usage() -> (fds: Int, threads: Int, rssKiB: Int) {
                let fds = (try? HostProcess.run("/bin/ls", ["/proc/\(d.process.pid)/fd"]).stdout.split(separator: "\n").count) ?? -1
                let s = Host.threadsAndRSS(pid: String(d.process.pid)) ?? (-1, -1)
                return (fds, s.threads, s.rssKiB)
            }
            for i in 0..<10 { try cycle(i) }  // warm-up: allocator pools, the NIO loop, caches
            usleep(100_000)
            let before = usage()
            for i in 10..<210 { try cycle(i) }
            usleep(100_000)
            let after = usage()
            print("200-domain leak test: before \(before) after \(after)")
            // Fewer is fine (a control session's thread may still be ending at the first count).
            #expect(after.fds <= before.fds)
            #expect(after.threads <= before.threads)
            #expect(after.rssKiB - before.rssKiB < 16 * 1024, "RSS grew from \(before.rssKiB) to \(after.rssKiB) KiB")
            let rows = try c.call(ControlRequest(op: .list)).domains ?? []
            #expect(rows.count == 1, "only Domain-0 is left: \(rows)")
        }
    }
}
