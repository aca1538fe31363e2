import EngineKVM
import GuestMemory
import HostOS
import Hypervisor
import Logging
import XenABI
import XenStore

/// `petrel run`: builds one PVH domain from a kernel image, runs it on KVM in the foreground
/// with its console on a sink, and reports how it ended.
public struct ForegroundRun {
    public let options: RunOptions
    public let logger: Logger
    /// Where the guest's console goes (stdout for the CLI, a buffer for benchmarks).
    public let consoleSink: Console.Sink
    /// Where the guest's console input comes from (`petrel run`: stdin); nil for none.
    public var consoleInput: ConsoleInputSource?

    public init(options: RunOptions, logger: Logger = Logger(label: "petrel.run"),
                consoleSink: @escaping Console.Sink) {
        self.options = options
        self.logger = logger
        self.consoleSink = consoleSink
    }

    /// What the run produced: the outcome, the crash report if any, and the live domain
    /// (for tests and benchmarks to inspect).
    public struct Result {
        public var outcome: RunOutcome
        public var crashReport: GuestCrashReport?
        public var domain: Domain
        public var tscKHz: UInt64?
    }

    public func run() throws(ToolstackError) -> Result {
        let t0 = Host.monotonicNanoseconds()
        func phase(_ what: String) {
            logger.debug("\(what) at +\((Host.monotonicNanoseconds() - t0) / 1000) us")
        }
        try options.validate()
        // Before anything is opened: a closed stdin must not be mistaken for the next fd.
        let input = ConsoleInputPump.prepare(consoleInput, logger: logger)
        defer { input?.stop() }
        let shutdownHook = try TestShutdownHook.fromEnvironment()
        let hypervisor = Hypervisor(services: HostOSServices(), logger: logger)
        phase("hypervisor (host CPUs discovered)")
        let build = DomainBuild(kernelPath: options.kernelPath, initrdPath: options.initrdPath,
                                cmdline: options.cmdline, config: options.domainConfig)
        let (domain, boot) = try build.build(on: hypervisor, consoleSink: consoleSink)
        defer { hypervisor.removeDomain(domain.id) }
        phase("kernel loaded, console attached")
        // This domain's own xenstored (the daemon shares one between its domains).
        let xenstored = XenStored(logger: logger)
        defer { DomainDevices.detachXenStore(from: domain, xenstored: xenstored) }
        do { try DomainDevices.attachXenStore(to: domain, xenstored: xenstored) } catch {
            throw .build("\(options.kernelPath): cannot build the domain: \(error)")
        }
        let engine: KVMEngine
        do { engine = try KVMEngine(devicePath: options.kvmDevice) } catch { throw .engine("\(error)") }
        phase("domain built")
        let machine: any Machine
        do {
            machine = try engine.createMachine(for: domain)
            try machine.start(vcpu: VCPUID(0), state: .boot(boot))
        } catch { throw .engine("\(error)") }
        phase("vCPU 0 started")
        input?.start(feeding: domain.console)
        let hookQueue = shutdownHook?.arm(for: domain, xenstored: xenstored, logger: logger)
        machine.join()
        hookQueue?.stop()
        phase("domain stopped")
        domain.console.drainRing(memory: domain.memory)
        let khz = engine.tscKHz(of: machine)
        machine.destroy()
        domain.machine = nil

        let code = domain.shutdownCode ?? UInt8(ShutdownReason.crash.rawValue)
        return Result(outcome: RunOutcome(code: code), crashReport: domain.crashReport, domain: domain, tscKHz: khz)
    }
}

/// The devices every domain gets from the toolstack.
enum DomainDevices {
    /// The PV console: a ring in the console special page and an event channel whose other
    /// end is Petrel's own console backend (domain 0), published as HVM params.
    static func attachConsole(to domain: Domain, sink: @escaping Console.Sink) throws {
        let gfn = DomainLayout.gfn(of: .console)
        let port = try domain.eventChannels.allocate(.interdomain(remote: .control, remotePort: EvtchnPort(0)))
        try domain.memory.fill(0, at: gfn.address, count: Int(xenPageSize))
        domain.params[HVMParam.consolePFN] = gfn.raw
        domain.params[HVMParam.consoleEvtchn] = UInt64(port.raw)
        domain.console.attachRing(at: gfn.address, port: port)
        domain.console.setSink(sink)
    }
}
