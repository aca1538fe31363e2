import GuestMemory
import XenABI

extension Hypervisor {
    /// `vcpu_op(cmd, vcpuid, arg)` (xen/common/domain.c `do_vcpu_op`, with HVM's whitelist).
    func vcpuOp(_ call: HypercallArgs, _ ctx: HypercallContext) throws(XenErrno) -> UInt64 {
        let d = ctx.domain
        let arg = GVA(call.a2)
        guard call.a1 < UInt64(d.vcpus.count) else { throw .ENOENT }
        let v = d.vcpus[Int(call.a1)]
        let isCurrent = v === ctx.vcpu
        switch VCPUOpCmd(rawValue: call.a0) {
        case .initialise:
            let bytes = try ctx.copyIn(arg, count: VCPUHVMContext.size)
            try vcpuInitialise(v, context: bytes)
            return 0
        case .up:
            try vcpuUp(v)
            return 0
        case .down:
            vcpuDown(v)
            return 0
        case .isUp:
            return v.isUp ? 1 : 0
        case .getRunstateInfo:
            try ctx.copyOut(v.runstateInfo, to: arg)
            return 0
        case .registerRunstateMemoryArea:
            let area = GVA(try ctx.load(UInt64.self, at: arg))
            guard area.raw != 0 else {
                v.state.withLock { $0.runstateArea = nil }
                return 0
            }
            // Translated now with the caller's page tables; the guest keeps the mapping.
            let gpa: GPA
            do {
                gpa = try ctx.memory.translator.translate(area, write: true)
                guard d.memory.isBacked(gpa), d.memory.isBacked(gpa.advanced(by: UInt64(VCPURunstateInfo.size - 1))) else {
                    throw XenErrno.EFAULT
                }
            } catch { throw .EFAULT }
            v.state.withLock { $0.runstateArea = gpa }
            v.publishRunstate()
            return 0
        case .setPeriodicTimer:
            let period = try ctx.load(UInt64.self, at: arg)
            // Xen refuses periods under 1 ms (MILLISECS(1)).
            guard period >= 1_000_000 else { throw .EINVAL }
            v.setPeriodicTimer(period)
            return 0
        case .stopPeriodicTimer:
            v.setPeriodicTimer(0)
            return 0
        case .setSingleshotTimer:
            guard isCurrent else { throw .EINVAL }
            let b = try ctx.copyIn(arg, count: VCPUSetSingleshotTimer.size)
            let deadline = b.le(UInt64.self, at: 0)
            let flags = b.le(UInt32.self, at: 8)
            if flags & VCPUSetSingleshotTimer.flagFuture != 0 && deadline < d.systemTimeNow { throw .ETIME }
            v.setSingleshotTimer(deadline)
            return 0
        case .stopSingleshotTimer:
            guard isCurrent else { throw .EINVAL }
            v.stopSingleshotTimer()
            return 0
        case .registerVCPUInfo:
            let b = try ctx.copyIn(arg, count: VCPURegisterVCPUInfo.size)
            try registerVCPUInfo(v, gfn: GFN(b.le(UInt64.self, at: 0)), offset: b.le(UInt32.self, at: 8))
            return 0
        default:
            throw unknownSubop(call, ctx)
        }
    }

    /// `set_timer_op(timeout)` (hypercall 15): the caller's one-shot timer at absolute system
    /// time `timeout`; 0 stops it; a deadline in the past (or absurdly far away) fires now.
    func setTimerOp(_ call: HypercallArgs, _ ctx: HypercallContext) throws(XenErrno) -> UInt64 {
        let v = ctx.vcpu
        let timeout = Int64(bitPattern: call.a0)
        if timeout == 0 {
            v.stopSingleshotTimer()
        } else {
            let now = ctx.domain.systemTimeNow
            if timeout < 0 || (UInt64(timeout) &- now) >> 50 != 0 {
                v.setSingleshotTimer(now)
            } else {
                v.setSingleshotTimer(UInt64(timeout))
            }
        }
        return 0
    }

    /// `arch_set_info_hvm_guest`: decode and check a `vcpu_hvm_context`.
    func vcpuInitialise(_ v: VCPU, context b: [UInt8]) throws(XenErrno) {
        let d = v.domain
        // vCPUs past shared_info's 32 slots need VCPUOP_register_vcpu_info first.
        if Int(v.id.raw) >= X86SharedInfo.legacyMaxVCPUs && v.state.withLock({ $0.registeredVCPUInfo }) == nil {
            throw .EINVAL
        }
        var s = X86RegisterState()
        let r = VCPUHVMContext.regs
        switch b.le(UInt32.self, at: 0) {
        case VCPUHVMContext.mode64:
            typealias O = VCPUHVMContext.X86_64
            s.rax = b.le(UInt64.self, at: r + O.rax); s.rcx = b.le(UInt64.self, at: r + O.rcx)
            s.rdx = b.le(UInt64.self, at: r + O.rdx); s.rbx = b.le(UInt64.self, at: r + O.rbx)
            s.rsp = b.le(UInt64.self, at: r + O.rsp); s.rbp = b.le(UInt64.self, at: r + O.rbp)
            s.rsi = b.le(UInt64.self, at: r + O.rsi); s.rdi = b.le(UInt64.self, at: r + O.rdi)
            s.rip = b.le(UInt64.self, at: r + O.rip); s.rflags = b.le(UInt64.self, at: r + O.rflags) | 2
            s.cr0 = b.le(UInt64.self, at: r + O.cr0); s.cr3 = b.le(UInt64.self, at: r + O.cr3)
            s.cr4 = b.le(UInt64.self, at: r + O.cr4); s.efer = b.le(UInt64.self, at: r + O.efer)
            // Long mode needs paging, PAE and EFER.LME; the rest must be sane too.
            guard s.cr0 & 0x8000_0001 == 0x8000_0001, s.cr4 & 0x20 != 0, s.efer & 0x100 != 0,
                  Int64(bitPattern: s.rip << 16) >> 16 == Int64(bitPattern: s.rip),
                  d.memory.isBacked(GPA(s.cr3 & 0x000F_FFFF_FFFF_F000)) else { throw .EINVAL }
            s.efer |= 0x400  // LMA follows from LME with paging on
            s.cs = .init(base: 0, limit: 0xFFFF_FFFF, attributes: 0xA9B, selector: 0x08)
            s.ds = .init(base: 0, limit: 0xFFFF_FFFF, attributes: 0xC93, selector: 0x10)
            s.ss = s.ds; s.es = s.ds
        case VCPUHVMContext.mode32:
            typealias O = VCPUHVMContext.X86_32
            func u32(_ o: Int) -> UInt64 { UInt64(b.le(UInt32.self, at: r + o)) }
            s.rax = u32(O.eax); s.rcx = u32(O.ecx); s.rdx = u32(O.edx); s.rbx = u32(O.ebx)
            s.rsp = u32(O.esp); s.rbp = u32(O.ebp); s.rsi = u32(O.esi); s.rdi = u32(O.edi)
            s.rip = u32(O.eip); s.rflags = u32(O.eflags) | 2
            s.cr0 = u32(O.cr0); s.cr3 = u32(O.cr3); s.cr4 = u32(O.cr4); s.efer = b.le(UInt64.self, at: r + O.efer)
            func seg(_ base: Int, _ limit: Int, _ ar: Int, _ sel: UInt16) -> X86RegisterState.Segment {
                .init(base: u32(base), limit: UInt32(u32(limit)), attributes: b.le(UInt16.self, at: r + ar), selector: sel)
            }
            s.cs = seg(O.csBase, O.csLimit, O.csAR, 0x08)
            s.ds = seg(O.dsBase, O.dsLimit, O.dsAR, 0x10)
            s.ss = seg(O.ssBase, O.ssLimit, O.ssAR, 0x10)
            s.es = seg(O.esBase, O.esLimit, O.esAR, 0x10)
            s.tr = seg(O.trBase, O.trLimit, O.trAR, 0x18)
            // A code segment must be present and be code (Xen checks the same).
            guard s.cr0 & 1 != 0, s.cs.attributes & 0x80 != 0, s.cs.attributes & 0x8 != 0 else { throw .EINVAL }
        default:
            throw .EINVAL
        }
        try v.state.withLock { (st: inout VCPU.State) throws(XenErrno) in
            guard !st.initialised else { throw .EEXIST }
            st.initialised = true
            st.startState = .x86(s)
        }
    }

    /// VCPUOP_up: start (or resume) an initialised vCPU.
    func vcpuUp(_ v: VCPU) throws(XenErrno) {
        let d = v.domain
        let (initialised, started, startState) = v.state.withLock { ($0.initialised, $0.started, $0.startState) }
        guard initialised else { throw .EINVAL }
        if v.isUp { return }
        if started {
            v.state.withLock { $0.isUp = true }
            v.setRunstate(.running)
            v.kick()
            return
        }
        guard let machine = d.machine, let startState else { throw .EINVAL }
        do { try machine.start(vcpu: v.id, state: startState) } catch {
            logger.error("\(d.id): cannot start \(v.id): \(error)")
            throw .ENOMEM
        }
    }

    /// VCPUOP_down: the vCPU stops running; the last one going down powers the domain off.
    func vcpuDown(_ v: VCPU) {
        let d = v.domain
        let othersUp = d.vcpus.contains { $0 !== v && $0.isUp }
        guard othersUp else {
            d.shutdown(.poweroff)
            return
        }
        let wasUp = v.state.withLock { s -> Bool in defer { s.isUp = false }; return s.isUp }
        if wasUp {
            v.setRunstate(.offline)
            v.kick()
        }
    }

    /// `map_vcpu_info`: move vcpu_info to (gfn, offset), copying what was there, then mark
    /// everything pending so the guest rescans.
    func registerVCPUInfo(_ v: VCPU, gfn: GFN, offset: UInt32) throws(XenErrno) {
        let d = v.domain
        guard Int(offset) <= Int(xenPageSize) - X86VCPUInfo.size, offset % 8 == 0 else { throw .EINVAL }
        let target = gfn.address.advanced(by: UInt64(offset))
        guard d.memory.region(containing: target)?.kind == .ram else { throw .EINVAL }
        let old = v.vcpuInfo
        try v.state.withLock { (s: inout VCPU.State) throws(XenErrno) in
            guard s.registeredVCPUInfo == nil else { throw .EINVAL }
            s.registeredVCPUInfo = target
        }
        do {
            var info = [UInt8](repeating: 0, count: X86VCPUInfo.size)
            if let old { info = try d.memory.read(at: old, count: X86VCPUInfo.size) } else { info[X86VCPUInfo.Offset.evtchnUpcallMask] = 1 }
            info[X86VCPUInfo.Offset.evtchnUpcallPending] = 1
            info.setLE(UInt64.max, at: X86VCPUInfo.Offset.evtchnPendingSel)
            try d.memory.write(info, at: target)
        } catch { throw .EFAULT }
        XenTime.updateVCPUTime(v)
        v.kick()
    }
}
