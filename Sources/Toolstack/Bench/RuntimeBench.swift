/// `petrel bench evtchn`: vCPU-to-vCPU event ping-pong round trip against a bare exit, timed
/// by the guest in one run.
public struct EvtchnBench {
    public var kernelPath: String
    public var iterations: Int
    public init(kernelPath: String, iterations: Int = 20_000) {
        self.kernelPath = kernelPath
        self.iterations = iterations
    }
    public func run() throws -> String {
        let out = try GuestBench(kernelPath: kernelPath, vcpus: 2).run("test=bench-evtchn n=\(iterations)")
        let rt = try out.microsPerOp("evtchn"), bare = try out.microsPerOp("bare")
        return "evtchn petrel_us=\(Statistics.format(rt, 3)) bare_exit_us=\(Statistics.format(bare, 3)) ratio=\(Statistics.format(rt / bare, 3))"
    }
}

/// `petrel bench timer`: lateness of 1 ms one-shot timers, measured by the guest's pvclock.
public struct TimerBench {
    public var kernelPath: String
    public var iterations: Int
    public init(kernelPath: String, iterations: Int = 1000) {
        self.kernelPath = kernelPath
        self.iterations = iterations
    }
    public func run() throws -> String {
        let v = try GuestBench(kernelPath: kernelPath).run("test=bench-timer n=\(iterations)").values("timer")
        guard let p50 = v["p50_ns"], let p99 = v["p99_ns"] else { throw ToolstackError.engine("malformed timer line") }
        return "timer p50_us=\(Statistics.format(p50 / 1000, 1)) p99_us=\(Statistics.format(p99 / 1000, 1))"
    }
}

/// `petrel bench gntcopy`: GNTTABOP_copy throughput in 4 KiB pieces against a plain memcpy of
/// the same bytes, both in the guest, same run.
public struct GntcopyBench {
    public var kernelPath: String
    public var bytes: Int
    public init(kernelPath: String, bytes: Int = 64 << 20) {
        self.kernelPath = kernelPath
        self.bytes = bytes
    }
    public func run() throws -> String {
        let out = try GuestBench(kernelPath: kernelPath).run("test=bench-gntcopy bytes=\(bytes)", memoryMiB: 64)
        let v = try out.values("gntcopy")
        guard let b = v["bytes"], let c = v["copy_cycles"], c > 0, let m = v["memcpy_cycles"], m > 0 else {
            throw ToolstackError.engine("malformed gntcopy line in:\n\(out.text)")
        }
        let hz = Double(out.tscKHz) * 1000
        let copy = b / (c / hz) / 1e9, memcpy = b / (m / hz) / 1e9
        return "gntcopy petrel_gbps=\(Statistics.format(copy, 3)) memcpy_gbps=\(Statistics.format(memcpy, 3)) ratio=\(Statistics.format(copy / memcpy, 3))"
    }
}
