/// Hypercall numbers (`__HYPERVISOR_*` in xen.h).
public enum HypercallNumber: UInt64, Sendable, CaseIterable {
    case setTrapTable = 0
    case mmuUpdate = 1
    case setGDT = 2
    case stackSwitch = 3
    case setCallbacks = 4
    case fpuTaskswitch = 5
    case schedOpCompat = 6
    case platformOp = 7
    case setDebugreg = 8
    case getDebugreg = 9
    case updateDescriptor = 10
    case memoryOp = 12
    case multicall = 13
    case updateVAMapping = 14
    case setTimerOp = 15
    case eventChannelOpCompat = 16
    case xenVersion = 17
    case consoleIO = 18
    case physdevOpCompat = 19
    case grantTableOp = 20
    case vmAssist = 21
    case updateVAMappingOtherdomain = 22
    case iret = 23
    case vcpuOp = 24
    case setSegmentBase = 25
    case mmuextOp = 26
    case xsmOp = 27
    case nmiOp = 28
    case schedOp = 29
    case callbackOp = 30
    case xenoprofOp = 31
    case eventChannelOp = 32
    case physdevOp = 33
    case hvmOp = 34
    case sysctl = 35
    case domctl = 36
    case kexecOp = 37
    case tmemOp = 38
    case argoOp = 39
    case xenpmuOp = 40
    case dmOp = 41
    case hypfsOp = 42
}

/// One hypercall page holds 4096 / 32 entry stubs.
public let hypercallSlotSize = 32
public let hypercallSlotCount = 128

/// The arguments of one hypercall as the guest passed them (x86-64: rdi, rsi, rdx, r10, r8;
/// AArch64: x0–x4), engine-neutral.
public struct HypercallArgs: Sendable, Equatable {
    public var number: UInt64
    public var a0: UInt64, a1: UInt64, a2: UInt64, a3: UInt64, a4: UInt64
    public init(number: UInt64, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0,
                _ a3: UInt64 = 0, _ a4: UInt64 = 0) {
        self.number = number
        self.a0 = a0; self.a1 = a1; self.a2 = a2; self.a3 = a3; self.a4 = a4
    }
}
