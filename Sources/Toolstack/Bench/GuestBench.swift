import Hypervisor
import Synchronization

/// Runs PetrelOS benchmark programs (`test=bench-…`) in the foreground and reads the
/// `bench NAME key=value …` lines they print.
public struct GuestBench {
    public var kernelPath: String
    public var vcpus: Int

    public init(kernelPath: String, vcpus: Int = 1) {
        self.kernelPath = kernelPath
        self.vcpus = vcpus
    }

    public struct Output {
        public var text: String
        public var tscKHz: UInt64
        /// The key=value pairs of the first `bench NAME` line.
        public func values(_ name: String) throws -> [String: Double] {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("bench \(name) ") }) else {
                throw ToolstackError.engine("benchmark guest printed no 'bench \(name)' line:\n\(text)")
            }
            var values: [String: Double] = [:]
            for word in line.split(separator: " ").dropFirst(2) {
                let kv = word.split(separator: "=", maxSplits: 1)
                if kv.count == 2, let v = Double(kv[1]) { values[String(kv[0])] = v }
            }
            return values
        }
        /// Microseconds per operation from a line with `n` and `cycles`.
        public func microsPerOp(_ name: String) throws -> Double {
            let v = try values(name)
            guard let n = v["n"], n > 0, let c = v["cycles"], c > 0 else {
                throw ToolstackError.engine("malformed 'bench \(name)' line in:\n\(text)")
            }
            return c / n / (Double(tscKHz) / 1000)
        }
    }

    public func run(_ cmdline: String, memoryMiB: UInt64 = 32) throws -> Output {
        let output = Mutex<[UInt8]>([])
        let options = RunOptions(kernelPath: kernelPath, memoryMiB: memoryMiB, cmdline: cmdline,
                                 name: "bench", vcpus: vcpus)
        let result = try ForegroundRun(options: options) { bytes in output.withLock { $0 += bytes } }.run()
        let text = String(decoding: output.withLock { $0 }, as: UTF8.self)
        guard result.outcome == .poweroff else {
            throw ToolstackError.engine("benchmark guest \(result.outcome.description):\n\(text)\n\(result.crashReport.map { "\($0)" } ?? "")")
        }
        guard let khz = result.tscKHz, khz > 0 else { throw ToolstackError.engine("KVM did not report a TSC rate") }
        return Output(text: text, tscKHz: khz)
    }
}
