/// `vcpu_op` (vcpu.h) and the PVH vCPU context (hvm/hvm_vcpu.h).
public enum VCPUOpCmd: UInt64, Sendable {
    case initialise = 0, up = 1, down = 2, isUp = 3, getRunstateInfo = 4
    case registerRunstateMemoryArea = 5, setPeriodicTimer = 6, stopPeriodicTimer = 7
    case setSingleshotTimer = 8, stopSingleshotTimer = 9, registerVCPUInfo = 10
    case sendNMI = 11, getPhysID = 12, registerVCPUTimeMemoryArea = 13
}

/// `struct vcpu_set_singleshot_timer`: timeout_abs_ns at 0, flags at 8.
public enum VCPUSetSingleshotTimer {
    public static let size = 16
    public static let flagFuture: UInt32 = 1  // VCPU_SSHOTTMR_future
}

/// `struct vcpu_set_periodic_timer`: period_ns.
public let vcpuSetPeriodicTimerSize = 8

/// `struct vcpu_register_vcpu_info`: mfn (u64) at 0, offset (u32) at 8, rsvd at 12.
public enum VCPURegisterVCPUInfo {
    public static let size = 16
}

/// `struct vcpu_runstate_info`: state (int) at 0, state_entry_time at 8, time[4] at 16.
public enum VCPURunstateInfo {
    public static let size = 48
    public static func encode(state: Int32, entryTime: UInt64, time: [UInt64]) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: size)
        b.setLE(UInt32(bitPattern: state), at: 0)
        b.setLE(entryTime, at: 8)
        for i in 0..<4 { b.setLE(i < time.count ? time[i] : 0, at: 16 + 8 * i) }
        return b
    }
}

/// `struct vcpu_register_runstate_memory_area`: one guest pointer.
public let vcpuRegisterRunstateMemoryAreaSize = 8

/// `struct vcpu_hvm_context` (128 bytes): mode at 0, registers from 8.
public enum VCPUHVMContext {
    public static let size = 128
    public static let mode32: UInt32 = 0  // VCPU_HVM_MODE_32B
    public static let mode64: UInt32 = 1  // VCPU_HVM_MODE_64B
    public static let regs = 8
    /// `struct vcpu_hvm_x86_32` field offsets, relative to `regs`.
    public enum X86_32 {
        public static let eax = 0, ecx = 4, edx = 8, ebx = 12, esp = 16, ebp = 20, esi = 24, edi = 28
        public static let eip = 32, eflags = 36, cr0 = 40, cr3 = 44, cr4 = 48, efer = 56
        public static let csBase = 64, dsBase = 68, ssBase = 72, esBase = 76, trBase = 80
        public static let csLimit = 84, dsLimit = 88, ssLimit = 92, esLimit = 96, trLimit = 100
        public static let csAR = 104, dsAR = 106, ssAR = 108, esAR = 110, trAR = 112
        public static let size = 120
    }
    /// `struct vcpu_hvm_x86_64` field offsets, relative to `regs`.
    public enum X86_64 {
        public static let rax = 0, rcx = 8, rdx = 16, rbx = 24, rsp = 32, rbp = 40, rsi = 48, rdi = 56
        public static let rip = 64, rflags = 72, cr0 = 80, cr3 = 88, cr4 = 96, efer = 104
        public static let size = 112
    }
}

/// `XEN_PVCLOCK_TSC_STABLE_BIT` in vcpu_time_info.flags.
public let pvclockTSCStableBit: UInt8 = 1 << 0
