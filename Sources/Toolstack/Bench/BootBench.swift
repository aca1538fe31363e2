import HostOS

/// `petrel bench boot`: wall time from process start to the guest's first console line and to
/// the process's exit, for `petrel run` and for QEMU booting the same image (PVH `-kernel` on
/// `-M microvm`, console on the debug port, exit through isa-debug-exit), in the same run.
public struct BootBench {
    public var petrelPath: String
    public var kernelPath: String
    public var runs: Int
    public var qemuPath: String?

    public init(petrelPath: String, kernelPath: String, runs: Int = 20, qemuPath: String? = HostProcess.which("qemu-system-x86_64")) {
        self.petrelPath = petrelPath
        self.kernelPath = kernelPath
        self.runs = runs
        self.qemuPath = qemuPath
    }

    public struct Sample: Sendable {
        public var firstLineMillis: Double
        public var exitMillis: Double
        public var status: Int32
    }

    public struct Figures: Sendable {
        public var petrel: [Sample]
        public var qemu: [Sample]
        public var petrelFirstLine: Double { Statistics.median(petrel.map(\.firstLineMillis)) }
        public var petrelExit: Double { Statistics.median(petrel.map(\.exitMillis)) }
        public var qemuFirstLine: Double { Statistics.median(qemu.map(\.firstLineMillis)) }
        public var qemuExit: Double { Statistics.median(qemu.map(\.exitMillis)) }
        public var line: String {
            let q = qemu.isEmpty ? "n/a" : Statistics.format(qemuExit)
            let r = qemu.isEmpty ? "n/a" : Statistics.format(petrelExit / qemuExit, 3)
            return "boot petrel_ms=\(Statistics.format(petrelExit)) qemu_ms=\(q) ratio=\(r)"
        }
        public var detail: String {
            var s = "petrel: first line median \(Statistics.format(petrelFirstLine)) ms, exit median \(Statistics.format(petrelExit)) ms (\(petrel.count) runs)"
            if !qemu.isEmpty {
                s += "\nqemu:   first line median \(Statistics.format(qemuFirstLine)) ms, exit median \(Statistics.format(qemuExit)) ms (\(qemu.count) runs)"
            }
            return s
        }
    }

    /// Runs one process and times its first complete stdout line and its exit.
    static func time(_ path: String, _ args: [String]) throws -> Sample {
        let start = Host.monotonicNanoseconds()
        let p = try HostProcess(path: path, arguments: [path] + args)
        var firstLine: UInt64?
        var out: [UInt8] = []
        while true {
            let chunk = p.readStdout()
            if chunk.isEmpty { break }
            out += chunk
            if firstLine == nil && out.contains(UInt8(ascii: "\n")) { firstLine = Host.monotonicNanoseconds() }
        }
        let status = p.wait()
        let end = Host.monotonicNanoseconds()
        let ms = { (t: UInt64) in Double(t - start) / 1e6 }
        guard let firstLine else {
            throw ToolstackError.engine("\(path) printed no line (status \(status)): \(String(decoding: out, as: UTF8.self))")
        }
        return Sample(firstLineMillis: ms(firstLine), exitMillis: ms(end), status: status)
    }

    public func run() throws -> Figures {
        var petrel: [Sample] = [], qemu: [Sample] = []
        let petrelArgs = ["run", kernelPath, "--memory", "16", "--cmdline", "test=boot"]
        let qemuArgs = ["-accel", "kvm", "-M", "microvm,x-option-roms=off,rtc=off,pit=off,pic=off,isa-serial=off",
                        "-m", "16", "-nodefaults", "-no-user-config", "-display", "none", "-vga", "none",
                        "-debugcon", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                        "-kernel", kernelPath, "-append", "test=boot"]
        // Interleave the two so drift on a noisy machine hits both alike.
        for _ in 0..<runs {
            let s = try Self.time(petrelPath, petrelArgs)
            guard s.status == 0 else { throw ToolstackError.engine("petrel run exited with status \(s.status)") }
            petrel.append(s)
            if let qemuPath { qemu.append(try Self.time(qemuPath, qemuArgs)) }
        }
        return Figures(petrel: petrel, qemu: qemu)
    }
}
