@testable import Hypervisor
import Testing
import XenABI

@Suite("VIRQ_PCPU_STATE on pCPU changes")
struct PhysicalCPUVIRQTests {
    /// Privileged and unprivileged domains, with and without VIRQ_PCPU_STATE bound.
    struct Guests {
        let world = EvtchnWorld()
        let bound: EvtchnGuest, boundPort: EvtchnPort
        let unbound: EvtchnGuest
        let unprivileged: EvtchnGuest, unprivilegedPort: EvtchnPort
        init() throws {
            world.services.hostCPUs.withLock { cpus in
                cpus = (0..<3).map { hostCPU($0, apic: UInt32($0)) }
            }
            try world.hypervisor.physicalCPUs.rescan()
            bound = try world.guest(privileged: true)
            boundPort = try bound.bindVIRQ(.pcpuState).get()
            unbound = try world.guest(privileged: true)
            unprivileged = try world.guest(privileged: false)
            unprivilegedPort = try unprivileged.bindVIRQ(.pcpuState).get()
        }
        var table: PhysicalCPUTable { world.hypervisor.physicalCPUs }
        func noOtherPending() -> Bool {
            !unprivileged.pending(unprivilegedPort) && !unbound.upcallPending(0) && !unprivileged.upcallPending(0)
        }
    }

    @Test func offlineAndOnlineRaiseItOnPrivilegedDomainsThatBoundIt() throws {
        let g = try Guests()
        #expect(!g.bound.pending(g.boundPort))
        try g.table.offline(PCPUID(2))
        #expect(g.bound.pending(g.boundPort))
        #expect(g.bound.upcallPending(0))
        #expect(g.noOtherPending())
        g.bound.acknowledge()
        try g.table.online(PCPUID(2))
        #expect(g.bound.pending(g.boundPort))
        #expect(g.noOtherPending())
    }

    @Test func refusedAndNoOpRequestsRaiseNothing() throws {
        let g = try Guests()
        #expect(errnoOf { try g.table.offline(PCPUID(0)) } == .EOPNOTSUPP)
        #expect(errnoOf { try g.table.offline(PCPUID(7)) } == .EINVAL)
        #expect(errnoOf { try g.table.online(PCPUID(1)) } == nil)
        #expect(!g.bound.pending(g.boundPort))
        #expect(g.noOtherPending())
    }

    @Test func hostHotplugRaisesItToo() throws {
        let g = try Guests()
        g.world.services.hostCPUs.withLock { cpus in
            cpus = [hostCPU(0, apic: 0), hostCPU(1, apic: 1), hostCPU(2, present: false, online: false)]
        }
        #expect(try g.table.rescan() == [.offline(PCPUID(2)), .removed(PCPUID(2))])
        #expect(g.bound.pending(g.boundPort))
        #expect(g.noOtherPending())
    }

    @Test func theHypercallRaisesItOnTheCaller() throws {
        let g = try Guests()
        let ctx = g.bound.context()
        let op = XenPlatformOp(cmd: PlatformOpCmd.cpuOffline.rawValue, u: XenpfCPUOl(cpuid: PCPUID(1)).bytes)
        try ctx.memory.copyOut(op.bytes, to: EvtchnWorld.arg)
        let rc = g.bound.domain.hypervisor.dispatch(
            HypercallArgs(number: HypercallNumber.platformOp.rawValue, EvtchnWorld.arg.raw), context: ctx)
        #expect(rc == 0)
        #expect(g.bound.pending(g.boundPort))
        #expect(g.noOtherPending())
    }
}
