import HostOS

/// `petrel bench create`: domains created, booted to their first console line and destroyed
/// per second through a daemon (spawned for the run, in a scratch state directory), `count`
/// in a row; and the median create→first-line latency seen by the client. Baseline, in the
/// same run: `petrel run` of the same guest to its first line, one process per domain.
public struct CreateBench {
    public var petrelPath: String
    public var kernelPath: String
    public var count: Int

    public init(petrelPath: String, kernelPath: String, count: Int = 50) {
        self.petrelPath = petrelPath
        self.kernelPath = kernelPath
        self.count = count
    }

    public struct Figures: Sendable {
        public var perSecond: Double
        public var latenciesMillis: [Double]
        public var baselinePerSecond: Double
        public var line: String {
            "create per_s=\(Statistics.format(perSecond, 1)) median_ms=\(Statistics.format(Statistics.median(latenciesMillis))) "
                + "run_per_s=\(Statistics.format(baselinePerSecond, 1)) ratio=\(Statistics.format(perSecond / baselinePerSecond, 2))"
        }
    }

    public func run() throws -> Figures {
        let daemon = try ScratchDaemon(petrelPath: petrelPath)
        defer { daemon.stop() }
        let client = try ControlClient(stateDir: daemon.dir)
        defer { client.close() }
        // PetrelOS's minimal boot (as `bench boot`): first line, then poweroff; preserved so
        // that the destroy is the daemon's full teardown, as for a running domain.
        var spec = DomainSpec(name: "bench", kernel: kernelPath, cmdline: "test=boot", memoryMiB: 16,
                              onPoweroff: .preserve)
        var latencies: [Double] = []
        var start: UInt64 = 0
        // Domain 0 of the loop warms up (KVM's caches, the page cache); the rate and the
        // latencies are over the `count` domains after it.
        for i in 0...count {
            if i == 1 { start = Host.monotonicNanoseconds() }
            spec.name = "bench\(i)"
            let t0 = Host.monotonicNanoseconds()
            let r = try client.call(ControlRequest(op: .create, spec: spec, wait: true))
            guard r.outcome?.hasPrefix("first line") == true else {
                throw ToolstackError.engine("bench domain \(spec.name) printed no line")
            }
            if i > 0 { latencies.append(Double(Host.monotonicNanoseconds() - t0) / 1e6) }
            try client.call(ControlRequest(op: .destroy, domain: spec.name, wait: true))
        }
        let perSecond = Double(count) / (Double(Host.monotonicNanoseconds() - start) / 1e9)

        let runs = max(5, count / 5)
        let b0 = Host.monotonicNanoseconds()
        for _ in 0..<runs {
            let s = try BootBench.time(petrelPath, ["run", kernelPath, "--memory", "16", "--cmdline", "test=boot"])
            guard s.status == 0 else { throw ToolstackError.engine("petrel run exited with status \(s.status)") }
        }
        let baseline = Double(runs) / (Double(Host.monotonicNanoseconds() - b0) / 1e9)
        return Figures(perSecond: perSecond, latenciesMillis: latencies, baselinePerSecond: baseline)
    }
}
