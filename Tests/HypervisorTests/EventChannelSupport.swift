import GuestMemory
@testable import Hypervisor
import Synchronization
import XenABI

/// An engine stand-in that only counts kicks per vCPU (what event delivery asks of an engine).
final class EvtchnKickCounter: Machine, Sendable {
    private let counts = Mutex<[VCPUID: Int]>([:])
    func start(vcpu: VCPUID, state: VCPUStartState) throws {}
    func kick(vcpu: VCPUID) { counts.withLock { $0[vcpu, default: 0] += 1 } }
    func block(vcpu: VCPUID, until deadline: UInt64?) {}
    func timestamp() -> GuestTimestamp { GuestTimestamp(counter: 0, monotonicNanoseconds: 0) }
    var counterFrequency: UInt64 { 1_000_000_000 }
    func setAffinity(vcpu: VCPUID, hostCPUs: [Int]) throws {}
    func hostThread(vcpu: VCPUID) -> VCPUHostThread? { nil }
    func join() {}
    func destroy() {}
    func kicks(_ v: Int = 0) -> Int { counts.withLock { $0[VCPUID(UInt32(v)), default: 0] } }
    var total: Int { counts.withLock { $0.values.reduce(0, +) } }
}

/// Domains on one hypervisor, each with RAM, identity-mapped hypercall buffers, shared_info
/// placed just above RAM and a kick counter as its machine.
final class EvtchnWorld: Sendable {
    let services = FakeHostServices()
    let hypervisor: Hypervisor
    static let ram: UInt64 = 4 << 20
    /// Where each test puts an op's argument struct.
    static let arg = GVA(0x10_0000)
    static let bad = GVA(0x7FFF_FFFF_F000)
    /// Just above RAM: Physmap maps a page of its own there.
    static let sharedInfoGFN = GFN(ram >> 12 + 0x10)

    init() { hypervisor = Hypervisor(services: services) }

    func guest(privileged: Bool = false, vcpus: Int = 2, maxEventChannels: Int = 1023,
               sharedInfo: Bool = true) throws -> EvtchnGuest {
        let d = try hypervisor.createDomain(DomainConfig(name: "ev", memoryBytes: Self.ram, vcpus: vcpus,
                                                         privileged: privileged,
                                                         maxEventChannels: maxEventChannels))
        try d.memory.addRegion(at: GPA(0), size: Self.ram, kind: .ram)
        let g = EvtchnGuest(d)
        if sharedInfo { try g.placeSharedInfo() }
        return g
    }
}

typealias EvResult = Result<EvtchnPort, XenErrno>

/// One domain seen from inside: EVTCHNOP_* through `Hypervisor.dispatch`, and the 2-level bits.
final class EvtchnGuest: Sendable {
    let domain: Domain
    let kicks = EvtchnKickCounter()
    init(_ d: Domain) {
        domain = d
        d.machine = kicks
    }

    var id: DomainID { domain.id }

    func placeSharedInfo(at gfn: GFN = EvtchnWorld.sharedInfoGFN) throws {
        try domain.physmap.place(.sharedInfo, at: gfn, in: domain.memory)
    }

    func context(_ vcpu: Int = 0) -> HypercallContext {
        HypercallContext(vcpu: domain.vcpus[vcpu],
                         memory: GuestVirtualMemory(physical: domain.memory, translator: IdentityTranslator()),
                         privilegeLevel: 0)
    }

    /// `event_channel_op(cmd, arg)` with `bytes` at the argument buffer; rc and the buffer after.
    func op(_ cmd: UInt64, _ bytes: [UInt8], at gva: GVA = EvtchnWorld.arg, vcpu: Int = 0) -> (rc: Int64, out: [UInt8]) {
        let ctx = context(vcpu)
        if !bytes.isEmpty { try! ctx.memory.copyOut(bytes, to: gva) }
        let rc = Int64(bitPattern: domain.hypervisor.dispatch(
            HypercallArgs(number: HypercallNumber.eventChannelOp.rawValue, cmd, gva.raw), context: ctx))
        let out = bytes.isEmpty ? [] : ((try? ctx.memory.copyIn(gva, count: bytes.count)) ?? [])
        return (rc, out)
    }

    func op<T: XenStruct>(_ cmd: EvtchnOpCmd, _ arg: T, at gva: GVA = EvtchnWorld.arg, vcpu: Int = 0) -> (rc: Int64, out: T) {
        let (rc, out) = op(cmd.rawValue, arg.bytes, at: gva, vcpu: vcpu)
        return (rc, T(bytes: out))
    }

    private func result(_ rc: Int64, _ port: EvtchnPort) -> EvResult {
        rc == 0 ? .success(port) : .failure(XenErrno(Int32(-rc)))
    }

    private func rcResult(_ rc: Int64) -> XenErrno? { rc == 0 ? nil : XenErrno(Int32(-rc)) }

    func allocUnbound(_ dom: DomainID = .domidSelf, remote: DomainID) -> EvResult {
        let (rc, o) = op(.allocUnbound, EvtchnAllocUnbound(dom: dom, remoteDom: remote))
        return result(rc, o.port)
    }

    func bindInterdomain(_ remote: DomainID, _ port: EvtchnPort) -> EvResult {
        let (rc, o) = op(.bindInterdomain, EvtchnBindInterdomain(remoteDom: remote, remotePort: port))
        return result(rc, o.localPort)
    }

    func bindVIRQ(_ virq: VIRQ, vcpu: UInt32 = 0) -> EvResult {
        let (rc, o) = op(.bindVirq, EvtchnBindVIRQ(virq: virq, vcpu: VCPUID(vcpu)))
        return result(rc, o.port)
    }

    func bindIPI(vcpu: UInt32) -> EvResult {
        let (rc, o) = op(.bindIPI, EvtchnBindIPI(vcpu: VCPUID(vcpu)))
        return result(rc, o.port)
    }

    func bindVCPU(_ port: EvtchnPort, _ vcpu: UInt32) -> XenErrno? {
        rcResult(op(.bindVCPU, EvtchnBindVCPU(port: port, vcpu: VCPUID(vcpu))).rc)
    }

    func close(_ port: EvtchnPort) -> XenErrno? { rcResult(op(.close, EvtchnPortArg(port: port)).rc) }
    func send(_ port: EvtchnPort, vcpu: Int = 0) -> XenErrno? {
        rcResult(op(.send, EvtchnPortArg(port: port), vcpu: vcpu).rc)
    }
    func unmask(_ port: EvtchnPort) -> XenErrno? { rcResult(op(.unmask, EvtchnPortArg(port: port)).rc) }
    func reset(_ dom: DomainID = .domidSelf) -> XenErrno? { rcResult(op(.reset, EvtchnReset(dom: dom)).rc) }

    func status(_ port: EvtchnPort, dom: DomainID = .domidSelf) -> Result<EvtchnStatus, XenErrno> {
        let (rc, o) = op(.status, EvtchnStatus(dom: dom, port: port))
        return rc == 0 ? .success(o) : .failure(XenErrno(Int32(-rc)))
    }

    // MARK: 2-level bits as the guest sees them

    var sharedInfo: GPA { domain.physmap.location(of: .sharedInfo)!.address }
    func vcpuInfo(_ v: Int) -> GPA { domain.vcpus[v].vcpuInfo! }

    private func bit(_ base: Int, _ port: EvtchnPort) -> Bool {
        let w = try! domain.memory.load(UInt64.self, at: sharedInfo.advanced(by: UInt64(base + Int(port.raw / 64) * 8)))
        return w & (1 << UInt64(port.raw % 64)) != 0
    }

    private func setBit(_ base: Int, _ port: EvtchnPort, _ on: Bool) {
        let a = sharedInfo.advanced(by: UInt64(base + Int(port.raw / 64) * 8))
        let m: UInt64 = 1 << UInt64(port.raw % 64)
        if on { try! domain.memory.atomicOr(m, at: a) } else { try! domain.memory.atomicAnd(~m, at: a) }
    }

    func pending(_ port: EvtchnPort) -> Bool { bit(X86SharedInfo.Offset.evtchnPending, port) }
    func masked(_ port: EvtchnPort) -> Bool { bit(X86SharedInfo.Offset.evtchnMask, port) }
    func mask(_ port: EvtchnPort, _ on: Bool = true) { setBit(X86SharedInfo.Offset.evtchnMask, port, on) }
    func setPendingBit(_ port: EvtchnPort, _ on: Bool) { setBit(X86SharedInfo.Offset.evtchnPending, port, on) }

    func selector(_ v: Int = 0) -> UInt64 {
        try! domain.memory.load(UInt64.self, at: vcpuInfo(v).advanced(by: UInt64(X86VCPUInfo.Offset.evtchnPendingSel)))
    }

    func upcallPending(_ v: Int = 0) -> Bool {
        try! domain.memory.load(UInt8.self, at: vcpuInfo(v).advanced(by: UInt64(X86VCPUInfo.Offset.evtchnUpcallPending))) != 0
    }

    /// What a guest's upcall handler does: take the selector and upcall_pending, clear the
    /// pending bits it handles.
    func acknowledge(_ v: Int = 0) {
        try! domain.memory.store(UInt8(0), at: vcpuInfo(v).advanced(by: UInt64(X86VCPUInfo.Offset.evtchnUpcallPending)))
        try! domain.memory.store(UInt64(0), at: vcpuInfo(v).advanced(by: UInt64(X86VCPUInfo.Offset.evtchnPendingSel)))
        for w in 0..<64 {
            try! domain.memory.store(UInt64(0), at: sharedInfo.advanced(by: UInt64(X86SharedInfo.Offset.evtchnPending + w * 8)))
        }
    }

    func state(_ port: EvtchnPort) -> EventChannelTable.State? { domain.eventChannels.state(port) }
}

extension EventChannelTable.State {
    static func interdomain(_ d: DomainID, _ p: EvtchnPort) -> Self { .interdomain(remote: d, remotePort: p) }
}

/// Checks a set of domains' tables against the invariants every operation must keep; returns
/// what is wrong (empty when consistent).
func evtchnAudit(_ guests: [EvtchnGuest]) -> [String] {
    var problems: [String] = []
    let byID = Dictionary(uniqueKeysWithValues: guests.map { ($0.id, $0) })
    for g in guests {
        let d = g.domain
        let chans = d.eventChannels.snapshot
        let virqs = d.eventChannels.ports.withLock { $0.virqPorts }
        let deferred = d.eventChannels.ports.withLock { $0.deferred }
        func bad(_ s: String) { problems.append("\(d.id): \(s)") }
        if chans.count % EventChannelTable.bucketSize != 0 { bad("table size \(chans.count)") }
        if chans.first?.state != .reserved { bad("port 0 is \(String(describing: chans.first?.state))") }
        var virqSeen = 0
        for (i, ch) in chans.enumerated() {
            let port = EvtchnPort(UInt32(i))
            if Int(ch.notifyVCPU.raw) >= d.vcpus.count { bad("\(port) notifies \(ch.notifyVCPU)") }
            if ch.state.isBound && i > d.eventChannels.maxPort { bad("\(port) past max port") }
            let hasSI = d.physmap.location(of: .sharedInfo) != nil
            switch ch.state {
            case .free:
                if ch.notifyVCPU != VCPUID(0) { bad("free \(port) notifies \(ch.notifyVCPU)") }
                if hasSI && g.pending(port) { bad("free \(port) pending") }
                if deferred.contains(port) { bad("free \(port) deferred") }
            case .reserved:
                if i != 0 { bad("\(port) reserved") }
            case .unbound:
                break
            case .interdomain(let rid, let rport):
                if rid == .control { break }
                guard let peer = byID[rid] else { bad("\(port) peer \(rid) unknown"); break }
                let back = peer.domain.eventChannels.state(rport)
                if back != .interdomain(remote: d.id, remotePort: port) {
                    bad("\(port) → \(rid):\(rport) but that is \(String(describing: back))")
                }
            case .virq(let virq, let vcpu):
                virqSeen += 1
                if virqs[VIRQSlot(vcpu: vcpu, virq: virq)] != port { bad("\(port) \(virq) not in map") }
                if virq.isGlobal && vcpu != VCPUID(0) { bad("global \(virq) on \(vcpu)") }
                if !virq.isGlobal && ch.notifyVCPU != vcpu { bad("per-vCPU \(virq) notifies \(ch.notifyVCPU)") }
            case .ipi(let vcpu):
                if ch.notifyVCPU != vcpu { bad("ipi \(port) notifies \(ch.notifyVCPU) not \(vcpu)") }
            }
        }
        if virqSeen != virqs.count { bad("virq map has \(virqs.count) entries, ports \(virqSeen)") }
    }
    return problems
}

/// A deterministic generator (SplitMix64) so randomized tests replay exactly.
struct EvtchnRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
