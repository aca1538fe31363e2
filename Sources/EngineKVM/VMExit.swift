import CKVM

/// A KVM exit, decoded from the run area into a value (so tests can feed made-up exits).
public enum VMExit: Equatable, Sendable {
    case io(port: UInt16, size: Int, isWrite: Bool, count: Int, data: UInt64)
    case mmio(address: UInt64, length: Int, isWrite: Bool, data: UInt64)
    case wrmsr(index: UInt32, value: UInt64)
    case rdmsr(index: UInt32)
    case hlt
    case shutdown
    case interrupted
    case interruptWindowOpen
    case failEntry(reason: UInt64)
    case internalError(suberror: UInt32)
    case systemEvent(type: UInt32)
    case other(reason: UInt32)

    static let KVM_EXIT_UNKNOWN: UInt32 = 0
    static let KVM_EXIT_IO: UInt32 = 2
    static let KVM_EXIT_HLT: UInt32 = 5
    static let KVM_EXIT_MMIO: UInt32 = 6
    static let KVM_EXIT_IRQ_WINDOW_OPEN: UInt32 = 7
    static let KVM_EXIT_SHUTDOWN: UInt32 = 8
    static let KVM_EXIT_FAIL_ENTRY: UInt32 = 9
    static let KVM_EXIT_INTR: UInt32 = 10
    static let KVM_EXIT_INTERNAL_ERROR: UInt32 = 17
    static let KVM_EXIT_SYSTEM_EVENT: UInt32 = 24
    static let KVM_EXIT_X86_RDMSR: UInt32 = 29
    static let KVM_EXIT_X86_WRMSR: UInt32 = 30

    /// Decodes the exit the run area describes.
    static func decode(_ run: UnsafeMutablePointer<kvm_run>) -> VMExit {
        let reason = ckvm_run_exit_reason(run)
        switch reason {
        case KVM_EXIT_IO:
            let size = Int(ckvm_io_size(run))
            // SAFETY: KVM places the I/O data inside the run area at data_offset.
            let p = UnsafeRawPointer(run) + Int(ckvm_io_data_offset(run))
            var data: UInt64 = 0
            switch size {
            case 1: data = UInt64(p.load(as: UInt8.self))
            case 2: data = UInt64(p.loadUnaligned(as: UInt16.self))
            case 4: data = UInt64(p.loadUnaligned(as: UInt32.self))
            default: break
            }
            return .io(port: ckvm_io_port(run), size: size, isWrite: ckvm_io_direction(run) == CKVM_EXIT_IO_OUT,
                       count: Int(ckvm_io_count(run)), data: data)
        case KVM_EXIT_MMIO:
            let len = Int(ckvm_mmio_len(run))
            let d = ckvm_mmio_data(run)!
            var v: UInt64 = 0
            for i in (0..<min(len, 8)).reversed() { v = v << 8 | UInt64(d[i]) }
            return .mmio(address: ckvm_mmio_phys_addr(run), length: len, isWrite: ckvm_mmio_is_write(run) != 0, data: v)
        case KVM_EXIT_X86_WRMSR: return .wrmsr(index: ckvm_msr_index(run), value: ckvm_msr_data(run))
        case KVM_EXIT_X86_RDMSR: return .rdmsr(index: ckvm_msr_index(run))
        case KVM_EXIT_HLT: return .hlt
        case KVM_EXIT_SHUTDOWN: return .shutdown
        case KVM_EXIT_INTR: return .interrupted
        case KVM_EXIT_IRQ_WINDOW_OPEN: return .interruptWindowOpen
        case KVM_EXIT_FAIL_ENTRY: return .failEntry(reason: ckvm_fail_entry_reason(run))
        case KVM_EXIT_INTERNAL_ERROR: return .internalError(suberror: ckvm_internal_suberror(run))
        case KVM_EXIT_SYSTEM_EVENT: return .systemEvent(type: ckvm_system_event_type(run))
        default: return .other(reason: reason)
        }
    }
}

/// What the vCPU loop does about an exit. Deciding is a pure function of the exit, so the
/// policy is unit-tested without KVM.
public enum ExitAction: Equatable, Sendable {
    /// A hypercall-page stub: dispatch the hypercall in the guest's registers.
    case hypercall
    /// A byte for the debug console (port 0xE9, as QEMU's debugcon and Bochs).
    case debugConsole(UInt8)
    /// A write nobody listens to, or a read answered with all ones (an empty ISA bus).
    case ignore
    case readAllOnes(size: Int)
    /// The guest named its hypercall page.
    case installHypercallPage(gpa: UInt64)
    /// Answer an MSR access with #GP.
    case msrFault
    /// The vCPU halted: wait for an event (or, with interrupts off, it is dead).
    case halt
    /// Re-enter the guest (a kick, an interrupt window).
    case resume
    /// A guest write to read-only memory (a `GNTMAP_readonly` grant mapping): discarded, as
    /// Xen does for `p2m_grant_map_ro`. KVM has completed the instruction; re-entering skips it.
    case discardWrite
    /// Nothing can be done: crash the domain with this reason.
    case crash(String)
}

public enum ExitPolicy {
    public static let debugConsolePort: UInt16 = 0xE9

    /// `discardsWrites(gpa)`: whether a write at `gpa` goes to read-only memory (Xen's
    /// `p2m_is_discard_write`); an MMIO write there is dropped, any other MMIO is fatal.
    public static func action(for exit: VMExit, discardsWrites: (UInt64) -> Bool = { _ in false }) -> ExitAction {
        switch exit {
        case .io(let port, let size, let isWrite, let count, let data):
            if port == HypercallPage.port {
                return isWrite && size == 4 && count == 1 ? .hypercall
                    : .crash("malformed hypercall port access (size \(size), count \(count))")
            }
            if port == debugConsolePort && isWrite && size == 1 && count == 1 { return .debugConsole(UInt8(truncatingIfNeeded: data)) }
            return isWrite ? .ignore : .readAllOnes(size: size)
        case .wrmsr(let index, let value):
            if index == XenHypercallMSR.index { return .installHypercallPage(gpa: value) }
            return .msrFault
        case .rdmsr:
            return .msrFault
        case .hlt:
            return .halt
        case .interrupted, .interruptWindowOpen:
            return .resume
        case .shutdown:
            return .crash("triple fault (KVM_EXIT_SHUTDOWN)")
        case .mmio(let address, let length, let isWrite, let data):
            if isWrite && discardsWrites(address) { return .discardWrite }
            return .crash(isWrite
                ? "unhandled MMIO write of \(length) bytes (0x\(String(data, radix: 16))) at 0x\(String(address, radix: 16))"
                : "unhandled MMIO read of \(length) bytes at 0x\(String(address, radix: 16))")
        case .failEntry(let reason):
            return .crash("KVM entry failed (hardware reason 0x\(String(reason, radix: 16)))")
        case .internalError(let sub):
            return .crash("KVM internal error (suberror \(sub)): the guest ran an instruction KVM could not emulate")
        case .systemEvent(let type):
            return .crash("KVM system event \(type)")
        case .other(let reason):
            return .crash("unhandled KVM exit reason \(reason)")
        }
    }
}

enum XenHypercallMSR {
    static let index: UInt32 = 0x4000_0000
}
