import GuestMemory
@testable import Hypervisor
import Synchronization
import Testing
import XenABI

/// Counts handler runs, and lets a handler record what it saw.
private final class Runs: Sendable {
    private let state = Mutex<[String]>([])
    func note(_ s: String) { state.withLock { $0.append(s) } }
    var all: [String] { state.withLock { $0 } }
    var count: Int { all.count }
}

/// `EventChannel.setBackendHandler`: Petrel's backends hear the guest's EVTCHNOP_send on
/// their ports, and only on theirs.
@Suite struct EventChannelBackendTests {
    private func backendPort(_ g: EvtchnGuest) throws -> EvtchnPort {
        try g.domain.eventChannels.allocate(.interdomain(remote: .control, remotePort: EvtchnPort(0)))
    }

    @Test func guestSendRunsTheHandlerOfThatPortOnly() throws {
        let w = EvtchnWorld()
        let g = try w.guest()
        let a = try backendPort(g), b = try backendPort(g)
        let runs = Runs()
        try g.domain.evtchn.setBackendHandler(a) { runs.note("a") }
        try g.domain.evtchn.setBackendHandler(b) { runs.note("b") }
        #expect(g.send(a) == nil)
        #expect(runs.all == ["a"])
        #expect(g.send(b) == nil)
        #expect(g.send(b) == nil)
        #expect(runs.all == ["a", "b", "b"])
        // A backend send raises nothing in the guest.
        #expect(!g.pending(a) && !g.pending(b))
        #expect(g.domain.eventChannels.backends.count == 2)
    }

    @Test func sendsOnOtherKindsOfPortRunNoHandler() throws {
        let w = EvtchnWorld()
        let g = try w.guest()
        let backend = try backendPort(g)
        let runs = Runs()
        try g.domain.evtchn.setBackendHandler(backend) { runs.note("x") }
        let ipi = try g.bindIPI(vcpu: 0).get()
        let u = try g.allocUnbound(remote: .domidSelf).get()
        let q = try g.bindInterdomain(.domidSelf, u).get()
        #expect(g.send(ipi) == nil)
        #expect(g.send(q) == nil)
        #expect(g.send(EvtchnPort(4000)) == .EINVAL)
        #expect(runs.count == 0)
    }

    @Test func onlyBackendPortsTakeAHandler() throws {
        let w = EvtchnWorld()
        let g = try w.guest()
        let ipi = try g.bindIPI(vcpu: 0).get()
        let unbound = try g.allocUnbound(remote: .domidSelf).get()
        for port in [ipi, unbound, EvtchnPort(0), EvtchnPort(63), EvtchnPort(4095), EvtchnPort(UInt32.max)] {
            #expect(throws: XenErrno.EINVAL) { try g.domain.evtchn.setBackendHandler(port) {} }
        }
        #expect(g.domain.eventChannels.backends.count == 0)
        // Clearing is always allowed (a no-op here).
        try g.domain.evtchn.setBackendHandler(ipi, nil)
    }

    @Test func nilRemovesAndALaterHandlerReplaces() throws {
        let w = EvtchnWorld()
        let g = try w.guest()
        let port = try backendPort(g)
        let runs = Runs()
        try g.domain.evtchn.setBackendHandler(port) { runs.note("first") }
        try g.domain.evtchn.setBackendHandler(port) { runs.note("second") }
        #expect(g.send(port) == nil)
        try g.domain.evtchn.setBackendHandler(port, nil)
        #expect(g.send(port) == nil)
        #expect(runs.all == ["second"])
    }

    /// The handler runs with no event-channel lock held: it can notify the guest on the same
    /// port and look at the table (either would deadlock under the table lock).
    @Test func handlerMayCallBackIntoTheDomainsEventChannels() throws {
        let w = EvtchnWorld()
        let g = try w.guest()
        let port = try backendPort(g)
        let runs = Runs()
        let d = g.domain
        try d.evtchn.setBackendHandler(port) {
            let state = d.eventChannels.state(port)
            let notified = d.evtchn.notify(port)
            runs.note("\(notified) \(state == .interdomain(remote: .control, remotePort: EvtchnPort(0)))")
        }
        #expect(g.send(port) == nil)
        #expect(runs.all == ["true true"])
        #expect(g.pending(port) && g.upcallPending())
    }

    @Test func guestCloseStopsTheHandlerAndANewBackendPortStartsClean() throws {
        let w = EvtchnWorld()
        let g = try w.guest()
        let port = try backendPort(g)
        let runs = Runs()
        try g.domain.evtchn.setBackendHandler(port) { runs.note("old") }
        #expect(g.close(port) == nil)
        #expect(g.send(port) == .EINVAL)
        // A closed port cannot take a new handler…
        #expect(throws: XenErrno.EINVAL) { try g.domain.evtchn.setBackendHandler(port) {} }
        // …and the next backend allocated there does not inherit the old one.
        let again = try backendPort(g)
        #expect(again == port)
        #expect(g.send(again) == nil)
        #expect(runs.count == 0)
    }

    @Test func domainDestructionDropsEveryHandler() throws {
        let w = EvtchnWorld()
        let g = try w.guest()
        for _ in 0..<3 { try g.domain.evtchn.setBackendHandler(try backendPort(g)) {} }
        #expect(g.domain.eventChannels.backends.count == 3)
        g.domain.evtchn.closeAll()
        #expect(g.domain.eventChannels.backends.count == 0)
    }

    /// The console's own drain on its port keeps working next to a registered handler.
    @Test func consoleStillDrainsItsRing() throws {
        let w = EvtchnWorld()
        let g = try w.guest()
        let d = g.domain
        let out = Runs()
        let ring = GPA(0x20_0000)
        let consolePort = try backendPort(g)
        d.console.attachRing(at: ring, port: consolePort)
        d.console.setSink { out.note(String(decoding: $0, as: UTF8.self)) }
        let other = try backendPort(g)
        let runs = Runs()
        try d.evtchn.setBackendHandler(other) { runs.note("other") }
        try d.memory.write(Array("hi".utf8), at: ring.advanced(by: UInt64(XenconsInterface.Offset.out)))
        try d.memory.store(UInt32(2), at: ring.advanced(by: UInt64(XenconsInterface.Offset.outProd)))
        #expect(g.send(consolePort) == nil)
        #expect(out.all == ["hi"])
        #expect(runs.count == 0)
        #expect(g.send(other) == nil)
        #expect(runs.all == ["other"])
    }
}
