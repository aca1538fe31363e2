import GuestMemory
@testable import Hypervisor
import Synchronization
import XenABI

/// A domain with RAM, shared_info (so event bits can be read and cleared), a PV console ring
/// at `ring` whose port is connected to Petrel's backend, and its console output collected.
final class ConsoleRingFixture: Sendable {
    let world = EvtchnWorld()
    let guest: EvtchnGuest
    let ring = GPA(0x20_0000)
    let port: EvtchnPort
    final class Output: Sendable { let bytes = Mutex<[UInt8]>([]) }
    let output = Output()
    /// Where the guest's CONSOLEIO_read buffers go.
    static let buffer = GVA(0x18_0000)

    init() throws {
        guest = try world.guest(vcpus: 1)
        let d = guest.domain
        port = try d.eventChannels.allocate(.interdomain(remote: .control, remotePort: EvtchnPort(0)))
        try d.memory.fill(0, at: ring, count: 4096)
        console.attachRing(at: ring, port: port)
        let output = self.output
        console.setSink { bytes in output.bytes.withLock { $0 += bytes } }
    }

    var domain: Domain { guest.domain }
    var console: Console { guest.domain.console }
    var memory: GuestPhysicalMemory { guest.domain.memory }
    var text: String { String(decoding: output.bytes.withLock { $0 }, as: UTF8.self) }

    private func at(_ offset: Int) -> GPA { ring.advanced(by: UInt64(offset)) }

    var inProd: UInt32 { get throws { try memory.load(UInt32.self, at: at(XenconsInterface.Offset.inProd)) } }
    var inCons: UInt32 { get throws { try memory.load(UInt32.self, at: at(XenconsInterface.Offset.inCons)) } }
    func setInCons(_ v: UInt32) throws { try memory.store(v, at: at(XenconsInterface.Offset.inCons)) }
    func setInProd(_ v: UInt32) throws { try memory.store(v, at: at(XenconsInterface.Offset.inProd)) }

    /// `in[]` bytes from index `from` (mod the ring size) for `count` bytes, as the guest reads them.
    func inBytes(from: UInt32, count: Int) throws -> [UInt8] {
        let size = UInt32(XenconsInterface.inSize)
        return try (0..<count).map { i in
            try memory.load(UInt8.self, at: at(XenconsInterface.Offset.in + Int((from &+ UInt32(i)) % size)))
        }
    }

    /// What a guest ring reader does: take everything between in_cons and in_prod, publish
    /// in_cons, notify the backend.
    func guestConsume() throws -> [UInt8] {
        let cons = try inCons, prod = try inProd
        let bytes = try inBytes(from: cons, count: Int(prod &- cons))
        try setInCons(prod)
        try guestNotify()
        return bytes
    }

    /// EVTCHNOP_send on the console port, through the hypercall.
    func guestNotify() throws {
        if let e = guest.send(port) { throw e }
    }

    /// The guest's view of the console port: pending, then cleared (as its handler would).
    func takePending() -> Bool {
        defer { guest.setPendingBit(port, false) }
        return guest.pending(port)
    }

    /// `console_io(CONSOLEIO_read, count, buffer)` from the guest; rax as a signed value.
    func consoleRead(_ count: UInt64, at gva: GVA = ConsoleRingFixture.buffer) -> Int64 {
        Int64(bitPattern: world.hypervisor.dispatch(
            HypercallArgs(number: HypercallNumber.consoleIO.rawValue, ConsoleIOCmd.read.rawValue, count, gva.raw),
            context: guest.context()))
    }

    /// `console_io(CONSOLEIO_write)` of `bytes` from the guest.
    @discardableResult
    func consoleWrite(_ bytes: [UInt8]) throws -> Int64 {
        let ctx = guest.context()
        try ctx.memory.copyOut(bytes, to: ConsoleRingFixture.buffer)
        return Int64(bitPattern: world.hypervisor.dispatch(
            HypercallArgs(number: HypercallNumber.consoleIO.rawValue, ConsoleIOCmd.write.rawValue,
                          UInt64(bytes.count), ConsoleRingFixture.buffer.raw),
            context: ctx))
    }

    func guestBuffer(_ count: Int) throws -> [UInt8] {
        try guest.context().memory.copyIn(ConsoleRingFixture.buffer, count: count)
    }

    /// The guest puts `bytes` in out[] and publishes out_prod (without notifying).
    func guestRingWrite(_ bytes: [UInt8]) throws {
        let size = UInt32(XenconsInterface.outSize)
        var prod = try memory.load(UInt32.self, at: at(XenconsInterface.Offset.outProd))
        for b in bytes {
            try memory.store(b, at: at(XenconsInterface.Offset.out + Int(prod % size)))
            prod &+= 1
        }
        try memory.store(prod, at: at(XenconsInterface.Offset.outProd))
    }
}

/// Bytes 0, 1, 2 … (mod 251, so no period lines up with the ring sizes).
func consolePattern(_ count: Int, from start: Int = 0) -> [UInt8] {
    (start..<start + count).map { UInt8($0 % 251) }
}

/// Thread-safe counter for handlers.
final class CallCounter: Sendable {
    private let n = Mutex(0)
    func bump() { n.withLock { $0 += 1 } }
    var count: Int { n.withLock { $0 } }
}
