import HostOS
import Synchronization

/// `petrel bench pcpu`: what a `pcpu-offline` costs, through a daemon spawned for the run (in
/// a scratch state directory) holding a 2-vCPU PetrelOS guest (`test=pcpu mode=load tick=20`,
/// both vCPU threads alive, each waking every 20 ms) and a privileged one running the pCPU driver (`test=pcpu mode=bench`).
/// Over `cycles` offline/online cycles of the highest online pCPU (after 3 warm-up cycles), the
/// medians of:
/// - migrate: from sending `pcpu-offline` to every vCPU thread of every domain having that
///   CPU out of its affinity (`sched_getaffinity`; the kernel moves a running thread off a
///   CPU before `sched_setaffinity` returns, so that is "moved"). Baseline, same run: a plain
///   `sched_setaffinity` round trip on a host thread of ours (set, then read back), with the
///   thread sleeping in 20 ms steps like the guest's vCPUs. Also timed (stderr, `noop_ms`): a
///   `pcpu-online` of a CPU already online, the same request, rescan and reply with nothing to
///   move, so migrate − noop is what moving the threads and raising the VIRQ cost.
/// - resync: from sending `pcpu-offline` to the host reading the marker line `R<n>` the
///   privileged guest prints as soon as its resync is done (VIRQ_PCPU_STATE delivery, the
///   guest's full re-enumeration, and a 3-byte console line's way back; the marker is short
///   because on a slow host each console byte costs the guest ~0.1 ms). The guest's own share,
///   from its upcall to the end of the resync by its pvclock, comes in the line after the
///   marker and is reported apart (`guest_resync_ms`). Compared with migrate.
/// - enum_us_per_cpu: the guest's full enumeration (XENPF_get_cpuinfo for every index up to
///   max_present, compare, commit) per pCPU, timed by the guest over `enumerations` runs.
///   Baseline, same guest and run: a xen_version hypercall round trip.
public struct PCPUBench {
    public var petrelPath: String
    public var kernelPath: String
    public var cycles: Int
    public var enumerations: Int

    public init(petrelPath: String, kernelPath: String, cycles: Int = 100, enumerations: Int = 200) {
        self.petrelPath = petrelPath
        self.kernelPath = kernelPath
        self.cycles = cycles
        self.enumerations = enumerations
    }

    public struct Figures: Sendable {
        public var cpu: Int
        public var migrateMillis: [Double]
        public var resyncMillis: [Double]
        public var guestResyncMillis: [Double]
        public var setAffinityMillis: [Double]
        /// `pcpu-online` of an online CPU: the control round trip and rescan alone.
        public var noopMillis: [Double]
        public var enumMicrosPerCPU: Double
        public var hypercallMicros: Double
        /// One bare XENPF_get_cpuinfo round trip, by the guest (the enumeration's floor).
        public var getCPUInfoMicros: Double
        public var enumeratedCPUs: Int

        public var migrate: Double { Statistics.median(migrateMillis) }
        public var resync: Double { Statistics.median(resyncMillis) }
        public var setAffinity: Double { Statistics.median(setAffinityMillis) }

        public var line: String {
            "pcpu migrate_ms=\(Statistics.format(migrate, 3)) resync_ms=\(Statistics.format(resync, 3)) "
                + "enum_us_per_cpu=\(Statistics.format(enumMicrosPerCPU, 2)) "
                + "setaffinity_ms=\(Statistics.format(setAffinity, 3)) migrate_ratio=\(Statistics.format(migrate / setAffinity, 1)) "
                + "resync_vs_migrate=\(Statistics.format(resync / migrate, 2)) "
                + "hypercall_us=\(Statistics.format(hypercallMicros, 2)) enum_ratio=\(Statistics.format(enumMicrosPerCPU / hypercallMicros, 2))"
        }

        public var detail: String {
            func spread(_ xs: [Double]) -> String {
                "p10=\(Statistics.format(Statistics.percentile(xs, 10), 3)) p50=\(Statistics.format(Statistics.median(xs), 3)) "
                    + "p90=\(Statistics.format(Statistics.percentile(xs, 90), 3))"
            }
            return "pcpu-offline \(cpu), \(migrateMillis.count) cycles; migrate_ms \(spread(migrateMillis)); "
                + "resync_ms \(spread(resyncMillis)); guest_resync_ms \(spread(guestResyncMillis)); "
                + "setaffinity_ms \(spread(setAffinityMillis)); noop_ms \(spread(noopMillis)); enumeration over \(enumeratedCPUs) pCPU indexes, "
                + "getcpuinfo_us=\(Statistics.format(getCPUInfoMicros, 2))"
        }
    }

    public func run() throws -> Figures {
        guard Host.onlineCPUCount >= 2 else { throw ToolstackError.engine("bench pcpu needs two online host CPUs") }
        let daemon = try ScratchDaemon(petrelPath: petrelPath)
        defer { daemon.stop() }
        let dir = daemon.dir
        let client = try ControlClient(stateDir: dir)
        defer { client.close() }

        try client.call(ControlRequest(op: .create, spec: DomainSpec(
            name: "load", kernel: kernelPath, cmdline: "test=pcpu mode=load tick=20", memoryMiB: 32, vcpus: 2)))
        try client.call(ControlRequest(op: .create, spec: DomainSpec(
            name: "driver", kernel: kernelPath, cmdline: "test=pcpu mode=bench n=\(enumerations)", memoryMiB: 32,
            privileged: true)))
        let load = try ConsoleTap(stateDir: dir, domain: "load")
        defer { load.close() }
        let driver = try ConsoleTap(stateDir: dir, domain: "driver")
        defer { driver.close() }
        _ = try load.waitForLine(timeoutMs: 20_000) { $0.hasPrefix("pcpu load up vcpus=2") }
        let enumLine = try driver.waitForLine(timeoutMs: 60_000) { $0.hasPrefix("bench pcpu-enum ") }
        _ = try driver.waitForLine(timeoutMs: 20_000) { $0 == "pcpu watching" }
        let enumValues = Self.values(enumLine.text)

        let vcpus = try client.call(ControlRequest(op: .vcpuList)).vcpus ?? []
        let tids = vcpus.compactMap { $0.tid.map(Int32.init) }
        guard tids.count >= 3 else { throw ToolstackError.engine("expected 3 vCPU threads, vcpu-list shows \(vcpus)") }
        let pcpus = try client.call(ControlRequest(op: .pcpuList)).pcpus ?? []
        let online = pcpus.filter(\.online).map(\.id)
        guard let cpu = online.last(where: { $0 != 0 }) else { throw ToolstackError.engine("no online pCPU but 0") }
        defer { _ = try? client.call(ControlRequest(op: .pcpuOnline, pcpu: cpu)) }

        var migrate: [Double] = [], resync: [Double] = [], guest: [Double] = [], noop: [Double] = []
        var generation = driver.lastGeneration
        /// The next resync: the marker's arrival and the guest's own figures.
        func nextResync() throws -> (at: UInt64, line: String) {
            let marker = try driver.waitForLine(timeoutMs: 10_000) { (Self.marker($0) ?? 0) > generation }
            generation = Self.marker(marker.text) ?? generation
            let done = try driver.waitForLine(timeoutMs: 10_000) { ConsoleTap.generation(of: $0) == generation }
            return (marker.at, done.text)
        }
        for i in 0..<(cycles + 3) {
            let t0 = Host.monotonicNanoseconds()
            try client.call(ControlRequest(op: .pcpuOffline, pcpu: cpu))
            try Self.waitAffinity(tids, without: cpu)
            let moved = Host.monotonicNanoseconds()
            let done = try nextResync()
            if i >= 3 {
                migrate.append(Double(moved - t0) / 1e6)
                resync.append(Double(done.at > t0 ? done.at - t0 : 0) / 1e6)
                guest.append((Self.values(done.line)["event_ns"] ?? .nan) / 1e6)
            }
            try client.call(ControlRequest(op: .pcpuOnline, pcpu: cpu))
            try Self.waitAffinity(tids, with: cpu)
            _ = try nextResync()
            let n0 = Host.monotonicNanoseconds()
            try client.call(ControlRequest(op: .pcpuOnline, pcpu: cpu))
            if i >= 3 { noop.append(Double(Host.monotonicNanoseconds() - n0) / 1e6) }
        }
        return Figures(cpu: cpu, migrateMillis: migrate, resyncMillis: resync, guestResyncMillis: guest,
                       setAffinityMillis: try Self.setAffinityBaseline(online: online, cpu: cpu, runs: cycles),
                       noopMillis: noop,
                       enumMicrosPerCPU: (enumValues["ns_per_cpu"] ?? .nan) / 1000,
                       hypercallMicros: (enumValues["hypercall_ns"] ?? .nan) / 1000,
                       getCPUInfoMicros: (enumValues["getcpuinfo_ns"] ?? .nan) / 1000,
                       enumeratedCPUs: Int(enumValues["cpus"] ?? 0))
    }

    /// Polls `sched_getaffinity` until no thread may run on `cpu` (or every one may).
    static func waitAffinity(_ tids: [Int32], without cpu: Int) throws {
        try waitAffinity(tids) { !$0.contains(cpu) }
    }

    static func waitAffinity(_ tids: [Int32], with cpu: Int) throws {
        try waitAffinity(tids) { $0.contains(cpu) }
    }

    private static func waitAffinity(_ tids: [Int32], _ ok: ([Int]) -> Bool) throws {
        let deadline = Host.monotonicNanoseconds() + 5_000_000_000
        while try !tids.allSatisfy({ ok(try HostCPUAffinity.get(thread: $0)) }) {
            guard Host.monotonicNanoseconds() < deadline else {
                throw ToolstackError.engine("vCPU threads' affinity did not follow within 5 s")
            }
        }
    }

    /// The baseline: moving one of our own threads off `cpu` and back with sched_setaffinity,
    /// timed from the call to reading the new mask back.
    static func setAffinityBaseline(online: [Int], cpu: Int, runs: Int) throws -> [Double] {
        let stop = Atomic<Bool>(false)
        let thread = try HostThread(name: "bench-sleeper") {
            while !stop.load(ordering: .relaxed) { Host.sleep(milliseconds: 20) }
        }
        defer {
            stop.store(true, ordering: .relaxed)
            thread.join()
        }
        let tid = thread.waitForTID()
        let rest = online.filter { $0 != cpu }
        var out: [Double] = []
        for i in 0..<(runs + 3) {
            let t0 = Host.monotonicNanoseconds()
            try HostCPUAffinity.set(rest, thread: tid)
            try waitAffinity([tid], without: cpu)
            let t1 = Host.monotonicNanoseconds()
            if i >= 3 { out.append(Double(t1 - t0) / 1e6) }
            try HostCPUAffinity.set(online, thread: tid)
            try waitAffinity([tid], with: cpu)
        }
        return out
    }

    /// N of the guest's `R<N>` marker line (`test=pcpu` with quiet=1).
    static func marker(_ line: String) -> Int? {
        guard line.hasPrefix("R"), line.count > 1 else { return nil }
        return Int(line.dropFirst())
    }

    /// `key=value` words of a guest line, as numbers.
    static func values(_ line: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for word in line.split(separator: " ") {
            let kv = word.split(separator: "=", maxSplits: 1)
            if kv.count == 2, let v = Double(kv[1]) { out[String(kv[0])] = v }
        }
        return out
    }
}

extension PCPUBench {
    /// A daemon domain's console, read line by line on a thread of its own, each line stamped
    /// with the monotonic time it arrived (the `console` op of docs/control-api.md: the
    /// buffered output first, then output as it comes).
    ///
    /// Locking: the lines sit behind a mutex; the reader unparks the one waiter after each.
    public final class ConsoleTap: Sendable {
        public struct Line: Sendable {
            public var text: String
            /// `Host.monotonicNanoseconds()` when the line was read.
            public var at: UInt64
        }
        /// What the reader thread and the waiter share.
        private final class Buffer: Sendable {
            let lines = Mutex<[Line]>([])
            let cursor = Mutex(0)
            let finished = Latch()
            let arrived = Parker()
        }
        private let connection: UnixConnection
        private let buffer = Buffer()
        private let reader: HostThread

        public init(stateDir: String, domain: String) throws {
            connection = try UnixConnection.connect(path: stateDir + "/petrel.sock")
            try connection.write(line: ControlCodec.encode(ControlRequest(op: .console, domain: domain)))
            guard let reply = try connection.readLine(),
                  (try? ControlCodec.decode(ControlResponse.self, from: reply))?.ok == true else {
                connection.close()
                throw ToolstackError.engine("console \(domain): refused")
            }
            let (conn, b) = (connection, buffer)
            reader = try HostThread(name: "console-tap") {
                while let text = try? conn.readLine() {
                    let line = Line(text: text, at: Host.monotonicNanoseconds())
                    b.lines.withLock { $0.append(line) }
                    b.arrived.unpark()
                }
                b.finished.open()
                b.arrived.unpark()
            }
        }

        /// Every line so far.
        public var all: [Line] { buffer.lines.withLock { $0 } }

        /// The next line (after those already taken by this method) that `match` accepts;
        /// throws after `timeoutMs` or when the console ends first.
        public func waitForLine(timeoutMs: Int, _ match: (String) -> Bool) throws -> Line {
            let deadline = Host.monotonicNanoseconds() + UInt64(timeoutMs) * 1_000_000
            while true {
                let b = buffer
                let (found, ended) = b.lines.withLock { ls -> (Line?, Bool) in
                    b.cursor.withLock { c in
                        while c < ls.count {
                            defer { c += 1 }
                            if match(ls[c].text) { return (ls[c], false) }
                        }
                        return (nil, b.finished.opened)
                    }
                }
                if let found { return found }
                if ended { throw ToolstackError.engine("console ended; it said:\n\(text)") }
                guard Host.monotonicNanoseconds() < deadline else {
                    throw ToolstackError.engine("no matching console line within \(timeoutMs) ms; it said:\n\(text)")
                }
                b.arrived.park(until: deadline)
            }
        }

        /// The highest `pcpu resync done n=…` generation read so far (0: none).
        public var lastGeneration: Int { all.compactMap { Self.generation(of: $0.text) }.max() ?? 0 }

        /// N of a `pcpu resync done n=N …` line.
        public static func generation(of line: String) -> Int? {
            guard line.hasPrefix("pcpu resync done n=") else { return nil }
            return Int(line.dropFirst("pcpu resync done n=".count).prefix { $0.isNumber })
        }

        /// Everything read, as text.
        public var text: String { all.map(\.text).joined(separator: "\n") }

        public func close() {
            connection.shutdown()
            reader.join()
            connection.close()
        }
    }
}
