import GuestMemory
import XenABI

/// Everything a hypercall handler may touch: the calling vCPU, its view of guest memory through
/// its own page tables, and the privilege it called from.
public struct HypercallContext: Sendable {
    public let vcpu: VCPU
    public let memory: GuestVirtualMemory
    /// The caller's privilege level (x86 CPL, AArch64 EL as 0 = kernel).
    public let privilegeLevel: Int

    public init(vcpu: VCPU, memory: GuestVirtualMemory, privilegeLevel: Int) {
        self.vcpu = vcpu
        self.memory = memory
        self.privilegeLevel = privilegeLevel
    }

    public var domain: Domain { vcpu.domain }

    /// `copy_from_guest`: a fault is -EFAULT.
    func copyIn(_ gva: GVA, count: Int) throws(XenErrno) -> [UInt8] {
        do { return try memory.copyIn(gva, count: count) } catch { throw .EFAULT }
    }

    func copyIn<T: XenStruct>(_: T.Type, from gva: GVA) throws(XenErrno) -> T {
        T(bytes: try copyIn(gva, count: T.size))
    }

    func load<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, at gva: GVA) throws(XenErrno) -> T {
        try copyIn(gva, count: MemoryLayout<T>.size).le(T.self, at: 0)
    }

    /// `copy_to_guest`: a fault is -EFAULT and writes nothing.
    func copyOut(_ bytes: [UInt8], to gva: GVA) throws(XenErrno) {
        do { try memory.copyOut(bytes, to: gva) } catch { throw .EFAULT }
    }

    func copyOut<T: XenStruct>(_ value: T, to gva: GVA) throws(XenErrno) {
        try copyOut(value.bytes, to: gva)
    }
}

extension Hypervisor {
    /// The hypercall entry point (Xen's `hvm_hypercall` and hypercall table): a thin switch that
    /// hands each family its arguments and turns a thrown `XenErrno` into `-errno`.
    /// Returns the value for the guest's result register.
    public func dispatch(_ call: HypercallArgs, context: HypercallContext) -> UInt64 {
        context.vcpu.lastHypercall = call
        // Xen refuses hypercalls from guest user mode.
        guard context.privilegeLevel == 0 else { return XenErrno.EPERM.hypercallResult }
        do {
            switch HypercallNumber(rawValue: call.number) {
            case .consoleIO: return try consoleIO(call, context)
            case .xenVersion: return try xenVersion(call, context)
            case .hvmOp: return try hvmOp(call, context)
            case .memoryOp: return try memoryOp(call, context)
            case .schedOp: return try schedOp(call, context)
            case .eventChannelOp: return try eventChannelOp(call, context)
            case .grantTableOp: return try grantTableOp(call, context)
            case .vcpuOp: return try vcpuOp(call, context)
            case .setTimerOp: return try setTimerOp(call, context)
            case .platformOp: return try platformOp(call, context)
            default: return unimplemented(call, context)
            }
        } catch {
            return error.hypercallResult
        }
    }

    /// Anything not implemented: -ENOSYS, counted, logged once per number.
    func unimplemented(_ call: HypercallArgs, _ ctx: HypercallContext) -> UInt64 {
        if noteUnimplemented(call.number) {
            logger.notice("\(ctx.domain.id): unimplemented hypercall \(call.number) (\(hypercallName(call.number))): -ENOSYS")
        }
        return XenErrno.ENOSYS.hypercallResult
    }

    /// A family's unknown sub-op: -ENOSYS, logged once per (family, op).
    func unknownSubop(_ call: HypercallArgs, _ ctx: HypercallContext) -> XenErrno {
        if noteUnimplemented(call.number << 32 | (call.a0 & 0xFFFF_FFFF)) {
            logger.notice("\(ctx.domain.id): \(hypercallName(call.number)) op \(call.a0) not implemented: -ENOSYS")
        }
        return .ENOSYS
    }
}
