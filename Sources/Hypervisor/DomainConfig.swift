import XenABI

/// What a domain is built from: the engine-neutral part of an xl.cfg.
public struct DomainConfig: Sendable {
    public var name: String
    public var memoryBytes: UInt64
    public var maxMemoryBytes: UInt64
    public var vcpus: Int
    public var privileged: Bool
    public var arch: GuestArch
    /// `max_grant_frames` (xl's default 32).
    public var maxGrantFrames: Int
    /// `max_event_channels` (xl's default 1023).
    public var maxEventChannels: Int
    /// The domain's 16-byte handle (`xen_domain_handle_t`), a UUID.
    public var handle: [UInt8]

    public init(name: String, memoryBytes: UInt64, maxMemoryBytes: UInt64? = nil, vcpus: Int = 1,
                privileged: Bool = false, arch: GuestArch = .x86_64, maxGrantFrames: Int = 32,
                maxEventChannels: Int = 1023, handle: [UInt8]? = nil) {
        self.name = name
        self.memoryBytes = memoryBytes
        self.maxMemoryBytes = max(maxMemoryBytes ?? memoryBytes, memoryBytes)
        self.vcpus = vcpus
        self.privileged = privileged
        self.arch = arch
        self.maxGrantFrames = maxGrantFrames
        self.maxEventChannels = maxEventChannels
        var g = SystemRandomNumberGenerator()
        self.handle = handle ?? (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) }
    }
}
