import HostOS
import Testing

/// PetrelOS-mini (Guests/MiniPVH), the minimal PVH guest `petrel bench boot` times, on Petrel
/// and on QEMU; and the two benchmarks that boot guests, end to end with few iterations.
enum MiniGuest {
    static var image: String { Env.guestDir + "/minipvh.elf" }
    static var canBoot: Bool { Env.kvmAvailable && HostProcess.fileExists(image) && HostProcess.fileExists(Env.petrel) }
    static let skipReason: Comment = "needs /dev/kvm, minipvh.elf (Guests/MiniPVH/build.sh) and the petrel binary"

    static let qemu = HostProcess.which("qemu-system-x86_64")
    static let qemuSkipReason: Comment = "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86), or no /dev/kvm or minipvh.elf"

    /// The guest images the CLI should use, whatever directory the tests' guests were built in.
    static var environment: [String: String] { ["PETREL_DEMO_KERNEL": Env.guest, "PETREL_MINI_KERNEL": image] }

    /// `key=value` words of a benchmark line, numbers only.
    static func values(_ line: String) -> [String: Double] {
        var v: [String: Double] = [:]
        for word in line.split(separator: " ").dropFirst() {
            let kv = word.split(separator: "=", maxSplits: 1)
            if kv.count == 2, let d = Double(kv[1]) { v[String(kv[0])] = d }
        }
        return v
    }
}

extension KVMIntegration {
    @Suite(.enabled(if: MiniGuest.canBoot, MiniGuest.skipReason))
    struct MiniGuestTests {
        @Test func bootsOnPetrelPrintsItsLineAndPowersOff() throws {
            let r = try Env.petrel(["run", MiniGuest.image, "--memory", "16"], timeout: 60)
            #expect(r.lines == ["PetrelOS-mini: hello from Xen"], "stdout: \(r.stdout)\nstderr: \(r.stderr)")
            #expect(r.status == 0, "stderr: \(r.stderr)")
            #expect(r.stderr.contains("powered off"), "stderr: \(r.stderr)")
        }

        @Test(.enabled(if: MiniGuest.qemu != nil, MiniGuest.qemuSkipReason))
        func bootsOnQEMUWithoutXen() throws {
            let qemu = try #require(MiniGuest.qemu)
            let args = ["-s", "KILL", "60", qemu, "-accel", "kvm",
                        "-M", "microvm,x-option-roms=off,rtc=off,pit=off,pic=off,isa-serial=off",
                        "-m", "16", "-nodefaults", "-no-user-config", "-display", "none", "-vga", "none",
                        "-debugcon", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                        "-kernel", MiniGuest.image]
            let r = try HostProcess.run("/usr/bin/timeout", args)
            // No Xen: the line goes to the debug port; isa-debug-exit turns the 0 it writes
            // into exit status (0 << 1) | 1.
            #expect(r.stdout == "PetrelOS-mini: hello without Xen\n", "stderr: \(r.stderr)")
            #expect(r.status == 1, "stderr: \(r.stderr)")
        }

        @Test func benchBootPrintsItsLine() throws {
            let r = try Env.petrel(["bench", "boot", "--runs", "2"], environment: MiniGuest.environment, timeout: 120)
            #expect(r.status == 0, "stderr: \(r.stderr)")
            let line = try #require(r.lines.first { $0.hasPrefix("boot petrel_ms=") }, "stdout: \(r.stdout)")
            let v = MiniGuest.values(line)
            #expect((v["petrel_ms"] ?? 0) > 0 && (v["petrel_first_ms"] ?? 0) > 0, "\(line)")
            #expect((v["petrel_first_ms"] ?? .infinity) <= (v["petrel_ms"] ?? 0), "\(line)")
            #expect((v["petrelos_ms"] ?? 0) > 0, "the full PetrelOS is timed too: \(line)")
            if MiniGuest.qemu != nil {
                #expect((v["qemu_ms"] ?? 0) > 0 && (v["ratio"] ?? 0) > 0, "\(line)")
            } else {
                #expect(line.contains("qemu_ms=n/a ratio=n/a"), "\(line)")
            }
        }

        @Test func benchBootFailsOnAMissingImage() throws {
            let r = try Env.petrel(["bench", "boot", "--runs", "1", "--kernel", "/nonexistent/minipvh.elf"],
                                   environment: MiniGuest.environment, timeout: 60)
            #expect(r.status != 0)
            #expect(!r.stdout.contains("boot petrel_ms="), "stdout: \(r.stdout)")
            #expect(r.stderr.contains("/nonexistent/minipvh.elf: no such file"), "stderr: \(r.stderr)")
        }
    }

    @Suite(.enabled(if: Env.canBoot, Env.skipReason))
    struct HypercallBenchTests {
        @Test func guestPrintsBothLoops() throws {
            let r = try Env.guestTest("bench-hypercall", "n=500")
            #expect(r.status == 0, "stderr: \(r.stderr)")
            for name in ["hypercall", "bare"] {
                let line = try #require(r.lines.first { $0.hasPrefix("bench \(name) n=500 cycles=") }, "stdout: \(r.stdout)")
                #expect((MiniGuest.values(line)["cycles"] ?? 0) > 0, "\(line)")
            }
        }

        @Test func guestRefusesABadCount() throws {
            let r = try Env.guestTest("bench-hypercall", "n=zero")
            #expect(r.stdout.contains("FAIL bench-hypercall: bad n=zero"), "stdout: \(r.stdout)")
            #expect(!r.stdout.contains("bench bare"), "stdout: \(r.stdout)")
        }

        @Test func benchHypercallPrintsItsLine() throws {
            let r = try Env.petrel(["bench", "hypercall", "--n", "500", "--kernel", Env.guest], timeout: 120)
            #expect(r.status == 0, "stderr: \(r.stderr)")
            let line = try #require(r.lines.first { $0.hasPrefix("hypercall petrel_us=") }, "stdout: \(r.stdout)")
            let v = MiniGuest.values(line)
            #expect((v["petrel_us"] ?? 0) > 0 && (v["bare_exit_us"] ?? 0) > 0 && (v["ratio"] ?? 0) > 0, "\(line)")
        }
    }
}
