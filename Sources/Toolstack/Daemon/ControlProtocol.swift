import FoundationEssentials

/// The daemon's control protocol (docs/control-api.md): one JSON object per line each way on
/// `petrel.sock`. A request names an `op`; the reply has `ok` and either the op's result fields
/// or `error`. `console` is the one op after whose reply the connection carries raw console
/// bytes in both directions until either side closes it.
public struct ControlRequest: Codable, Sendable, Equatable {
    public enum Op: String, Codable, Sendable, CaseIterable {
        case create, list, destroy, shutdown, reboot, pause, unpause, console
        case vcpuList = "vcpu-list", vcpuPin = "vcpu-pin", info, dmesg
        case pcpuList = "pcpu-list", pcpuOnline = "pcpu-online", pcpuOffline = "pcpu-offline"
        case xenstoreWrite = "xenstore-write"
    }
    public var op: Op
    /// A domain by name or by id (decimal).
    public var domain: String?
    /// `create`: the domain to build.
    public var spec: DomainSpec?
    /// `shutdown`/`reboot`/`destroy -w`: wait until the domain is gone.
    public var wait: Bool?
    /// `vcpu-pin`: the vCPU (nil: all) and the host CPUs (nil: all).
    public var vcpu: Int?
    public var cpus: [Int]?
    /// `pcpu-online` / `pcpu-offline`.
    public var pcpu: Int?
    /// `xenstore-write` (tests and tools): a path and value written as dom0.
    public var path: String?
    public var value: String?

    public init(op: Op, domain: String? = nil, spec: DomainSpec? = nil, wait: Bool? = nil, vcpu: Int? = nil,
                cpus: [Int]? = nil, pcpu: Int? = nil, path: String? = nil, value: String? = nil) {
        self.op = op; self.domain = domain; self.spec = spec; self.wait = wait; self.vcpu = vcpu
        self.cpus = cpus; self.pcpu = pcpu; self.path = path; self.value = value
    }
}

public struct ControlResponse: Codable, Sendable, Equatable {
    public var ok: Bool
    public var error: String?
    /// `create`: the new domain's id.
    public var domid: Int?
    public var domains: [DomainSummary]?
    public var vcpus: [VCPUSummary]?
    public var pcpus: [PCPUSummary]?
    public var info: [InfoField]?
    /// `dmesg`: the daemon's log.
    public var log: String?
    /// `shutdown`/`reboot`/`destroy` with wait: how the domain ended.
    public var outcome: String?

    public init(ok: Bool = true, error: String? = nil) { self.ok = ok; self.error = error }
    public static func failure(_ message: String) -> ControlResponse { ControlResponse(ok: false, error: message) }
}

/// What `xl create` builds: the parts of an xl.cfg the daemon needs, with paths absolute.
public struct DomainSpec: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable { case destroy, restart, preserve }
    public var name: String
    public var kernel: String
    public var ramdisk: String?
    public var cmdline: String
    public var memoryMiB: UInt64
    public var maxMemoryMiB: UInt64?
    public var vcpus: Int
    /// Hard affinity per vCPU (xl's `cpus`); nil or a missing entry: all host CPUs.
    public var cpus: [[Int]]?
    public var onPoweroff: Action
    public var onReboot: Action
    public var onCrash: Action
    public var maxGrantFrames: Int
    public var maxEventChannels: Int
    public var privileged: Bool

    public init(name: String, kernel: String, ramdisk: String? = nil, cmdline: String = "", memoryMiB: UInt64 = 64,
                maxMemoryMiB: UInt64? = nil, vcpus: Int = 1, cpus: [[Int]]? = nil,
                onPoweroff: Action = .destroy, onReboot: Action = .restart, onCrash: Action = .destroy,
                maxGrantFrames: Int = 32, maxEventChannels: Int = 1023, privileged: Bool = false) {
        self.name = name; self.kernel = kernel; self.ramdisk = ramdisk; self.cmdline = cmdline
        self.memoryMiB = memoryMiB; self.maxMemoryMiB = maxMemoryMiB; self.vcpus = vcpus; self.cpus = cpus
        self.onPoweroff = onPoweroff; self.onReboot = onReboot; self.onCrash = onCrash
        self.maxGrantFrames = maxGrantFrames; self.maxEventChannels = maxEventChannels; self.privileged = privileged
    }
}

/// A row of `xl list`.
public struct DomainSummary: Codable, Sendable, Equatable {
    public var name: String
    public var id: Int
    public var memMiB: UInt64
    public var vcpus: Int
    /// xl's six state letters: r(unning) b(locked) p(aused) s(hutdown) c(rashed) d(ying).
    public var state: String
    public var timeSeconds: Double
}

/// A row of `xl vcpu-list`.
public struct VCPUSummary: Codable, Sendable, Equatable {
    public var name: String
    public var id: Int
    public var vcpu: Int
    /// The host CPU the vCPU's thread last ran on (nil when it is not running).
    public var cpu: Int?
    /// xl's three letters: r(unning) b(locked) p(aused), `-` otherwise.
    public var state: String
    public var timeSeconds: Double
    /// Hard affinity (xl's "all" when every CPU).
    public var affinity: String
    /// The host thread (Linux tid) running the vCPU, nil when it has none.
    public var tid: Int?
}

/// A row of `petrel pcpu-list`.
public struct PCPUSummary: Codable, Sendable, Equatable {
    public var id: Int
    public var apicID: Int?
    public var acpiID: Int?
    public var online: Bool
    /// "domid.vcpu" of the vCPUs whose threads run there now.
    public var vcpus: [String]
}

public struct InfoField: Codable, Sendable, Equatable {
    public var key: String
    public var value: String
}

/// JSON lines.
public enum ControlCodec {
    public static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding our own plain structs cannot fail.
        let data = try! encoder.encode(value)
        return String(decoding: data, as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from line: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(line.utf8))
    }
}
