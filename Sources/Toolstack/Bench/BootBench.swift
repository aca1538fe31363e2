import HostOS

/// `petrel bench boot`: wall time from process start to the guest's first console line and to
/// the process's exit, for `petrel run` and for QEMU booting the same image (PVH `-kernel` on
/// `-M microvm`, console on the debug port, exit through isa-debug-exit), in the same run.
///
/// The image is normally PetrelOS-mini (`Guests/MiniPVH`), which does no more than a guest
/// must to show it booted, so the figure is the hypervisor's. The full PetrelOS
/// (`test=boot`) can be timed alongside on Petrel only (`petrelos_ms`).
public struct BootBench {
    public var petrelPath: String
    public var kernelPath: String
    /// Also time `petrel run` of this image with `test=boot` (the full PetrelOS), if set.
    public var petrelOSPath: String?
    public var runs: Int
    public var qemuPath: String?

    public init(petrelPath: String, kernelPath: String, petrelOSPath: String? = nil, runs: Int = 20,
                qemuPath: String? = HostProcess.which("qemu-system-x86_64")) {
        self.petrelPath = petrelPath
        self.kernelPath = kernelPath
        self.petrelOSPath = petrelOSPath
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
        public var petrelOS: [Sample] = []
        public var petrelFirstLine: Double { Statistics.median(petrel.map(\.firstLineMillis)) }
        public var petrelExit: Double { Statistics.median(petrel.map(\.exitMillis)) }
        public var qemuFirstLine: Double { Statistics.median(qemu.map(\.firstLineMillis)) }
        public var qemuExit: Double { Statistics.median(qemu.map(\.exitMillis)) }
        public var petrelOSExit: Double { Statistics.median(petrelOS.map(\.exitMillis)) }

        /// `boot petrel_ms=… qemu_ms=… ratio=…` (exit times), then the first-line figures and
        /// the full PetrelOS's exit time when measured.
        public var line: String {
            let q = qemu.isEmpty ? "n/a" : Statistics.format(qemuExit)
            let r = qemu.isEmpty ? "n/a" : Statistics.format(petrelExit / qemuExit, 3)
            var s = "boot petrel_ms=\(Statistics.format(petrelExit)) qemu_ms=\(q) ratio=\(r)"
            s += " petrel_first_ms=\(Statistics.format(petrelFirstLine))"
            s += " qemu_first_ms=\(qemu.isEmpty ? "n/a" : Statistics.format(qemuFirstLine))"
            if !petrelOS.isEmpty { s += " petrelos_ms=\(Statistics.format(petrelOSExit))" }
            return s
        }
        public var detail: String {
            var s = "petrel: first line median \(Statistics.format(petrelFirstLine)) ms, exit median \(Statistics.format(petrelExit)) ms (\(petrel.count) runs)"
            if !qemu.isEmpty {
                s += "\nqemu:   first line median \(Statistics.format(qemuFirstLine)) ms, exit median \(Statistics.format(qemuExit)) ms (\(qemu.count) runs)"
            }
            if !petrelOS.isEmpty {
                s += "\npetrel, full PetrelOS test=boot: first line median \(Statistics.format(Statistics.median(petrelOS.map(\.firstLineMillis)))) ms, exit median \(Statistics.format(petrelOSExit)) ms (\(petrelOS.count) runs)"
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

    /// `petrel run` of `kernel`; `test=boot` makes PetrelOS stop after booting (PetrelOS-mini
    /// ignores its command line).
    func petrelArguments(_ kernel: String) -> [String] {
        ["run", kernel, "--memory", "16", "--cmdline", "test=boot"]
    }

    var qemuArguments: [String] {
        ["-accel", "kvm", "-M", "microvm,x-option-roms=off,rtc=off,pit=off,pic=off,isa-serial=off",
         "-m", "16", "-nodefaults", "-no-user-config", "-display", "none", "-vga", "none",
         "-debugcon", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
         "-kernel", kernelPath, "-append", "test=boot"]
    }

    public func run() throws -> Figures {
        // A missing image would otherwise show only as a run that printed nothing.
        for path in [kernelPath] + (petrelOSPath.map { [$0] } ?? []) where !HostProcess.fileExists(path) {
            throw ToolstackError.engine("\(path): no such file")
        }
        var figures = Figures(petrel: [], qemu: [])
        // Interleave them so drift on a noisy machine hits all alike.
        for _ in 0..<runs {
            figures.petrel.append(try Self.timeSucceeding(petrelPath, petrelArguments(kernelPath)))
            if let qemuPath { figures.qemu.append(try Self.time(qemuPath, qemuArguments)) }
            if let petrelOSPath { figures.petrelOS.append(try Self.timeSucceeding(petrelPath, petrelArguments(petrelOSPath))) }
        }
        return figures
    }

    static func timeSucceeding(_ path: String, _ args: [String]) throws -> Sample {
        let s = try time(path, args)
        guard s.status == 0 else { throw ToolstackError.engine("petrel \(args.joined(separator: " ")) exited with status \(s.status)") }
        return s
    }
}
