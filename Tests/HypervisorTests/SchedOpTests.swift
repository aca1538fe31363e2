import Hypervisor
import Testing
import XenABI

@Suite struct SchedOpTests {
    @Test(arguments: [ShutdownReason.poweroff, .reboot, .suspend, .crash, .watchdog, .softReset])
    func shutdownKeepsTheReason(_ reason: ShutdownReason) throws {
        let f = try Fixture()
        var b = [UInt8](repeating: 0, count: 4); b.setLE(reason.rawValue, at: 0)
        try f.put(b)
        #expect(f.call(.schedOp, SchedOpCmd.shutdown.rawValue, Fixture.scratch.raw) == 0)
        #expect(f.domain.shutdownReason == reason)
    }

    @Test func firstShutdownWins() throws {
        let f = try Fixture()
        var b = [UInt8](repeating: 0, count: 4); b.setLE(UInt32(3), at: 0)
        try f.put(b)
        f.call(.schedOp, SchedOpCmd.shutdown.rawValue, Fixture.scratch.raw)
        b.setLE(UInt32(0), at: 0)
        try f.put(b)
        f.call(.schedOp, SchedOpCmd.shutdown.rawValue, Fixture.scratch.raw)
        #expect(f.domain.shutdownReason == .crash)
    }

    @Test func unknownReasonPassesThroughAsACode() throws {
        let f = try Fixture()
        var b = [UInt8](repeating: 0, count: 4); b.setLE(UInt32(77), at: 0)
        try f.put(b)
        #expect(f.call(.schedOp, SchedOpCmd.shutdown.rawValue, Fixture.scratch.raw) == 0)
        #expect(f.domain.shutdownCode == 77)
        #expect(f.domain.shutdownReason == nil)
    }

    @Test func shutdownCodeIsKeptForLater() throws {
        let f = try Fixture()
        var b = [UInt8](repeating: 0, count: 4); b.setLE(UInt32(1), at: 0)
        try f.put(b)
        #expect(f.call(.schedOp, SchedOpCmd.shutdownCode.rawValue, Fixture.scratch.raw) == 0)
        #expect(f.domain.pendingShutdownCode == 1)
        #expect(!f.domain.isShutDown)
    }

    @Test func errors() throws {
        let f = try Fixture()
        #expect(f.call(.schedOp, SchedOpCmd.shutdown.rawValue, Fixture.bad.raw) == errno(.EFAULT))
        #expect(!f.domain.isShutDown)
        #expect(f.call(.schedOp, 99) == errno(.ENOSYS))
        #expect(f.call(.schedOp, SchedOpCmd.yield.rawValue) == 0)
    }
}

@Suite struct EventChannelSendTests {
    @Test func sendNeedsABoundPort() throws {
        let f = try Fixture()
        var b = [UInt8](repeating: 0, count: 4); b.setLE(UInt32(7), at: 0)
        try f.put(b)
        #expect(f.call(.eventChannelOp, EvtchnOpCmd.send.rawValue, Fixture.scratch.raw) == errno(.EINVAL))
        #expect(f.call(.eventChannelOp, EvtchnOpCmd.send.rawValue, Fixture.bad.raw) == errno(.EFAULT))
        #expect(f.call(.eventChannelOp, 77, Fixture.scratch.raw) == errno(.ENOSYS))
    }
}
