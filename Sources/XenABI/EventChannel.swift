/// `event_channel_op` (event_channel.h).
public enum EvtchnOpCmd: UInt64, Sendable {
    case bindInterdomain = 0, bindVirq = 1, bindPirq = 2, close = 3, send = 4, status = 5
    case allocUnbound = 6, bindIPI = 7, bindVCPU = 8, unmask = 9, reset = 10
    case initControl = 11, expandArray = 12, setPriority = 13, resetCont = 14
}

/// `struct evtchn_send`: one `evtchn_port_t`.
public let evtchnSendSize = 4

/// The 2-level ABI's port space: one bit per port in 64 words of 64 bits
/// (`EVTCHN_2L_NR_CHANNELS` for a 64-bit guest; `xen_ulong_t` is 64 bits on x86-64 and Arm).
public enum Evtchn2L {
    public static let bitsPerWord = 64
    public static let channels = 4096
}

/// `EVTCHNSTAT_*`: what `EVTCHNOP_status` reports a port as.
public enum EvtchnStat: UInt32, Sendable {
    case closed = 0, unbound = 1, interdomain = 2, pirq = 3, virq = 4, ipi = 5
}

/// `enum virq` (xen.h). A struct, not an enum: every number below `NR_VIRQS` may be bound,
/// including the ones xen.h leaves unnamed (5, 14, 15).
public struct VIRQ: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ raw: UInt32) { rawValue = raw }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    public static let timer = VIRQ(0)
    public static let debug = VIRQ(1)
    public static let console = VIRQ(2)
    public static let domExc = VIRQ(3)
    public static let tbuf = VIRQ(4)
    public static let debugger = VIRQ(6)
    public static let xenoprof = VIRQ(7)
    public static let conRing = VIRQ(8)
    public static let pcpuState = VIRQ(9)
    public static let memEvent = VIRQ(10)
    public static let argo = VIRQ(11)
    public static let enomem = VIRQ(12)
    public static let xenpmu = VIRQ(13)
    /// `VIRQ_ARCH_0` … `VIRQ_ARCH_7` (x86: `VIRQ_MCA` is `VIRQ_ARCH_0`).
    public static func arch(_ n: UInt32) -> VIRQ { VIRQ(16 + n) }
    /// `NR_VIRQS`.
    public static let count: UInt32 = 24

    public var isValid: Bool { rawValue < Self.count }

    /// Xen's `virq_is_global`: per-vCPU ("V." in xen.h) are TIMER, DEBUG, XENOPROF and XENPMU;
    /// everything else, including the arch range (`arch_virq_is_global` is true on x86 and
    /// Arm), is global ("G."): bound once per domain on vCPU 0, re-bindable with bind_vcpu.
    public var isGlobal: Bool {
        switch self {
        case .timer, .debug, .xenoprof, .xenpmu: false
        default: true
        }
    }

    public var description: String {
        let names: [UInt32: String] = [0: "TIMER", 1: "DEBUG", 2: "CONSOLE", 3: "DOM_EXC", 4: "TBUF",
                                       6: "DEBUGGER", 7: "XENOPROF", 8: "CON_RING", 9: "PCPU_STATE",
                                       10: "MEM_EVENT", 11: "ARGO", 12: "ENOMEM", 13: "XENPMU"]
        if let n = names[rawValue] { return "VIRQ_\(n)" }
        if (16..<24).contains(rawValue) { return "VIRQ_ARCH_\(rawValue - 16)" }
        return "VIRQ \(rawValue)"
    }
}

// MARK: Op structs (x86-64 and Arm layouts are identical: no pointers, natural alignment)

/// `struct evtchn_alloc_unbound`.
public struct EvtchnAllocUnbound: XenStruct, Equatable, Sendable {
    public static let size = 8
    public enum Offset { public static let dom = 0, remoteDom = 2, port = 4 }
    public var dom: DomainID
    public var remoteDom: DomainID
    public var port: EvtchnPort
    public init(dom: DomainID, remoteDom: DomainID, port: EvtchnPort = EvtchnPort(0)) {
        self.dom = dom; self.remoteDom = remoteDom; self.port = port
    }
    public init(bytes b: [UInt8]) {
        dom = DomainID(b.le(UInt16.self, at: Offset.dom))
        remoteDom = DomainID(b.le(UInt16.self, at: Offset.remoteDom))
        port = EvtchnPort(b.le(UInt32.self, at: Offset.port))
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(dom.raw, at: Offset.dom)
        b.setLE(remoteDom.raw, at: Offset.remoteDom)
        b.setLE(port.raw, at: Offset.port)
        return b
    }
}

/// `struct evtchn_bind_interdomain`.
public struct EvtchnBindInterdomain: XenStruct, Equatable, Sendable {
    public static let size = 12
    public enum Offset { public static let remoteDom = 0, remotePort = 4, localPort = 8 }
    public var remoteDom: DomainID
    public var remotePort: EvtchnPort
    public var localPort: EvtchnPort
    public init(remoteDom: DomainID, remotePort: EvtchnPort, localPort: EvtchnPort = EvtchnPort(0)) {
        self.remoteDom = remoteDom; self.remotePort = remotePort; self.localPort = localPort
    }
    public init(bytes b: [UInt8]) {
        remoteDom = DomainID(b.le(UInt16.self, at: Offset.remoteDom))
        remotePort = EvtchnPort(b.le(UInt32.self, at: Offset.remotePort))
        localPort = EvtchnPort(b.le(UInt32.self, at: Offset.localPort))
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(remoteDom.raw, at: Offset.remoteDom)
        b.setLE(remotePort.raw, at: Offset.remotePort)
        b.setLE(localPort.raw, at: Offset.localPort)
        return b
    }
}

/// `struct evtchn_bind_virq`.
public struct EvtchnBindVIRQ: XenStruct, Equatable, Sendable {
    public static let size = 12
    public enum Offset { public static let virq = 0, vcpu = 4, port = 8 }
    public var virq: VIRQ
    public var vcpu: VCPUID
    public var port: EvtchnPort
    public init(virq: VIRQ, vcpu: VCPUID, port: EvtchnPort = EvtchnPort(0)) {
        self.virq = virq; self.vcpu = vcpu; self.port = port
    }
    public init(bytes b: [UInt8]) {
        virq = VIRQ(b.le(UInt32.self, at: Offset.virq))
        vcpu = VCPUID(b.le(UInt32.self, at: Offset.vcpu))
        port = EvtchnPort(b.le(UInt32.self, at: Offset.port))
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(virq.rawValue, at: Offset.virq)
        b.setLE(vcpu.raw, at: Offset.vcpu)
        b.setLE(port.raw, at: Offset.port)
        return b
    }
}

/// `struct evtchn_bind_pirq`.
public struct EvtchnBindPIRQ: XenStruct, Equatable, Sendable {
    public static let size = 12
    public enum Offset { public static let pirq = 0, flags = 4, port = 8 }
    /// `BIND_PIRQ__WILL_SHARE`.
    public static let willShare: UInt32 = 1
    public var pirq: UInt32
    public var flags: UInt32
    public var port: EvtchnPort
    public init(pirq: UInt32, flags: UInt32 = 0, port: EvtchnPort = EvtchnPort(0)) {
        self.pirq = pirq; self.flags = flags; self.port = port
    }
    public init(bytes b: [UInt8]) {
        pirq = b.le(UInt32.self, at: Offset.pirq)
        flags = b.le(UInt32.self, at: Offset.flags)
        port = EvtchnPort(b.le(UInt32.self, at: Offset.port))
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(pirq, at: Offset.pirq)
        b.setLE(flags, at: Offset.flags)
        b.setLE(port.raw, at: Offset.port)
        return b
    }
}

/// `struct evtchn_bind_ipi`.
public struct EvtchnBindIPI: XenStruct, Equatable, Sendable {
    public static let size = 8
    public enum Offset { public static let vcpu = 0, port = 4 }
    public var vcpu: VCPUID
    public var port: EvtchnPort
    public init(vcpu: VCPUID, port: EvtchnPort = EvtchnPort(0)) { self.vcpu = vcpu; self.port = port }
    public init(bytes b: [UInt8]) {
        vcpu = VCPUID(b.le(UInt32.self, at: Offset.vcpu))
        port = EvtchnPort(b.le(UInt32.self, at: Offset.port))
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(vcpu.raw, at: Offset.vcpu)
        b.setLE(port.raw, at: Offset.port)
        return b
    }
}

/// `struct evtchn_close`, `evtchn_send` and `evtchn_unmask`: one `evtchn_port_t`.
public struct EvtchnPortArg: XenStruct, Equatable, Sendable {
    public static let size = 4
    public var port: EvtchnPort
    public init(port: EvtchnPort) { self.port = port }
    public init(bytes b: [UInt8]) { port = EvtchnPort(b.le(UInt32.self, at: 0)) }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(port.raw, at: 0)
        return b
    }
}

/// `struct evtchn_status`, with its union decoded by `status`.
public struct EvtchnStatus: XenStruct, Equatable, Sendable {
    public static let size = 24
    public enum Offset {
        public static let dom = 0, port = 4, status = 8, vcpu = 12
        /// `u.unbound.dom`, `u.interdomain.dom`, `u.pirq` and `u.virq` all start here.
        public static let u = 16
        public static let interdomainPort = 20
    }

    /// The OUT half: `status` and the union member it selects.
    public enum Binding: Equatable, Sendable {
        case closed
        case unbound(remote: DomainID)
        case interdomain(remote: DomainID, remotePort: EvtchnPort)
        case pirq(UInt32)
        case virq(VIRQ)
        case ipi

        public var status: EvtchnStat {
            switch self {
            case .closed: .closed
            case .unbound: .unbound
            case .interdomain: .interdomain
            case .pirq: .pirq
            case .virq: .virq
            case .ipi: .ipi
            }
        }
    }

    public var dom: DomainID
    public var port: EvtchnPort
    public var binding: Binding
    /// The vCPU notified for this port.
    public var vcpu: VCPUID

    public init(dom: DomainID, port: EvtchnPort, binding: Binding = .closed, vcpu: VCPUID = VCPUID(0)) {
        self.dom = dom; self.port = port; self.binding = binding; self.vcpu = vcpu
    }

    /// Decodes the IN fields and, where `status` is a known value, the OUT ones (an unknown
    /// status, e.g. uninitialised input, reads as closed).
    public init(bytes b: [UInt8]) {
        dom = DomainID(b.le(UInt16.self, at: Offset.dom))
        port = EvtchnPort(b.le(UInt32.self, at: Offset.port))
        vcpu = VCPUID(b.le(UInt32.self, at: Offset.vcpu))
        let u32 = b.le(UInt32.self, at: Offset.u)
        let dom16 = DomainID(b.le(UInt16.self, at: Offset.u))
        switch EvtchnStat(rawValue: b.le(UInt32.self, at: Offset.status)) {
        case .closed, nil: binding = .closed
        case .unbound: binding = .unbound(remote: dom16)
        case .interdomain:
            binding = .interdomain(remote: dom16, remotePort: EvtchnPort(b.le(UInt32.self, at: Offset.interdomainPort)))
        case .pirq: binding = .pirq(u32)
        case .virq: binding = .virq(VIRQ(u32))
        case .ipi: binding = .ipi
        }
    }

    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(dom.raw, at: Offset.dom)
        b.setLE(port.raw, at: Offset.port)
        b.setLE(binding.status.rawValue, at: Offset.status)
        b.setLE(vcpu.raw, at: Offset.vcpu)
        switch binding {
        case .closed, .ipi: break
        case .unbound(let d): b.setLE(d.raw, at: Offset.u)
        case .interdomain(let d, let p):
            b.setLE(d.raw, at: Offset.u)
            b.setLE(p.raw, at: Offset.interdomainPort)
        case .pirq(let p): b.setLE(p, at: Offset.u)
        case .virq(let v): b.setLE(v.rawValue, at: Offset.u)
        }
        return b
    }
}

/// `struct evtchn_bind_vcpu`.
public struct EvtchnBindVCPU: XenStruct, Equatable, Sendable {
    public static let size = 8
    public enum Offset { public static let port = 0, vcpu = 4 }
    public var port: EvtchnPort
    public var vcpu: VCPUID
    public init(port: EvtchnPort, vcpu: VCPUID) { self.port = port; self.vcpu = vcpu }
    public init(bytes b: [UInt8]) {
        port = EvtchnPort(b.le(UInt32.self, at: Offset.port))
        vcpu = VCPUID(b.le(UInt32.self, at: Offset.vcpu))
    }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(port.raw, at: Offset.port)
        b.setLE(vcpu.raw, at: Offset.vcpu)
        return b
    }
}

/// `struct evtchn_reset`.
public struct EvtchnReset: XenStruct, Equatable, Sendable {
    public static let size = 2
    public var dom: DomainID
    public init(dom: DomainID) { self.dom = dom }
    public init(bytes b: [UInt8]) { dom = DomainID(b.le(UInt16.self, at: 0)) }
    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.setLE(dom.raw, at: 0)
        return b
    }
}

/// The FIFO ABI's structs: Petrel implements only the 2-level ABI, so these are read (to fault
/// like Xen on a bad pointer) and refused.
public enum EvtchnFIFO {
    /// `sizeof(struct evtchn_init_control)`: control_gfn u64 @0, offset u32 @8, vcpu u32 @12,
    /// link_bits u8 @16 (OUT), 7 bytes of padding.
    public static let initControlSize = 24
    /// `sizeof(struct evtchn_expand_array)`: array_gfn u64.
    public static let expandArraySize = 8
    /// `sizeof(struct evtchn_set_priority)`: port u32 @0, priority u32 @4.
    public static let setPrioritySize = 8
}
