import GuestMemory
import Hypervisor
import Testing
import XenABI

@Suite struct DispatchTests {
    @Test func unknownHypercallIsENOSYSAndCounted() throws {
        let f = try Fixture()
        #expect(f.call(.kexecOp) == errno(.ENOSYS))
        #expect(f.call(.kexecOp) == errno(.ENOSYS))
        let bogus = HypercallArgs(number: 1000)
        #expect(Int64(bitPattern: f.hypervisor.dispatch(bogus, context: f.context)) == errno(.ENOSYS))
        #expect(f.hypervisor.unimplementedCounts[HypercallNumber.kexecOp.rawValue] == 2)
        #expect(f.hypervisor.unimplementedCounts[1000] == 1)
    }

    @Test func userModeIsRefused() throws {
        let f = try Fixture()
        #expect(f.call(.xenVersion, 0, 0, cpl: 3) == errno(.EPERM))
    }

    @Test func lastHypercallIsRecorded() throws {
        let f = try Fixture()
        f.call(.xenVersion, 0, 0x1234)
        #expect(f.domain.vcpus[0].lastHypercall == HypercallArgs(number: 17, 0, 0x1234))
    }
}

@Suite struct ConsoleIOTests {
    @Test func writeReachesTheSink() throws {
        let f = try Fixture()
        try f.put(Array("hello\n".utf8))
        #expect(f.call(.consoleIO, ConsoleIOCmd.write.rawValue, 6, Fixture.scratch.raw) == 0)
        #expect(f.consoleText == "hello\n")
    }

    @Test func badPointerIsEFAULT() throws {
        let f = try Fixture()
        #expect(f.call(.consoleIO, 0, 16, Fixture.bad.raw) == errno(.EFAULT))
        #expect(f.consoleText.isEmpty)
    }

    @Test func writeThatRunsOffRAMKeepsTheGoodPart() throws {
        let f = try Fixture()
        let start = GVA(Fixture.ram - 4096)
        try f.put([UInt8](repeating: UInt8(ascii: "x"), count: 4096), at: start)
        #expect(f.call(.consoleIO, 0, 8192, start.raw) == errno(.EFAULT))
        #expect(f.consoleText.count == 4096)
    }

    @Test func readReturnsNothing() throws {
        let f = try Fixture()
        #expect(f.call(.consoleIO, ConsoleIOCmd.read.rawValue, 16, Fixture.scratch.raw) == 0)
    }

    @Test func unknownSubopIsENOSYS() throws {
        let f = try Fixture()
        #expect(f.call(.consoleIO, 99, 0, 0) == errno(.ENOSYS))
    }

    @Test func ringOutputComesBeforeLaterConsoleIO() throws {
        let f = try Fixture()
        let ring = GPA(0x20_0000)
        let port = try f.domain.eventChannels.allocate(.interdomain(remote: .control, remotePort: EvtchnPort(0)))
        f.domain.console.attachRing(at: ring, port: port)
        // The guest puts "ring\n" in out[] and bumps out_prod without notifying.
        try f.domain.memory.write(Array("ring\n".utf8), at: ring.advanced(by: UInt64(XenconsInterface.Offset.out)))
        try f.domain.memory.store(UInt32(5), at: ring.advanced(by: UInt64(XenconsInterface.Offset.outProd)))
        try f.put(Array("io\n".utf8))
        f.call(.consoleIO, 0, 3, Fixture.scratch.raw)
        #expect(f.consoleText == "ring\nio\n")
        #expect(try f.domain.memory.load(UInt32.self, at: ring.advanced(by: UInt64(XenconsInterface.Offset.outCons))) == 5)
    }

    @Test func ringWrapsAndNotifyDrains() throws {
        let f = try Fixture()
        let ring = GPA(0x20_0000)
        let port = try f.domain.eventChannels.allocate(.interdomain(remote: .control, remotePort: EvtchnPort(0)))
        f.domain.console.attachRing(at: ring, port: port)
        let out = ring.advanced(by: UInt64(XenconsInterface.Offset.out))
        // Indexes near the wrap: cons = prod - 4 at 2046.
        try f.domain.memory.store(UInt32(2046), at: ring.advanced(by: UInt64(XenconsInterface.Offset.outCons)))
        try f.domain.memory.write(Array("ab".utf8), at: out.advanced(by: 2046))
        try f.domain.memory.write(Array("cd".utf8), at: out)
        try f.domain.memory.store(UInt32(2050), at: ring.advanced(by: UInt64(XenconsInterface.Offset.outProd)))
        var p = [UInt8](repeating: 0, count: 4); p.setLE(port.raw, at: 0)
        try f.put(p)
        #expect(f.call(.eventChannelOp, EvtchnOpCmd.send.rawValue, Fixture.scratch.raw) == 0)
        #expect(f.consoleText == "abcd")
    }

    @Test func corruptRingIndexesDoNotTrap() throws {
        let f = try Fixture()
        let ring = GPA(0x20_0000)
        let port = try f.domain.eventChannels.allocate(.interdomain(remote: .control, remotePort: EvtchnPort(0)))
        f.domain.console.attachRing(at: ring, port: port)
        try f.domain.memory.store(UInt32(0xFFFF_0000), at: ring.advanced(by: UInt64(XenconsInterface.Offset.outProd)))
        f.domain.console.drainRing(memory: f.domain.memory)
        #expect(f.consoleText.utf8.count == XenconsInterface.outSize)
    }
}

/// A guest cycling through random hypercall numbers and sub-ops gets -ENOSYS every time, and
/// Petrel remembers (and logs) a bounded number of them.
@Suite struct UnimplementedBoundTests {
    @Test func randomNumbersAndSubopsAreBounded() throws {
        let f = try Fixture()
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let number = UInt64.random(in: 1000...UInt64(UInt32.max), using: &rng)
            #expect(Int64(bitPattern: f.hypervisor.dispatch(HypercallArgs(number: number), context: f.context)) == errno(.ENOSYS))
            #expect(f.call(.schedOp, UInt64.random(in: 64...UInt64(UInt32.max), using: &rng)) == errno(.ENOSYS))
        }
        let counts = f.hypervisor.unimplementedCounts
        #expect(counts.count == Hypervisor.unimplementedKeyLimit + 1)
        #expect(counts.values.reduce(0, +) == 4000)
        #expect((counts[Hypervisor.unimplementedOverflowKey] ?? 0) == 4000 - Hypervisor.unimplementedKeyLimit)
    }
}
