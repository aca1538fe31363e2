/// `struct shared_info` and `struct vcpu_info` for x86-64 guests (xen.h, arch-x86/xen.h).
public enum X86SharedInfo {
    public static let legacyMaxVCPUs = 32
    public static let size = 3136
    public enum Offset {
        public static let vcpuInfo = 0
        public static let evtchnPending = 2048
        public static let evtchnMask = 2560
        public static let wcVersion = 3072, wcSec = 3076, wcNsec = 3080, wcSecHi = 3084
        public static let arch = 3088
    }
}

public enum X86VCPUInfo {
    public static let size = 64
    public enum Offset {
        public static let evtchnUpcallPending = 0, evtchnUpcallMask = 1, evtchnPendingSel = 8
        public static let arch = 16, time = 32
    }
}

/// `struct vcpu_time_info` (pvclock).
public enum VCPUTimeInfo {
    public static let size = 32
    public enum Offset {
        public static let version = 0, pad0 = 4, tscTimestamp = 8, systemTime = 16
        public static let tscToSystemMul = 24, tscShift = 28, flags = 29, pad1 = 30
    }
}
