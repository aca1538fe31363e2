import GuestMemory
import XenABI

/// An execution engine: something that runs a domain's vCPUs (KVM today, a software AArch64 CPU
/// later). The core never imports an engine; the toolstack picks one and hands it a `Domain`.
public protocol Engine: Sendable {
    var name: String { get }
    /// The guest architecture this engine runs.
    var arch: GuestArch { get }
    /// Creates the engine-side machine for a domain whose memory is already laid out.
    func createMachine(for domain: Domain) throws -> any Machine
}

/// The engine's half of a running domain: its vCPUs.
public protocol Machine: AnyObject, Sendable {
    /// Starts vCPU `vcpu`'s thread in `state` (the PVH entry for the boot vCPU, the context
    /// VCPUOP_initialise gave for the others).
    func start(vcpu: VCPUID, state: VCPUStartState) throws
    /// Asks a running vCPU to leave guest mode and look at its pending work soon.
    func kick(vcpu: VCPUID)
    /// Parks the calling vCPU's thread until `kick(vcpu:)` or `deadline` (monotonic ns).
    /// Called only from that vCPU's own thread, inside a hypercall (SCHEDOP_block, poll).
    /// A kick that came first is not lost.
    func block(vcpu: VCPUID, until deadline: UInt64?)
    /// The guest's time counter (x86: its TSC) now, with the host monotonic time it matches.
    func timestamp() -> GuestTimestamp
    /// The guest time counter's frequency in Hz.
    var counterFrequency: UInt64 { get }
    /// Restricts vCPU `vcpu`'s host thread to `hostCPUs` (host CPU indexes, never empty), at
    /// once: the thread is off every other CPU when this returns. Called before `start` too:
    /// a thread starts on the last set it was given. Throws if the host refuses the set.
    /// Called with the pCPU table's change lock held: must not call back into the hypervisor's
    /// pCPU or placement methods.
    func setAffinity(vcpu: VCPUID, hostCPUs: [Int]) throws
    /// The host thread running vCPU `vcpu` now, with where it last ran (nil: not running, or
    /// an engine without host threads).
    func hostThread(vcpu: VCPUID) -> VCPUHostThread?
    /// Waits until every vCPU thread has stopped (after the domain shut down).
    func join()
    /// Stops every vCPU and releases engine resources; idempotent.
    func destroy()
}

/// A vCPU's host thread as the host sees it (for `xl vcpu-list` and pCPU listings).
public struct VCPUHostThread: Sendable, Equatable {
    /// The host's thread id.
    public var tid: Int32
    /// The host CPU index it last ran on.
    public var hostCPU: Int?
    /// The host CPU indexes it may run on.
    public var allowedHostCPUs: [Int]?
    public init(tid: Int32, hostCPU: Int?, allowedHostCPUs: [Int]?) {
        self.tid = tid; self.hostCPU = hostCPU; self.allowedHostCPUs = allowedHostCPUs
    }
}

/// Where a vCPU starts.
public enum VCPUStartState: Sendable, Equatable {
    /// The architecture's boot entry (x86 PVH: 32-bit flat protected mode, EBX = start info).
    case boot(BootState)
    /// An explicit x86 register state (VCPUOP_initialise with a `vcpu_hvm_context`).
    case x86(X86RegisterState)
}

/// An x86 vCPU's architectural state as `vcpu_hvm_context` describes it.
public struct X86RegisterState: Sendable, Equatable {
    public struct Segment: Sendable, Equatable {
        public var base: UInt64
        public var limit: UInt32
        /// Attributes in Xen's packed form (`vcpu_hvm_context` `*_ar`): descriptor bits 40-47
        /// (type, S, DPL, P) in bits 0-7, then bits 52-55 (AVL, L, D/B, G) in bits 8-11.
        public var attributes: UInt16
        public var selector: UInt16
        public init(base: UInt64, limit: UInt32, attributes: UInt16, selector: UInt16 = 0) {
            self.base = base; self.limit = limit; self.attributes = attributes; self.selector = selector
        }
    }
    public var rax: UInt64 = 0, rbx: UInt64 = 0, rcx: UInt64 = 0, rdx: UInt64 = 0
    public var rsi: UInt64 = 0, rdi: UInt64 = 0, rsp: UInt64 = 0, rbp: UInt64 = 0
    public var rip: UInt64 = 0, rflags: UInt64 = 2
    public var cr0: UInt64 = 0, cr3: UInt64 = 0, cr4: UInt64 = 0, efer: UInt64 = 0
    public var cs = Segment(base: 0, limit: 0xFFFF_FFFF, attributes: 0xC9B)
    public var ds = Segment(base: 0, limit: 0xFFFF_FFFF, attributes: 0xC93)
    public var ss = Segment(base: 0, limit: 0xFFFF_FFFF, attributes: 0xC93)
    public var es = Segment(base: 0, limit: 0xFFFF_FFFF, attributes: 0xC93)
    public var tr = Segment(base: 0, limit: 0x67, attributes: 0x8B)
    public init() {}
}

/// A guest counter reading taken together with the host's monotonic clock.
public struct GuestTimestamp: Sendable, Equatable {
    public var counter: UInt64
    public var monotonicNanoseconds: UInt64
    public init(counter: UInt64, monotonicNanoseconds: UInt64) {
        self.counter = counter
        self.monotonicNanoseconds = monotonicNanoseconds
    }
}

/// Architecture-neutral description of where a vCPU starts.
public struct BootState: Sendable, Equatable {
    public var entry: UInt64
    /// x86 PVH: the GPA of hvm_start_info, passed in EBX. AArch64: the device tree in x0.
    public var bootParameter: UInt64
    public init(entry: UInt64, bootParameter: UInt64) {
        self.entry = entry
        self.bootParameter = bootParameter
    }
}

/// What an engine knows about a vCPU when it stops it for good: the crash report's contents.
public struct GuestCrashReport: Sendable, CustomStringConvertible {
    /// Why the engine gave up ("triple fault", "unhandled exit: MMIO write at 0x…").
    public var reason: String
    public var vcpu: VCPUID
    /// Registers in the order the architecture prints them (rip first on x86).
    public var registers: [(name: String, value: UInt64)]
    public var lastHypercall: HypercallArgs?

    public init(reason: String, vcpu: VCPUID, registers: [(name: String, value: UInt64)],
                lastHypercall: HypercallArgs?) {
        self.reason = reason
        self.vcpu = vcpu
        self.registers = registers
        self.lastHypercall = lastHypercall
    }

    public var description: String {
        var lines = ["guest crashed on \(vcpu): \(reason)"]
        var row = ""
        for (i, r) in registers.enumerated() {
            let hex = String(r.value, radix: 16)
            row += r.name.padding(to: 4) + "=" + String(repeating: "0", count: max(0, 16 - hex.count)) + hex + "  "
            if i % 4 == 3 { lines.append(row); row = "" }
        }
        if !row.isEmpty { lines.append(row) }
        if let h = lastHypercall {
            lines.append("last hypercall: \(h.number) (\(hypercallName(h.number))) args 0x\(String(h.a0, radix: 16)) 0x\(String(h.a1, radix: 16)) 0x\(String(h.a2, radix: 16)) 0x\(String(h.a3, radix: 16)) 0x\(String(h.a4, radix: 16))")
        } else {
            lines.append("last hypercall: none")
        }
        return lines.joined(separator: "\n")
    }
}

func hypercallName(_ n: UInt64) -> String {
    HypercallNumber(rawValue: n).map { "\($0)" } ?? "unknown"
}

extension String {
    func padding(to n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}
