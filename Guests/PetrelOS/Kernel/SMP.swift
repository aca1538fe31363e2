// Secondary vCPUs (xen/vcpu.h, xen/hvm/hvm_vcpu.h). The boot vCPU brings vCPU n up
// with VCPUOP_initialise(n, vcpu_hvm_context) then VCPUOP_up(n). The context uses
// VCPU_HVM_MODE_64B: the AP starts in long mode on the boot page tables (this vCPU's
// cr0/cr3/cr4, EFER.LME|LMA) at Boot/smp.S petrel_ap_entry, on its own 16 KiB stack,
// with rdi = n. The other general registers carry marker values the AP checks, to
// see that Xen loaded all of them.
//
// An AP sets PerCPU.online, runs its PerCPU.work function (if any), sets workDone and
// then idles in `sti; hlt`, taking upcalls, until it is brought down.

typealias APWork = @convention(c) (Int) -> Void

/// Why SMP.start failed: the hypercall and its result, or rc 0 for a vCPU that never
/// came online.
struct SMPFailure {
    let check: StaticString
    let rc: Int64
}

enum SMP {
    static let eferLME: UInt64 = 1 << 8
    static let eferLMA: UInt64 = 1 << 10

    /// The number of vCPUs: VCPUOP_is_up on 0, 1, ... until Xen answers -ENOENT
    /// (vcpuid >= max_vcpus). Returns the count and the rc that ended the probe;
    /// stops at PerCPU.count.
    static func probeCount() -> (count: Int, rc: Int64) {
        var n = 0
        while n < PerCPU.count {
            let rc = VCPU.isUp(n)
            if rc < 0 { return (n, rc) }
            n += 1
        }
        return (n, 0)
    }

    /// Marker for general register `i` (0 rax, 1 rcx, 2 rdx, 3 rbx, 5 rbp, 6 rsi) of `vcpu`.
    static func marker(_ vcpu: Int, _ i: Int) -> UInt64 {
        0x5045_5452_0000_0000 | (UInt64(i) << 16) | UInt64(vcpu)
    }

    /// The vcpu_hvm_context that starts `vcpu` at petrel_ap_entry.
    static func context(_ vcpu: Int) -> vcpu_hvm_context {
        var regs = vcpu_hvm_x86_64()
        regs.rax = marker(vcpu, 0)
        regs.rcx = marker(vcpu, 1)
        regs.rdx = marker(vcpu, 2)
        regs.rbx = marker(vcpu, 3)
        regs.rbp = marker(vcpu, 5)
        regs.rsi = marker(vcpu, 6)
        regs.rdi = UInt64(vcpu)
        regs.rsp = petrel_ap_stack_top(UInt64(vcpu))
        regs.rip = petrel_ap_entry_address()
        regs.rflags = 0x2                       // IF clear
        regs.cr0 = petrel_read_cr0()
        regs.cr3 = petrel_read_cr3()
        regs.cr4 = petrel_read_cr4()
        regs.efer = eferLME | eferLMA
        var ctx = vcpu_hvm_context()
        ctx.mode = UInt32(VCPU_HVM_MODE_64B)
        ctx.cpu_regs.x86_64 = regs
        return ctx
    }

    /// Where VCPUOP_register_vcpu_info puts `vcpu`'s vcpu_info: 128 bytes apart, at a
    /// non-zero offset within one page.
    static func registeredVcpuInfo(_ vcpu: Int) -> PhysRegion {
        PhysRegion(base: petrel_vcpu_info_page_address() + UInt64(vcpu * 128 + 64), size: Int(PETREL_VCPU_INFO_SIZE))
    }

    /// VCPUOP_register_vcpu_info for `vcpu` at registeredVcpuInfo(vcpu); on success
    /// the vCPU's PerCPU.vcpuInfo points there.
    static func registerVcpuInfo(_ vcpu: Int) -> Int64 {
        let info = registeredVcpuInfo(vcpu)
        let rc = VCPU.registerVcpuInfo(vcpu, gfn: info.base / 4096, offset: UInt32(info.base % 4096))
        if rc == 0 { PerCPU(vcpu).set(.vcpuInfo, info.base) }
        return rc
    }

    /// Initialises and starts `vcpu` with `work`, then waits (spinning) until it is
    /// online. Its vcpu_info is its shared_info slot unless registerVcpuInfo ran.
    static func start(_ vcpu: Int, work: APWork?, timeout: UInt64 = 5 * nsPerSec) -> SMPFailure? {
        precondition(vcpu > 0 && vcpu < PerCPU.count)
        let pc = PerCPU(vcpu)
        if pc.get(.vcpuInfo) == 0 { pc.set(.vcpuInfo, SharedInfo.legacyVcpuInfo(vcpu).base) }
        pc.set(.online, 0)
        pc.set(.workDone, 0)
        pc.set(.stop, 0)
        pc.set(.work, work.map { UInt64(UInt(bitPattern: unsafeBitCast($0, to: Int.self))) } ?? 0)
        var ctx = context(vcpu)
        let rcInit = withGuestAddress(of: &ctx) { VCPU.initialise(vcpu, context: $0) }
        if rcInit != 0 { return SMPFailure(check: "VCPUOP_initialise", rc: rcInit) }
        let rcUp = VCPU.up(vcpu)
        if rcUp != 0 { return SMPFailure(check: "VCPUOP_up", rc: rcUp) }
        if !Wait.spin(ns: timeout, { pc.get(.online) != 0 }) {
            return SMPFailure(check: "AP did not come online within 5 s", rc: 0)
        }
        return nil
    }

    /// Counts IPI events (PerCPU.ipiEvents).
    static let ipiHandler: EventHandler = { _ in PerCPU.current.add(.ipiEvents) }

    /// Mismatch bits in PerCPU.contextCheck.
    static let checkVcpuIndex: UInt64 = 1 << 8
    static let checkInterruptsOn: UInt64 = 1 << 9
    static let checkStack: UInt64 = 1 << 10
}

/// The AP's first Swift code (Boot/smp.S), with IF clear, on its own stack.
/// `frame`: rdi, rsi, rbp, rbx, rdx, rcx, rax, rflags as Xen loaded them.
@_cdecl("petrel_ap_main")
func petrel_ap_main(_ vcpu: UInt64, _ frame: UInt64) {
    let cpu = CPU.index
    let pc = PerCPU(cpu)
    let f = PhysRegion(base: frame, size: 64)
    var mismatch: UInt64 = 0
    if vcpu != UInt64(cpu) { mismatch |= SMP.checkVcpuIndex }
    if f.u64(0) != UInt64(cpu) { mismatch |= 1 << 7 }                 // rdi
    // Frame slots 1...6 hold rsi, rbp, rbx, rdx, rcx, rax (register numbers 6, 5, 3, 2, 1, 0).
    func check(_ slot: Int, _ reg: Int) {
        if f.u64(8 * slot) != SMP.marker(cpu, reg) { mismatch |= UInt64(1) << UInt64(reg) }
    }
    check(1, 6); check(2, 5); check(3, 3); check(4, 2); check(5, 1); check(6, 0)
    if f.u64(56) & (1 << 9) != 0 { mismatch |= SMP.checkInterruptsOn }   // rflags.IF
    if frame + 64 != petrel_ap_stack_top(UInt64(cpu)) { mismatch |= SMP.checkStack }
    pc.set(.contextCheck, mismatch)

    Events.startVCPU()
    pc.set(.online, 1)
    let work = pc.get(.work)
    if work != 0 {
        let body = unsafeBitCast(Int(bitPattern: UInt(work)), to: APWork.self)
        body(cpu)
    }
    pc.set(.workDone, 1)
    CPU.disableInterrupts()
    while true { CPU.waitForInterrupt() }
}
