import Synchronization
import XenABI

/// A domain's HVM params (`d->arch.hvm.params`) with Xen's access rules
/// (xen/arch/x86/hvm/hvm.c: `hvm_allow_set_param`, `hvm_allow_get_param`).
///
/// Locking: one mutex over the array.
public final class HVMParams: Sendable {
    private let values = Mutex<[UInt64]>(Array(repeating: 0, count: Int(HVMParam.count)))

    /// Params a guest may set on itself.
    static let guestSettable: Set<UInt32> = [
        HVMParam.callbackIRQ, HVMParam.vm86TSS, HVMParam.vm86TSSSized, HVMParam.acpiIOPortsLocation,
        HVMParam.vmGenerationIDAddr, HVMParam.storeEvtchn, HVMParam.consoleEvtchn, HVMParam.x87FIPWidth,
    ]
    /// Params a guest may read on itself.
    static let guestReadable: Set<UInt32> = [
        HVMParam.callbackIRQ, HVMParam.vm86TSS, HVMParam.vm86TSSSized, HVMParam.acpiIOPortsLocation,
        HVMParam.vmGenerationIDAddr, HVMParam.storePFN, HVMParam.storeEvtchn, HVMParam.consolePFN,
        HVMParam.consoleEvtchn, HVMParam.altp2m, HVMParam.x87FIPWidth,
    ]
    /// Deprecated params: -EPERM to set, -ENODATA to read.
    static let deprecated: Set<UInt32> = [
        HVMParam.paeEnabled, HVMParam.dmDomain, HVMParam.memoryEventCR0, HVMParam.memoryEventCR3,
        HVMParam.memoryEventCR4, HVMParam.memoryEventINT3, HVMParam.memoryEventSingleStep,
        HVMParam.memoryEventMSR,
    ]
    /// Params that may be set only once (to a non-zero value).
    static let setOnce: Set<UInt32> = [
        HVMParam.ioreqServerPFN, HVMParam.nrIoreqServerPages, HVMParam.altp2m, HVMParam.mcaCap,
    ]

    public init() {}

    /// The toolstack's (or Xen's own) unchecked access.
    public subscript(index: UInt32) -> UInt64 {
        get { values.withLock { Int(index) < $0.count ? $0[Int(index)] : 0 } }
        set { values.withLock { if Int(index) < $0.count { $0[Int(index)] = newValue } } }
    }

    /// `HVMOP_set_param` from a guest; `onSelf` when the caller targets its own domain.
    public func set(_ index: UInt32, _ value: UInt64, onSelf: Bool) throws(XenErrno) {
        guard index < HVMParam.count else { throw .EINVAL }
        if Self.deprecated.contains(index) { throw .EPERM }
        if onSelf && !Self.guestSettable.contains(index) { throw .EPERM }
        try values.withLock { (v: inout [UInt64]) throws(XenErrno) in
            let old = v[Int(index)]
            if Self.setOnce.contains(index) && old != 0 && old != value { throw .EEXIST }
            v[Int(index)] = value
        }
    }

    /// `HVMOP_get_param` from a guest.
    public func get(_ index: UInt32, onSelf: Bool) throws(XenErrno) -> UInt64 {
        guard index < HVMParam.count else { throw .EINVAL }
        if Self.deprecated.contains(index) { throw .ENODATA }
        if onSelf && !Self.guestReadable.contains(index) { throw .EPERM }
        return self[index]
    }
}
