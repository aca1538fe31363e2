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
        let out = try GuestBench(kernelPath: kernelPath).run("test=bench-hypercall n=\(iterations)", memoryMiB: 16)
        return Figures(hypercallMicros: try out.microsPerOp("hypercall"), bareExitMicros: try out.microsPerOp("bare"))
    }
}
