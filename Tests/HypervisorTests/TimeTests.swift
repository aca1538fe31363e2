import Hypervisor
import Testing
import XenABI

@Suite struct XenTimeScaleTests {
    @Test(arguments: [UInt64(1_000_000_000), 2_445_426_000, 3_000_000_000, 100_000_000, 10_000_000_000])
    func scaleConvertsOneSecondOfTicksToOneSecond(_ hz: UInt64) {
        let (mul, shift) = XenTime.scale(counterHz: hz)
        let ns = XenTime.nanoseconds(ticks: hz, mul: mul, shift: shift)
        // Within 1 ppm, as Xen's 32.32 fixed point allows.
        #expect(ns > 999_999_000 && ns <= 1_000_001_000, "hz \(hz): \(ns) ns")
    }

    @Test func largeTickCountsDoNotOverflow() {
        let hz: UInt64 = 2_445_426_000
        let (mul, shift) = XenTime.scale(counterHz: hz)
        let ns = XenTime.nanoseconds(ticks: hz * 86_400 * 365, mul: mul, shift: shift)
        let year: UInt64 = 86_400 * 365 * 1_000_000_000
        #expect(ns > year - year / 1_000_000 && ns < year + year / 1_000_000)
    }
}

@Suite struct VCPUOpTests {
    func context64(rip: UInt64 = 0x10_0000, cr3: UInt64 = 0x1000, cr0: UInt64 = 0x8000_0011) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: VCPUHVMContext.size)
        b.setLE(VCPUHVMContext.mode64, at: 0)
        let r = VCPUHVMContext.regs
        b.setLE(rip, at: r + VCPUHVMContext.X86_64.rip)
        b.setLE(cr0, at: r + VCPUHVMContext.X86_64.cr0)
        b.setLE(cr3, at: r + VCPUHVMContext.X86_64.cr3)
        b.setLE(UInt64(0x20), at: r + VCPUHVMContext.X86_64.cr4)
        b.setLE(UInt64(0x500), at: r + VCPUHVMContext.X86_64.efer)
        return b
    }

    func vcpuOp(_ f: Fixture, _ cmd: VCPUOpCmd, _ vcpu: UInt64, _ arg: GVA = Fixture.scratch) -> Int64 {
        f.call(.vcpuOp, cmd.rawValue, vcpu, arg.raw)
    }

    @Test func initialiseChecksTheContext() throws {
        let f = try Fixture(vcpus: 2)
        try f.put(context64(cr0: 0x11))  // no paging: not a 64-bit context
        #expect(vcpuOp(f, .initialise, 1) == errno(.EINVAL))
        try f.put(context64(rip: 0x8000_0000_0000_0000))  // non-canonical rip
        #expect(vcpuOp(f, .initialise, 1) == errno(.EINVAL))
        try f.put(context64(cr3: 0x7_0000_0000))  // page tables outside RAM
        #expect(vcpuOp(f, .initialise, 1) == errno(.EINVAL))
        var bad = context64(); bad.setLE(UInt32(7), at: 0)
        try f.put(bad)
        #expect(vcpuOp(f, .initialise, 1) == errno(.EINVAL))
        try f.put(context64())
        #expect(vcpuOp(f, .initialise, 1) == 0)
        #expect(vcpuOp(f, .initialise, 1) == errno(.EEXIST))
        #expect(vcpuOp(f, .initialise, 2) == errno(.ENOENT))
        #expect(vcpuOp(f, .initialise, 1, Fixture.bad) == errno(.EFAULT))
    }

    @Test func upNeedsInitialiseAndIsUpReports() throws {
        let f = try Fixture(vcpus: 2)
        #expect(vcpuOp(f, .up, 1) == errno(.EINVAL))
        #expect(vcpuOp(f, .isUp, 1) == 0)
        #expect(vcpuOp(f, .isUp, 7) == errno(.ENOENT))
    }

    @Test func lastVCPUDownPowersOff() throws {
        let f = try Fixture(vcpus: 1)
        f.domain.vcpus[0].markUp(now: 0)
        #expect(vcpuOp(f, .isUp, 0) == 1)
        #expect(vcpuOp(f, .down, 0) == 0)
        #expect(f.domain.shutdownReason == .poweroff)
    }

    @Test func runstateInfoAccountsRunningTime() throws {
        let f = try Fixture()
        f.domain.vcpus[0].markUp(now: f.domain.systemTimeNow)
        f.services.advance(by: 5_000_000)
        #expect(vcpuOp(f, .getRunstateInfo, 0) == 0)
        let info = try f.get(VCPURunstateInfo.size)
        #expect(info.le(UInt32.self, at: 0) == 0)  // RUNSTATE_running
        #expect(info.le(UInt64.self, at: 16) >= 5_000_000)
        #expect(vcpuOp(f, .getRunstateInfo, 0, Fixture.bad) == errno(.EFAULT))
    }

    @Test func runstateAreaIsWrittenOnRegistration() throws {
        let f = try Fixture()
        f.services.advance(by: 10_000_000)
        f.domain.vcpus[0].markUp(now: f.domain.systemTimeNow)
        let area = GVA(0x20_0000)
        var p = [UInt8](repeating: 0, count: 8); p.setLE(area.raw, at: 0)
        try f.put(p)
        #expect(vcpuOp(f, .registerRunstateMemoryArea, 0) == 0)
        #expect(try f.get(8, at: area.advanced(by: 8)).le(UInt64.self, at: 0) != 0)  // state_entry_time
        p.setLE(Fixture.bad.raw, at: 0)
        try f.put(p)
        #expect(vcpuOp(f, .registerRunstateMemoryArea, 0) == errno(.EFAULT))
    }

    @Test func timersAreChecked() throws {
        let f = try Fixture(vcpus: 2)
        f.services.advance(by: 10_000_000)
        var p = [UInt8](repeating: 0, count: 8)
        p.setLE(UInt64(999_999), at: 0)
        try f.put(p)
        #expect(vcpuOp(f, .setPeriodicTimer, 0) == errno(.EINVAL))  // under 1 ms
        p.setLE(UInt64(1_000_000), at: 0)
        try f.put(p)
        #expect(vcpuOp(f, .setPeriodicTimer, 0) == 0)
        #expect(vcpuOp(f, .stopPeriodicTimer, 0) == 0)
        var s = [UInt8](repeating: 0, count: VCPUSetSingleshotTimer.size)
        s.setLE(UInt64(1), at: 0)
        s.setLE(VCPUSetSingleshotTimer.flagFuture, at: 8)
        try f.put(s)
        #expect(vcpuOp(f, .setSingleshotTimer, 0) == errno(.ETIME))  // in the past
        #expect(vcpuOp(f, .setSingleshotTimer, 1) == errno(.EINVAL))  // not the caller
        s.setLE(f.domain.systemTimeNow + 1_000_000, at: 0)
        try f.put(s)
        #expect(vcpuOp(f, .setSingleshotTimer, 0) == 0)
        #expect(vcpuOp(f, .stopSingleshotTimer, 0) == 0)
        #expect(f.call(.setTimerOp, 0) == 0)
        #expect(vcpuOp(f, .sendNMI, 0) == errno(.ENOSYS))
    }

    @Test func registerVCPUInfoMovesAndMarksPending() throws {
        let f = try Fixture()
        var r = [UInt8](repeating: 0, count: VCPURegisterVCPUInfo.size)
        r.setLE(UInt64(0x300), at: 0)
        r.setLE(UInt32(64), at: 8)
        try f.put(r)
        #expect(vcpuOp(f, .registerVCPUInfo, 0) == 0)
        #expect(f.domain.vcpus[0].vcpuInfo == GPA(0x300_040))
        #expect(try f.domain.memory.load(UInt8.self, at: GPA(0x300_040)) == 1)  // upcall pending
        #expect(vcpuOp(f, .registerVCPUInfo, 0) == errno(.EINVAL))  // only once
        let g = try Fixture()
        r.setLE(UInt32(4090), at: 8)
        try g.put(r)
        #expect(vcpuOp(g, .registerVCPUInfo, 0) == errno(.EINVAL))  // crosses the page
        r.setLE(UInt64(1 << 30), at: 0); r.setLE(UInt32(0), at: 8)
        try g.put(r)
        #expect(vcpuOp(g, .registerVCPUInfo, 0) == errno(.EINVAL))  // not RAM
    }
}
