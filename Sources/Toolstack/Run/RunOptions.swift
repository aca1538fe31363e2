import HostOS

/// What `petrel run` boots.
public struct RunOptions: Sendable {
    public var kernelPath: String
    public var memoryMiB: UInt64
    public var cmdline: String
    public var initrdPath: String?
    public var name: String
    public var vcpus: Int
    public var privileged: Bool = false
    /// The rest of an xl.cfg's domain settings (`maxmem`, `max_grant_frames`,
    /// `max_event_channels`, `uuid`); nil values take DomainConfig's defaults.
    public var maxMemoryMiB: UInt64?
    public var maxGrantFrames: Int?
    public var maxEventChannels: Int?
    public var handle: [UInt8]?
    /// The KVM device (`$PETREL_KVM_DEVICE` overrides /dev/kvm, for tests of a missing device).
    public var kvmDevice: String = HostProcess.environment("PETREL_KVM_DEVICE") ?? "/dev/kvm"

    /// The smallest memory a PVH domain gets: room for a small kernel, its start info and stack.
    public static let minimumMemoryMiB: UInt64 = 2
    /// The most `petrel run` accepts (the host has 24 GiB; guest RAM is committed lazily).
    public static let maximumMemoryMiB: UInt64 = 1 << 20

    public init(kernelPath: String, memoryMiB: UInt64 = 64, cmdline: String = "", initrdPath: String? = nil,
                name: String = "petrel-guest", vcpus: Int = 1) {
        self.kernelPath = kernelPath
        self.memoryMiB = memoryMiB
        self.cmdline = cmdline
        self.initrdPath = initrdPath
        self.name = name
        self.vcpus = vcpus
    }

    func validate() throws(ToolstackError) {
        guard memoryMiB >= Self.minimumMemoryMiB else {
            throw .badOption("--memory \(memoryMiB): too little memory (at least \(Self.minimumMemoryMiB) MiB)")
        }
        guard memoryMiB <= Self.maximumMemoryMiB else {
            throw .badOption("--memory \(memoryMiB): more than \(Self.maximumMemoryMiB) MiB")
        }
        guard !name.isEmpty, name.utf8.count <= 64 else { throw .badOption("--name must be 1 to 64 bytes") }
        let maxVCPUs = Host.onlineCPUCount * 4
        guard vcpus >= 1, vcpus <= maxVCPUs else {
            throw .badOption("--vcpus \(vcpus): must be 1 to \(maxVCPUs) (4 per host CPU)")
        }
    }
}

/// How a foreground domain ended, and the exit status `petrel run` gives it.
public enum RunOutcome: Sendable, Equatable {
    case poweroff
    case reboot
    case crash
    /// Watchdog, suspend, soft reset or a code Xen does not define.
    case other(UInt8)

    public init(code: UInt8) {
        switch code {
        case 0: self = .poweroff
        case 1: self = .reboot
        case 3: self = .crash
        default: self = .other(code)
        }
    }

    /// 0 poweroff, 2 crash, 3 reboot, 4 watchdog/unknown (1 is Petrel's own error).
    public var exitStatus: Int32 {
        switch self {
        case .poweroff: 0
        case .crash: 2
        case .reboot: 3
        case .other: 4
        }
    }

    public var description: String {
        switch self {
        case .poweroff: "powered off"
        case .reboot: "asked to reboot"
        case .crash: "crashed"
        case .other(4): "was stopped by its watchdog"
        case .other(2): "suspended itself"
        case .other(5): "asked for a soft reset"
        case .other(let c): "shut down with unknown reason \(c)"
        }
    }
}
