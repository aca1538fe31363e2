import XenABI

/// What the core needs from the host, injected so the core stays free of system calls
/// (DESIGN.md: only HostOS calls Glibc) and tests can drive time themselves.
public protocol HostServices: Sendable {
    /// CLOCK_MONOTONIC, nanoseconds.
    func monotonicNanoseconds() -> UInt64
    /// CLOCK_REALTIME, nanoseconds since the Unix epoch.
    func realtimeNanoseconds() -> UInt64
    /// A timer queue served by one host thread (one per domain, not one per timer).
    func makeTimerQueue(name: String) -> any TimerQueue
    /// The host's CPUs as they are now: every possible one, with its APIC and ACPI ids where
    /// known (`PhysicalCPUTable` builds the pCPU table from it, and rescans with it).
    func discoverHostCPUs() throws -> HostCPUDiscovery
    /// How long before a timed wake-up a blocked vCPU stops sleeping and polls instead (0:
    /// never). Sleeps end late on a busy or nested host; polling trades that much CPU for
    /// timers that fire on time.
    var wakeSpinNanoseconds: UInt64 { get }
}

extension HostServices {
    public var wakeSpinNanoseconds: UInt64 { 0 }
}

/// Deadline callbacks on one thread. Callbacks run on the queue's thread and must not block.
public protocol TimerQueue: AnyObject, Sendable {
    /// Arms (or re-arms) `key` to run `fire` at `deadline` (monotonic ns).
    func arm(_ key: TimerKey, at deadline: UInt64, _ fire: @escaping @Sendable () -> Void)
    func cancel(_ key: TimerKey)
    /// Cancels everything and stops the thread; idempotent.
    func stop()
}

/// One timer of one vCPU.
public struct TimerKey: Hashable, Sendable {
    public enum Kind: Hashable, Sendable { case singleshot, periodic }
    public var vcpu: VCPUID
    public var kind: Kind
    public init(vcpu: VCPUID, kind: Kind) { self.vcpu = vcpu; self.kind = kind }
}
