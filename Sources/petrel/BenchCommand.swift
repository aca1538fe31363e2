import ArgumentParser
import HostOS
import Toolstack

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Petrel against a baseline taken in the same run.",
        subcommands: [Boot.self, Hypercall.self, Evtchn.self, Timer.self, Gntcopy.self, Create.self, Xenstore.self, Pcpu.self])

    struct Boot: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "boot", abstract: "Process start to first console line and to exit: Petrel vs QEMU microvm.")
        @Option(help: "Runs of each.") var runs: Int = 20
        @Option(help: "Guest image (default: the bundled minimal PVH guest, PetrelOS-mini).") var kernel: String?

        func run() throws {
            Petrel.bootstrapLogging()
            // With the default image, the full PetrelOS (test=boot) is timed alongside if built.
            let bench = BootBench(petrelPath: HostProcess.currentExecutable, kernelPath: try kernel ?? MiniKernel.locate(),
                                  petrelOSPath: kernel == nil ? try? DemoKernel.locate() : nil, runs: max(1, runs))
            if bench.qemuPath == nil { CLIEnvironment.writeStderr("petrel: qemu-system-x86_64 not found; no baseline\n") }
            let f = try bench.run()
            CLIEnvironment.writeStderr(f.detail + "\n")
            print(f.line)
        }
    }

    struct Hypercall: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hypercall", abstract: "xen_version hypercall round trip vs a bare port-I/O exit, timed by the guest.")
        @Option(help: "Iterations of each loop.") var n: Int = 100_000
        @Option(help: "Guest image (default: the bundled PetrelOS).") var kernel: String?

        func run() throws {
            Petrel.bootstrapLogging()
            let f = try HypercallBench(kernelPath: try kernel ?? DemoKernel.locate(), iterations: max(1, n)).run()
            print(f.line)
        }
    }

    struct Evtchn: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "evtchn", abstract: "vCPU-to-vCPU event ping-pong round trip vs a bare exit (2 vCPUs).")
        @Option(help: "Round trips.") var n: Int = 20_000
        @Option(help: "Guest image (default: the bundled PetrelOS).") var kernel: String?
        func run() throws {
            Petrel.bootstrapLogging()
            print(try EvtchnBench(kernelPath: try kernel ?? DemoKernel.locate(), iterations: max(1, n)).run())
        }
    }

    struct Timer: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "timer", abstract: "Lateness of 1 ms one-shot timers (p50, p99).")
        @Option(help: "Timers.") var n: Int = 1000
        @Option(help: "Guest image (default: the bundled PetrelOS).") var kernel: String?
        func run() throws {
            Petrel.bootstrapLogging()
            print(try TimerBench(kernelPath: try kernel ?? DemoKernel.locate(), iterations: max(1, n)).run())
        }
    }

    struct Gntcopy: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gntcopy", abstract: "GNTTABOP_copy throughput in 4 KiB pieces vs memcpy of the same bytes.")
        @Option(help: "Bytes to copy.") var bytes: Int = 64 << 20
        @Option(help: "Guest image (default: the bundled PetrelOS).") var kernel: String?
        func run() throws {
            Petrel.bootstrapLogging()
            print(try GntcopyBench(kernelPath: try kernel ?? DemoKernel.locate(), bytes: max(4096, bytes)).run())
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create", abstract: "Domains created, booted to their first line and destroyed per second through the daemon.")
        @Option(help: "Domains in a row.") var count: Int = 50
        @Option(help: "Guest image (default: the bundled PetrelOS).") var kernel: String?

        func run() throws {
            Petrel.bootstrapLogging()
            let f = try CreateBench(petrelPath: HostProcess.currentExecutable, kernelPath: try kernel ?? DemoKernel.locate(),
                                    count: max(1, count)).run()
            print(f.line)
        }
    }

    struct Xenstore: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "xenstore", abstract: "xenstore read/write operations per second: unix socket and guest ring vs in-process calls.")
        @Option(help: "Write+read rounds per trial on the socket and in process.") var n: Int = 10_000
        @Option(help: "Write+read rounds in the guest, over its ring.") var ringN: Int = 1000
        @Option(help: "Guest image (default: the bundled PetrelOS).") var kernel: String?

        func run() throws {
            Petrel.bootstrapLogging()
            let f = try XenStoreBench(petrelPath: HostProcess.currentExecutable, kernelPath: try kernel ?? DemoKernel.locate(),
                                      rounds: max(1, n), ringRounds: max(1, ringN)).run()
            CLIEnvironment.writeStderr(f.detail + "\n")
            print(f.line)
        }
    }

    struct Pcpu: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pcpu",
            abstract: "pcpu-offline to vCPU threads moved and to a privileged guest's resync; the guest's enumeration per pCPU.")
        @Option(help: "Offline/online cycles.") var cycles: Int = 100
        @Option(help: "Full enumerations the guest times.") var enumerations: Int = 200
        @Option(help: "Guest image (default: the bundled PetrelOS).") var kernel: String?

        func run() throws {
            Petrel.bootstrapLogging()
            let f = try PCPUBench(petrelPath: HostProcess.currentExecutable, kernelPath: try kernel ?? DemoKernel.locate(),
                                  cycles: max(1, cycles), enumerations: max(1, enumerations)).run()
            CLIEnvironment.writeStderr(f.detail + "\n")
            print(f.line)
        }
    }
}
