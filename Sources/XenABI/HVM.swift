/// `hvm_op` (hvm/hvm_op.h) and HVM params (hvm/params.h).
public enum HVMOpCmd: UInt64, Sendable {
    case setParam = 0
    case getParam = 1
}

/// `struct xen_hvm_param`.
public struct XenHVMParam: XenStruct, Equatable, Sendable {
    public static let size = 16
    public enum Offset { public static let domid = 0, pad = 2, index = 4, value = 8 }
    public var domid: DomainID
    public var index: UInt32
    public var value: UInt64
    public init(domid: DomainID, index: UInt32, value: UInt64) {
        self.domid = domid; self.index = index; self.value = value
    }
    public init(bytes b: [UInt8]) {
        domid = DomainID(b.le(UInt16.self, at: Offset.domid))
        index = b.le(UInt32.self, at: Offset.index)
        value = b.le(UInt64.self, at: Offset.value)
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(domid.raw, at: Offset.domid)
        b.setLE(index, at: Offset.index)
        b.setLE(value, at: Offset.value)
        return b
    }
}

/// HVM param indexes (params.h).
public enum HVMParam {
    public static let callbackIRQ: UInt32 = 0
    public static let storePFN: UInt32 = 1
    public static let storeEvtchn: UInt32 = 2
    public static let paeEnabled: UInt32 = 4
    public static let ioreqPFN: UInt32 = 5
    public static let bufioreqPFN: UInt32 = 6
    public static let timerMode: UInt32 = 10
    public static let hpetEnabled: UInt32 = 11
    public static let identityPT: UInt32 = 12
    public static let dmDomain: UInt32 = 13
    public static let acpiSState: UInt32 = 14
    public static let vm86TSS: UInt32 = 15
    public static let vpt_align: UInt32 = 16
    public static let consolePFN: UInt32 = 17
    public static let consoleEvtchn: UInt32 = 18
    public static let acpiIOPortsLocation: UInt32 = 19
    public static let memoryEventCR0: UInt32 = 20
    public static let memoryEventCR3: UInt32 = 21
    public static let memoryEventCR4: UInt32 = 22
    public static let memoryEventINT3: UInt32 = 23
    public static let nestedHVM: UInt32 = 24
    public static let memoryEventSingleStep: UInt32 = 25
    public static let bufioreqEvtchn: UInt32 = 26
    public static let pagingRingPFN: UInt32 = 27
    public static let monitorRingPFN: UInt32 = 28
    public static let sharingRingPFN: UInt32 = 29
    public static let memoryEventMSR: UInt32 = 30
    public static let triplFaultReason: UInt32 = 31
    public static let ioreqServerPFN: UInt32 = 32
    public static let nrIoreqServerPages: UInt32 = 33
    public static let vmGenerationIDAddr: UInt32 = 34
    public static let altp2m: UInt32 = 35
    public static let x87FIPWidth: UInt32 = 36
    public static let vm86TSSSized: UInt32 = 37
    public static let mcaCap: UInt32 = 38
    /// `HVM_NR_PARAMS`.
    public static let count: UInt32 = 39

    /// `HVM_PARAM_CALLBACK_IRQ` delivery type in bits 63:56 (`HVM_PARAM_CALLBACK_TYPE_*`).
    public static let callbackTypeShift: UInt64 = 56
    public static let callbackTypeGSI: UInt64 = 0
    public static let callbackTypePCIIntx: UInt64 = 1
    /// x86 guests: val[7:0] is the upcall vector.
    public static let callbackTypeVector: UInt64 = 2
    /// Arm guests: val[7:0] is the PPI. params.h gives it the same number as x86's vector type;
    /// which one a 2 means depends on the guest's architecture.
    public static let callbackTypePPI: UInt64 = 2
}
