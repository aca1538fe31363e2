import Hypervisor
import Synchronization

/// `petrel bench hypercall`: the guest times N `xen_version` hypercalls and N bare port-I/O
/// exits in one run (TSC cycles); we turn cycles into microseconds with KVM's TSC rate.
public struct HypercallBench {
    public var kernelPath: String
    public var iterations: Int

    public init(kernelPath: String, iterations: Int = 100_000) {
        self.kernelPath = kernelPath
        self.iterations = iterations
    }

    public struct Figures: Sendable {
        public var hypercallMicros: Double
        public var bareExitMicros: Double
        public var ratio: Double { hypercallMicros / bareExitMicros }
        public var line: String {
            "hypercall petrel_us=\(Statistics.format(hypercallMicros, 3)) bare_exit_us=\(Statistics.format(bareExitMicros, 3)) ratio=\(Statistics.format(ratio, 3))"
        }
    }

    public func run() throws -> Figures {
        let output = Mutex<[UInt8]>([])
        let options = RunOptions(kernelPath: kernelPath, memoryMiB: 16,
                                 cmdline: "test=bench-hypercall n=\(iterations)", name: "bench-hypercall")
        let result = try ForegroundRun(options: options) { bytes in output.withLock { $0 += bytes } }.run()
        let text = String(decoding: output.withLock { $0 }, as: UTF8.self)
        guard result.outcome == .poweroff else {
            throw ToolstackError.engine("benchmark guest \(result.outcome.description):\n\(text)")
        }
        guard let khz = result.tscKHz, khz > 0 else { throw ToolstackError.engine("KVM did not report a TSC rate") }
        func cycles(_ name: String) throws -> (n: Double, cycles: Double) {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("bench \(name) ") }) else {
                throw ToolstackError.engine("benchmark guest printed no '\(name)' line:\n\(text)")
            }
            var n = 0.0, c = 0.0
            for word in line.split(separator: " ") {
                if word.hasPrefix("n=") { n = Double(word.dropFirst(2)) ?? 0 }
                if word.hasPrefix("cycles=") { c = Double(word.dropFirst(7)) ?? 0 }
            }
            guard n > 0, c > 0 else { throw ToolstackError.engine("malformed benchmark line: \(line)") }
            return (n, c)
        }
        let perMicro = Double(khz) / 1000
        let h = try cycles("hypercall"), b = try cycles("bare")
        return Figures(hypercallMicros: h.cycles / h.n / perMicro, bareExitMicros: b.cycles / b.n / perMicro)
    }
}
