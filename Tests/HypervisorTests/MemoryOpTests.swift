import GuestMemory
import Hypervisor
import Testing
import XenABI

@Suite struct MemoryOpTests {
    @Test func reservations() throws {
        let f = try Fixture()
        var d = [UInt8](repeating: 0, count: 2); d.setLE(DomainID.domidSelf.raw, at: 0)
        try f.put(d)
        #expect(f.call(.memoryOp, MemoryOpCmd.currentReservation.rawValue, Fixture.scratch.raw) == Int64(Fixture.ram / 4096))
        #expect(f.call(.memoryOp, MemoryOpCmd.maximumReservation.rawValue, Fixture.scratch.raw) == Int64(Fixture.ram / 4096))
        d.setLE(UInt16(4321), at: 0)
        try f.put(d)
        #expect(f.call(.memoryOp, MemoryOpCmd.currentReservation.rawValue, Fixture.scratch.raw) == errno(.ESRCH))
        #expect(f.call(.memoryOp, MemoryOpCmd.currentReservation.rawValue, Fixture.bad.raw) == errno(.EFAULT))
    }

    @Test func memoryMapCopiesMinOfBothCounts() throws {
        let f = try Fixture()
        f.domain.memmap = [HVMMemmapEntry(addr: 0, size: Fixture.ram, type: .ram),
                           HVMMemmapEntry(addr: 0xFEFF_8000, size: 0x8000, type: .reserved)]
        let buffer = GVA(0x10_1000)
        try f.put(XenMemoryMap(nrEntries: 8, buffer: buffer).bytes)
        #expect(f.call(.memoryOp, MemoryOpCmd.memoryMap.rawValue, Fixture.scratch.raw) == 0)
        #expect(XenMemoryMap(bytes: try f.get(16)).nrEntries == 2)
        let e = E820Entry(bytes: try f.get(20, at: buffer.advanced(by: 20)))
        #expect(e == E820Entry(addr: 0xFEFF_8000, size: 0x8000, type: 2))
        try f.put(XenMemoryMap(nrEntries: 1, buffer: buffer).bytes)
        #expect(f.call(.memoryOp, MemoryOpCmd.memoryMap.rawValue, Fixture.scratch.raw) == 0)
        #expect(XenMemoryMap(bytes: try f.get(16)).nrEntries == 1)
        try f.put(XenMemoryMap(nrEntries: 2, buffer: Fixture.bad).bytes)
        #expect(f.call(.memoryOp, MemoryOpCmd.memoryMap.rawValue, Fixture.scratch.raw) == errno(.EFAULT))
    }

    @Test func sharedInfoAboveRAMGetsItsOwnPage() throws {
        let f = try Fixture()
        let gfn = GFN(Fixture.ram / 4096)
        try f.put(XenAddToPhysmap(domid: .domidSelf, space: MapSpace.sharedInfo.rawValue, idx: 0, gpfn: gfn).bytes)
        #expect(f.call(.memoryOp, MemoryOpCmd.addToPhysmap.rawValue, Fixture.scratch.raw) == 0)
        #expect(f.domain.physmap.location(of: .sharedInfo) == gfn)
        #expect(f.domain.memory.isBacked(gfn.address))
        try expectFreshSharedInfo(f, at: gfn)
        // Moving it carries the contents and unmaps the old page.
        try f.domain.memory.store(UInt64(0xABCD), at: gfn.address)
        let next = GFN(gfn.raw + 10)
        try f.put(XenAddToPhysmap(domid: .domidSelf, space: 0, idx: 0, gpfn: next).bytes)
        #expect(f.call(.memoryOp, MemoryOpCmd.addToPhysmap.rawValue, Fixture.scratch.raw) == 0)
        #expect(try f.domain.memory.load(UInt64.self, at: next.address) == 0xABCD)
        #expect(!f.domain.memory.isBacked(gfn.address))
    }

    @Test func sharedInfoOverRAMUsesThatPage() throws {
        let f = try Fixture()
        let gfn = GFN(0x300)
        try f.domain.memory.fill(0xEE, at: gfn.address, count: 4096)
        try f.put(XenAddToPhysmap(domid: .domidSelf, space: 0, idx: 0, gpfn: gfn).bytes)
        #expect(f.call(.memoryOp, MemoryOpCmd.addToPhysmap.rawValue, Fixture.scratch.raw) == 0)
        #expect(try f.domain.memory.read(at: gfn.address, count: 2048).allSatisfy { $0 != 0xEE })
        try expectFreshSharedInfo(f, at: gfn)
    }

    /// A newly placed shared_info: event bitmaps clear, the wallclock and vCPU 0's pvclock
    /// written (versions even and non-zero).
    func expectFreshSharedInfo(_ f: Fixture, at gfn: GFN) throws {
        let page = try f.domain.memory.read(at: gfn.address, count: 4096)
        #expect(page[X86SharedInfo.Offset.evtchnPending..<X86SharedInfo.Offset.evtchnMask].allSatisfy { $0 == 0 })
        let wcVersion = page.le(UInt32.self, at: X86SharedInfo.Offset.wcVersion)
        #expect(wcVersion != 0 && wcVersion % 2 == 0)
        #expect(page.le(UInt32.self, at: X86SharedInfo.Offset.wcSec) > 1_700_000_000)
        let time = X86VCPUInfo.Offset.time
        let version = page.le(UInt32.self, at: time + VCPUTimeInfo.Offset.version)
        #expect(version != 0 && version % 2 == 0)
        #expect(page.le(UInt32.self, at: time + VCPUTimeInfo.Offset.tscToSystemMul) != 0)
    }

    @Test func addToPhysmapErrors() throws {
        let f = try Fixture()
        func add(_ space: UInt32, _ idx: UInt64, _ gfn: UInt64, domid: DomainID = .domidSelf) throws -> Int64 {
            try f.put(XenAddToPhysmap(domid: domid, space: space, idx: idx, gpfn: GFN(gfn)).bytes)
            return f.call(.memoryOp, MemoryOpCmd.addToPhysmap.rawValue, Fixture.scratch.raw)
        }
        #expect(try add(MapSpace.sharedInfo.rawValue, 1, 0x2000) == errno(.EINVAL))
        #expect(try add(MapSpace.grantTable.rawValue, 32, 0x2000) == errno(.EINVAL))
        #expect(try add(MapSpace.grantTable.rawValue, 0x8000_0000, 0x2000) == errno(.EINVAL))
        #expect(try add(99, 0, 0x2000) == errno(.EINVAL))
        #expect(try add(MapSpace.gmfnForeign.rawValue, 0, 0x2000) == errno(.EINVAL))
        #expect(try add(MapSpace.sharedInfo.rawValue, 0, 1 << 52) == errno(.EINVAL))
        #expect(try add(MapSpace.sharedInfo.rawValue, 0, 0x2000, domid: DomainID(999)) == errno(.ESRCH))
        #expect(try add(MapSpace.grantTable.rawValue, 0, 0x2000) == 0)
        // Two Xen pages can't share one frame.
        #expect(try add(MapSpace.sharedInfo.rawValue, 0, 0x2000) == errno(.EBUSY))
        #expect(f.call(.memoryOp, MemoryOpCmd.addToPhysmap.rawValue, Fixture.bad.raw) == errno(.EFAULT))
        #expect(f.call(.memoryOp, 200, Fixture.scratch.raw) == errno(.ENOSYS))
    }
}
