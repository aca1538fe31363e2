import Glibc
import HostOS
import Testing
import Toolstack

/// Physical-CPU management through the daemon and the CLI, with real guests: `pcpu-offline`
/// moves every vCPU thread of a running guest (read back from the host's side) and
/// `pcpu-online` lets them return; Xen's errnos for what must be refused; a privileged
/// PetrelOS guest's pCPU driver (`test=pcpu`, Guests/PetrelOS/Kernel/PCPU*.swift) agreeing
/// with `petrel pcpu-list`, hearing of changes on VIRQ_PCPU_STATE, and offlining a pCPU
/// itself; an unprivileged guest refused every XENPF command.
///
/// The pCPU offlined is the highest online one other than 0 (1 on a 2-CPU host). Petrel's
/// offline is its own (the host CPU stays online), and the daemon is stopped at the end of
/// each test, so nothing outlives a test.
extension KVMIntegration {
    @Suite(.enabled(if: Env.canBoot && Host.onlineCPUCount >= 2, "needs /dev/kvm, the guest, petrel and two host CPUs"))
    struct PhysicalCPUDaemonTests {
        // MARK: vCPU threads

        @Test func offlineMovesEveryVCPUThreadAndOnlineLetsThemBack() throws {
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            #expect(try d.cli(["create", try d.config("load", test: "pcpu mode=load", ["vcpus = 2"])]).status == 0)
            let console = try PCPUBench.ConsoleTap(stateDir: d.stateDir, domain: "load")
            defer { console.close() }
            _ = try console.waitForLine(timeoutMs: 20_000) { $0 == "pcpu load up vcpus=2" }

            let tids = try Self.vcpuThreads(d, domain: "load")
            try #require(tids.count == 2, "vcpu-list shows a host thread per vCPU")
            let daemonTasks = Self.tasks(of: d.process.pid)
            #expect(tids.allSatisfy(daemonTasks.contains), "the vCPU threads are the daemon's: \(tids) in \(daemonTasks)")
            let before = try Self.pcpuList(d)
            let online = before.filter(\.online).map(\.id)
            let cpu = try #require(online.last { $0 != 0 })
            for tid in tids {
                #expect(try HostCPUAffinity.get(thread: tid) == online)
                #expect(Self.allowedList(pid: d.process.pid, tid: tid) == online)
            }

            let off = try d.cli(["pcpu-offline", String(cpu)])
            #expect(off.status == 0, "\(off.stderr)")
            let rest = online.filter { $0 != cpu }
            // The daemon answers once every thread has left the CPU: no waiting here.
            for tid in tids {
                #expect(try HostCPUAffinity.get(thread: tid) == rest, "sched_getaffinity(\(tid))")
                #expect(Self.allowedList(pid: d.process.pid, tid: tid) == rest, "/proc/\(d.process.pid)/task/\(tid)/status")
            }
            // Each vCPU wakes every 5 ms; where it last ran follows.
            #expect(Self.eventually { tids.allSatisfy { Self.lastCPU(pid: d.process.pid, tid: $0).map(rest.contains) == true } },
                    "every vCPU thread last ran on a remaining CPU")
            let during = try Self.pcpuList(d)
            let row = try #require(during.first { $0.id == cpu })
            #expect(!row.online && row.vcpus.isEmpty, "\(row)")
            #expect(Set(during.filter(\.online).flatMap(\.vcpus)) == ["d1v0", "d1v1"], "pcpu-list: \(during)")

            let on = try d.cli(["pcpu-online", String(cpu)])
            #expect(on.status == 0, "\(on.stderr)")
            for tid in tids {
                #expect(try HostCPUAffinity.get(thread: tid) == online)
                #expect(Self.allowedList(pid: d.process.pid, tid: tid) == online)
            }
            #expect(try Self.pcpuList(d).first { $0.id == cpu }?.online == true)
        }

        /// Xen's errnos through the CLI: CPU 0 (EOPNOTSUPP, checked first, so also when it is
        /// the last online CPU), a CPU that is not present (EINVAL); offlining twice is fine.
        @Test func refusedRequestsCarryXensErrno() throws {
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            let online = try Self.pcpuList(d).filter(\.online).map(\.id)
            let cpu = try #require(online.last { $0 != 0 })
            let missing = String((try Self.pcpuList(d).map(\.id).max() ?? 0) + 1)

            let zero = try d.cli(["pcpu-offline", "0"])
            #expect(zero.status == 1 && zero.stderr.contains("EOPNOTSUPP"), "\(zero.stderr)")
            for op in ["pcpu-offline", "pcpu-online"] {
                let r = try d.cli([op, missing])
                #expect(r.status == 1 && r.stderr.contains("EINVAL"), "\(op) \(missing): \(r.stderr)")
            }
            let negative = try d.cli(["pcpu-offline", "--", "-1"])
            #expect(negative.status == 1 && negative.stderr.contains("which pCPU"), "\(negative.stderr)")

            // Down to one online CPU: the last one is refused with Xen's errno.
            for other in online where other != 0 {
                #expect(try d.cli(["pcpu-offline", String(other)]).status == 0)
            }
            #expect(try d.cli(["pcpu-offline", String(cpu)]).status == 0, "already offline: success, as Xen")
            let last = try d.cli(["pcpu-offline", "0"])
            #expect(last.status == 1 && last.stderr.contains("EOPNOTSUPP"), "\(last.stderr)")
            #expect(try Self.pcpuList(d).filter(\.online).map(\.id) == [0])
            for other in online where other != 0 {
                #expect(try d.cli(["pcpu-online", String(other)]).status == 0)
            }
            #expect(try d.cli(["pcpu-online", "0"]).status == 0, "already online: success")
            #expect(try Self.pcpuList(d).filter(\.online).map(\.id) == online)
        }

        // MARK: the privileged guest's driver

        /// The guest's enumeration equals `pcpu-list`; an offline and an online from the CLI
        /// reach it as VIRQ_PCPU_STATE, its subscriber hears each, and its resynced list shows
        /// them.
        @Test func privilegedGuestEnumeratesAndFollowsTheCLI() throws {
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            #expect(try d.cli(["create", try d.config("drv", test: "pcpu mode=watch", ["privileged = true"])]).status == 0)
            let console = try PCPUBench.ConsoleTap(stateDir: d.stateDir, domain: "drv")
            defer { console.close() }
            let first = try console.waitForLine(timeoutMs: 30_000) { $0.hasPrefix("pcpu list") }
            _ = try console.waitForLine(timeoutMs: 10_000) { $0 == "pcpu watching" }
            let rows = try Self.pcpuList(d)
            #expect(Self.guestList(first.text) == rows.map(Self.entry), "guest: \(first.text)\npcpu-list: \(rows)")
            let cpu = try #require(rows.filter(\.online).map(\.id).last { $0 != 0 })

            #expect(try d.cli(["pcpu-offline", String(cpu)]).status == 0)
            let change = try console.waitForLine(timeoutMs: 10_000) { $0.hasPrefix("pcpu change ") }
            #expect(change.text == "pcpu change cpu=\(cpu) offline")
            let offList = try console.waitForLine(timeoutMs: 10_000) { $0.hasPrefix("pcpu list") }
            let offDone = try console.waitForLine(timeoutMs: 10_000) { $0.hasPrefix("pcpu resync done") }
            #expect(offDone.text.contains(" changes=1 "), "\(offDone.text)")
            let afterOff = try Self.pcpuList(d)
            #expect(Self.guestList(offList.text) == afterOff.map(Self.entry), "\(offList.text) vs \(afterOff)")
            #expect(Self.guestList(offList.text).first { $0.id == cpu }?.online == false)

            #expect(try d.cli(["pcpu-online", String(cpu)]).status == 0)
            let back = try console.waitForLine(timeoutMs: 10_000) { $0.hasPrefix("pcpu change ") }
            #expect(back.text == "pcpu change cpu=\(cpu) online")
            let onList = try console.waitForLine(timeoutMs: 10_000) { $0.hasPrefix("pcpu list") }
            _ = try console.waitForLine(timeoutMs: 10_000) { $0.hasPrefix("pcpu resync done") }
            #expect(Self.guestList(onList.text) == rows.map(Self.entry))
            #expect(!console.text.contains("FAIL"), "\(console.text)")
        }

        /// The guest offlines a pCPU itself (after checking Xen's errnos from the inside):
        /// the CLI shows it offline; the CLI's online then reaches the guest, which passes.
        @Test func privilegedGuestOfflinesAPCPUItself() throws {
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            let cpu = try #require(try Self.pcpuList(d).filter(\.online).map(\.id).last { $0 != 0 })
            #expect(try d.cli(["create", try d.config("self", test: "pcpu mode=self-offline cpu=\(cpu) events=1",
                                                      ["privileged = true", "on_poweroff = \"preserve\""])]).status == 0)
            let console = try PCPUBench.ConsoleTap(stateDir: d.stateDir, domain: "self")
            defer { console.close() }
            let result = try console.waitForLine(timeoutMs: 30_000) { $0.hasPrefix("pcpu self-offline cpu=") || $0.hasPrefix("FAIL") }
            #expect(result.text == "pcpu self-offline cpu=\(cpu) rc=0", "\(console.text)")
            _ = try console.waitForLine(timeoutMs: 10_000) { $0 == "pcpu self-offline done" || $0.hasPrefix("FAIL") }
            #expect(!console.text.contains("FAIL"), "\(console.text)")
            let rows = try Self.pcpuList(d)
            #expect(rows.first { $0.id == cpu }?.online == false, "\(rows)")

            #expect(try d.cli(["pcpu-online", String(cpu)]).status == 0)
            let verdict = try console.waitForLine(timeoutMs: 10_000) { $0.hasPrefix("PASS") || $0.hasPrefix("FAIL") }
            #expect(verdict.text == "PASS pcpu", "\(console.text)")
            #expect(console.text.contains("pcpu change cpu=\(cpu) online"))
            #expect(try Self.pcpuList(d).first { $0.id == cpu }?.online == true)
        }

        /// One-shot: a privileged guest's list and lookups pass; an unprivileged guest gets
        /// -EPERM for every XENPF command (and -EACCES for a wrong interface version first).
        @Test func unprivilegedGuestIsRefusedEveryPlatformOp() throws {
            let d = try DaemonHarness()
            defer { #expect(d.stop() == 0) }
            for (name, test, extra) in [("priv", "pcpu mode=list", ["privileged = true"]), ("unpriv", "pcpu mode=unpriv", [])] {
                let cfg = try d.config(name, test: test, extra + ["on_poweroff = \"preserve\""])
                #expect(try d.cli(["create", cfg]).status == 0)
                let console = try PCPUBench.ConsoleTap(stateDir: d.stateDir, domain: name)
                defer { console.close() }
                let verdict = try console.waitForLine(timeoutMs: 30_000) { $0.hasPrefix("PASS") || $0.hasPrefix("FAIL") }
                #expect(verdict.text == "PASS pcpu", "\(name): \(console.text)")
                if name == "unpriv" {
                    #expect(console.text.contains("pcpu unpriv: 256 commands -EPERM"), "\(console.text)")
                }
            }
        }

        // MARK: helpers

        struct Entry: Equatable, CustomStringConvertible {
            var id: Int
            var apic: String
            var acpi: String
            var online: Bool
            var description: String { "\(id):\(apic):\(acpi):\(online ? "online" : "offline")" }
        }

        static func entry(_ r: Row) -> Entry { Entry(id: r.id, apic: r.apic, acpi: r.acpi, online: r.online) }

        /// `pcpu list 0:apic=0:acpi=0:online …` as entries.
        static func guestList(_ line: String) -> [Entry] {
            line.split(separator: " ").dropFirst(2).compactMap { word in
                let f = word.split(separator: ":")
                guard f.count == 4, let id = Int(f[0]), f[1].hasPrefix("apic="), f[2].hasPrefix("acpi=") else { return nil }
                return Entry(id: id, apic: String(f[1].dropFirst(5)), acpi: String(f[2].dropFirst(5)), online: f[3] == "online")
            }
        }

        /// A row of `petrel pcpu-list` (CPU APIC ACPI Online vCPUs; `-` for an unknown id).
        struct Row: CustomStringConvertible {
            var id: Int
            var apic: String
            var acpi: String
            var online: Bool
            var vcpus: [String]
            var description: String { "\(id) \(apic) \(acpi) \(online ? "yes" : "no") \(vcpus)" }
        }

        /// `petrel pcpu-list` through the CLI, parsed.
        static func pcpuList(_ d: DaemonHarness) throws -> [Row] {
            let r = try d.cli(["pcpu-list"])
            guard r.status == 0, r.lines.first?.hasPrefix("CPU") == true else { throw HarnessError("pcpu-list: \(r.stderr)") }
            return r.lines.dropFirst().compactMap { line in
                let f = line.split(separator: " ")
                guard f.count >= 4, let id = Int(f[0]) else { return nil }
                return Row(id: id, apic: String(f[1]), acpi: String(f[2]), online: f[3] == "yes",
                           vcpus: f.count > 4 ? f[4].split(separator: ",").map(String.init) : [])
            }
        }

        static func vcpuThreads(_ d: DaemonHarness, domain: String) throws -> [Int32] {
            let c = try d.client()
            defer { c.close() }
            return (try c.call(ControlRequest(op: .vcpuList, domain: domain)).vcpus ?? []).compactMap { $0.tid.map(Int32.init) }
        }

        static func read(_ path: String) -> String? {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            return String(decoding: HostProcess.readAll(fd), as: UTF8.self)
        }

        /// The thread ids under /proc/PID/task.
        static func tasks(of pid: pid_t) -> [Int32] {
            (try? HostProcess.run("/bin/ls", ["/proc/\(pid)/task"]).stdout.split(separator: "\n").compactMap { Int32($0) }) ?? []
        }

        /// Cpus_allowed_list of /proc/PID/task/TID/status.
        static func allowedList(pid: pid_t, tid: Int32) -> [Int]? {
            guard let text = read("/proc/\(pid)/task/\(tid)/status"),
                  let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }) else { return nil }
            return try? HostCPUTopology.parseCPUList(String(line.dropFirst("Cpus_allowed_list:".count)))
        }

        /// Field 39 of /proc/PID/task/TID/stat: the CPU the thread last ran on.
        static func lastCPU(pid: pid_t, tid: Int32) -> Int? {
            read("/proc/\(pid)/task/\(tid)/stat").flatMap(HostCPUAffinity.parseStatProcessor)
        }

        /// Polls `body` for up to 2 s.
        static func eventually(_ body: () -> Bool) -> Bool {
            let deadline = Host.monotonicNanoseconds() + 2_000_000_000
            repeat {
                if body() { return true }
                usleep(5_000)
            } while Host.monotonicNanoseconds() < deadline
            return body()
        }
    }
}
