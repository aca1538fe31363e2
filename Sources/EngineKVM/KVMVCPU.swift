import CKVM
import GuestMemory
import HostOS
import Hypervisor
import Synchronization
import SystemPackage
import XenABI

/// One KVM vCPU: its fd, the shared run area (registers arrive there through
/// KVM_CAP_SYNC_REGS, so an exit costs no register ioctls), and the host thread that runs it.
///
/// Locking: the run area belongs to the vCPU thread, except `immediate_exit`, which `kick`
/// sets from any thread (KVM reads it on entry; that is its purpose). `hostPlacement` is a
/// mutex over the thread's tid and CPU set: the thread records its tid under it, so a set
/// never goes to a tid that is not (or no longer) this vCPU's thread.
final class KVMVCPU: @unchecked Sendable {
    let id: VCPUID
    let fd: FileDescriptor
    let runArea: MappedMemory
    let run: UnsafeMutablePointer<kvm_run>
    let vcpu: VCPU
    private let parker = Parker()
    private let thread = Mutex<HostThread?>(nil)
    private let joined = Atomic<Bool>(false)
    /// The host CPUs the thread may run on (nil: no restriction yet) and its tid while it runs.
    private let hostPlacement = Mutex<(hostCPUs: [Int]?, tid: Int32?)>((nil, nil))
    /// Exits seen, by kind (for diagnostics and benchmarks).
    let exits = Atomic<UInt64>(0)
    /// The thread is in KVM_RUN or about to enter it (`enteringGuest`/`leftGuest`).
    private let inGuest = Atomic<Bool>(false)

    init(vmFD: FileDescriptor, system: KVMSystem, vcpu: VCPU, domain: Domain) throws(KVMError) {
        id = vcpu.id
        self.vcpu = vcpu
        let raw = ckvm_ioctl_val(vmFD.rawValue, ckvm_KVM_CREATE_VCPU(), UInt(vcpu.id.raw))
        guard raw >= 0 else { throw .ioctl("KVM_CREATE_VCPU", HostError("ioctl", Host.lastErrno)) }
        fd = FileDescriptor(rawValue: raw)
        do { runArea = try MappedMemory.map(fd: fd, size: system.vcpuMmapSize) } catch {
            try? fd.close()
            throw .ioctl("mmap vCPU run area", error)
        }
        // SAFETY: the mapping is at least sizeof(kvm_run) (KVM_GET_VCPU_MMAP_SIZE) and lives as long as self.
        run = runArea.base.assumingMemoryBound(to: kvm_run.self)
        try setCPUID(system.supportedCPUID, domain: domain)
    }

    deinit { try? fd.close() }

    private func setCPUID(_ host: [kvm_cpuid_entry2], domain: Domain) throws(KVMError) {
        let entries = XenCPUIDTable.entries(host: host, vcpu: id, domid: domain.id)
        guard let c = ckvm_cpuid2_alloc(UInt32(entries.count)) else {
            throw .ioctl("KVM_SET_CPUID2", HostError("calloc", .noMemory))
        }
        defer { ckvm_cpuid2_free(c) }
        for (i, e) in entries.enumerated() { ckvm_cpuid2_entry(c, UInt32(i)).pointee = e }
        try ioctl("KVM_SET_CPUID2", ckvm_KVM_SET_CPUID2(), c)
    }

    func ioctl(_ what: String, _ request: UInt, _ arg: UnsafeMutableRawPointer) throws(KVMError) {
        guard ckvm_ioctl_ptr(fd.rawValue, request, arg) == 0 else {
            throw .ioctl(what, HostError("ioctl", Host.lastErrno))
        }
    }

    // MARK: Boot state

    /// The PVH entry state (Xen's `arch/x86/hvm/domain.c` for a PVH vCPU 0): 32-bit flat
    /// protected mode, paging off, CR0 = PE|ET, CR4 = 0, EFLAGS = 2, EBX = start info.
    func setPVHBootState(_ boot: BootState) throws(KVMError) {
        var s = kvm_sregs()
        try ioctl("KVM_GET_SREGS", ckvm_KVM_GET_SREGS(), &s)
        var code = kvm_segment()
        code.base = 0; code.limit = 0xFFFF_FFFF; code.selector = 0x08; code.type = 0xB
        code.present = 1; code.dpl = 0; code.db = 1; code.s = 1; code.l = 0; code.g = 1
        var data = code
        data.selector = 0x10; data.type = 0x3
        var tr = kvm_segment()
        tr.base = 0; tr.limit = 0x67; tr.selector = 0x18; tr.type = 0xB; tr.present = 1; tr.s = 0
        var ldt = kvm_segment()
        ldt.unusable = 1; ldt.type = 0x2; ldt.present = 1
        s.cs = code; s.ds = data; s.es = data; s.fs = data; s.gs = data; s.ss = data
        s.tr = tr; s.ldt = ldt
        s.gdt.base = 0; s.gdt.limit = 0; s.idt.base = 0; s.idt.limit = 0
        s.cr0 = 0x11; s.cr3 = 0; s.cr4 = 0; s.efer = 0
        try ioctl("KVM_SET_SREGS", ckvm_KVM_SET_SREGS(), &s)
        var r = kvm_regs()
        r.rip = boot.entry
        r.rbx = boot.bootParameter
        r.rflags = 0x2
        try ioctl("KVM_SET_REGS", ckvm_KVM_SET_REGS(), &r)
    }

    /// Guest TSC minus host TSC, from IA32_TSC read between two host TSC reads.
    func measureTSCOffset() -> Int64 {
        var best: (window: UInt64, offset: Int64)?
        for _ in 0..<3 {
            let h0 = ckvm_rdtsc()
            guard let guest = ckvm_get_msr(fd.rawValue, 0x10) else { return 0 }
            let h1 = ckvm_rdtsc()
            let offset = Int64(bitPattern: guest) &- Int64(bitPattern: h0 / 2 + h1 / 2)
            if best == nil || h1 &- h0 < best!.window { best = (h1 &- h0, offset) }
        }
        return best?.offset ?? 0
    }

    /// An explicit register state (VCPUOP_initialise's `vcpu_hvm_context`).
    func setRegisterState(_ x: X86RegisterState) throws(KVMError) {
        var s = kvm_sregs()
        try ioctl("KVM_GET_SREGS", ckvm_KVM_GET_SREGS(), &s)
        func seg(_ g: X86RegisterState.Segment) -> kvm_segment {
            var k = kvm_segment()
            k.base = g.base; k.limit = g.limit; k.selector = g.selector
            let ar = g.attributes
            k.type = UInt8(ar & 0xF); k.s = UInt8((ar >> 4) & 1); k.dpl = UInt8((ar >> 5) & 3)
            // Xen's packed attribute format: descriptor bits 40-47 then 52-55 (AVL, L, D/B, G).
            k.present = UInt8((ar >> 7) & 1); k.avl = UInt8((ar >> 8) & 1); k.l = UInt8((ar >> 9) & 1)
            k.db = UInt8((ar >> 10) & 1); k.g = UInt8((ar >> 11) & 1)
            k.unusable = k.present == 0 ? 1 : 0
            return k
        }
        s.cs = seg(x.cs); s.ds = seg(x.ds); s.es = seg(x.es); s.ss = seg(x.ss)
        s.fs = seg(x.ds); s.gs = seg(x.ds); s.tr = seg(x.tr)
        var ldt = kvm_segment(); ldt.unusable = 1; ldt.type = 0x2; ldt.present = 1
        s.ldt = ldt
        s.gdt.base = 0; s.gdt.limit = 0; s.idt.base = 0; s.idt.limit = 0
        s.cr0 = x.cr0; s.cr3 = x.cr3; s.cr4 = x.cr4; s.efer = x.efer
        try ioctl("KVM_SET_SREGS", ckvm_KVM_SET_SREGS(), &s)
        var r = kvm_regs()
        r.rax = x.rax; r.rbx = x.rbx; r.rcx = x.rcx; r.rdx = x.rdx; r.rsi = x.rsi; r.rdi = x.rdi
        r.rsp = x.rsp; r.rbp = x.rbp; r.rip = x.rip; r.rflags = x.rflags | 2
        try ioctl("KVM_SET_REGS", ckvm_KVM_SET_REGS(), &r)
    }

    // MARK: Thread

    func start(_ loop: @escaping @Sendable () -> Void) throws(KVMError) {
        do {
            let t = try HostThread(name: "vcpu\(id.raw)") { [self] in
                threadStarted()
                loop()
                hostPlacement.withLock { $0.tid = nil }
            }
            thread.withLock { $0 = t }
        } catch {
            throw .ioctl("start vCPU thread", error)
        }
    }

    /// On the new thread, before the guest runs: record the tid and move onto the CPUs the
    /// hypervisor gave (`setAffinity` before start).
    private func threadStarted() {
        // Timed sleeps (a blocked vCPU waiting for its timer) wake on time, not up to the
        // default 50 µs late.
        HostThread.setCurrentTimerSlack(nanoseconds: 1)
        let failure = hostPlacement.withLock { p -> HostError? in
            p.tid = HostCPUAffinity.currentThreadID()
            guard let cpus = p.hostCPUs else { return nil }
            do throws(HostError) { try HostCPUAffinity.set(cpus, thread: 0) } catch { return error }
            return nil
        }
        if let failure {
            vcpu.domain.hypervisor.logger.warning("\(vcpu.domain.id)\(id): runs unpinned: \(failure)")
        }
    }

    /// Restricts the thread to `hostCPUs` now if it runs, else from its start.
    func setAffinity(_ hostCPUs: [Int]) throws(HostError) {
        try hostPlacement.withLock { (p: inout (hostCPUs: [Int]?, tid: Int32?)) throws(HostError) in
            if let tid = p.tid { try HostCPUAffinity.set(hostCPUs, thread: tid) }
            p.hostCPUs = hostCPUs
        }
    }

    /// The running thread's tid, current CPU and allowed CPUs (procfs).
    var hostThread: VCPUHostThread? {
        guard let tid = hostPlacement.withLock({ $0.tid }) else { return nil }
        return VCPUHostThread(tid: tid, hostCPU: try? HostCPUAffinity.currentCPU(thread: tid),
                              allowedHostCPUs: try? HostCPUAffinity.allowedCPUs(thread: tid))
    }

    /// Makes the vCPU leave KVM_RUN (or its halt) and look at its state. Only a thread in
    /// (or entering) KVM_RUN gets the signal: a parked or busy one needs none, and a signal
    /// costs the target a trip through its handler.
    func kick() {
        ckvm_run_set_immediate_exit(run, 1)
        // Pairs with the seq-cst store in enteringGuest (a Dekker pair): either this load
        // sees the thread entering, or its KVM_RUN sees immediate_exit set.
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if inGuest.load(ordering: .sequentiallyConsistent) {
            thread.withLock { $0 }?.kick()
        }
        parker.unpark()
    }

    /// The vCPU thread, right before KVM_RUN: from now on kicks signal it.
    func enteringGuest() { inGuest.store(true, ordering: .sequentiallyConsistent) }

    /// The vCPU thread, after KVM_RUN returned.
    func leftGuest() { inGuest.store(false, ordering: .releasing) }

    func park(until deadline: UInt64? = nil) { parker.park(until: deadline) }

    /// Waits for the vCPU thread to end. The thread stays reachable for kicks meanwhile:
    /// they are how a shutdown reaches a vCPU that is running or halted.
    func join() {
        guard let t = thread.withLock({ $0 }) else { return }
        guard joined.exchange(true, ordering: .acquiringAndReleasing) == false else { return }
        t.join()
    }

    // MARK: Registers

    var regs: UnsafeMutablePointer<kvm_regs> { ckvm_sync_regs(run) }
    var sregs: UnsafeMutablePointer<kvm_sregs> { ckvm_sync_sregs(run) }

    func markRegsDirty() {
        ckvm_set_dirty_regs(run, ckvm_dirty_regs(run) | UInt64(CKVM_SYNC_X86_REGS))
    }

    /// The registers for a crash report, from the last exit's synced state.
    func crashRegisters() -> [(name: String, value: UInt64)] {
        let r = regs.pointee, s = sregs.pointee
        return [("rip", r.rip), ("rsp", r.rsp), ("rflags", r.rflags), ("rbp", r.rbp),
                ("rax", r.rax), ("rbx", r.rbx), ("rcx", r.rcx), ("rdx", r.rdx),
                ("rsi", r.rsi), ("rdi", r.rdi), ("r8", r.r8), ("r9", r.r9),
                ("r10", r.r10), ("r11", r.r11), ("r12", r.r12), ("r13", r.r13),
                ("r14", r.r14), ("r15", r.r15), ("cr0", s.cr0), ("cr2", s.cr2),
                ("cr3", s.cr3), ("cr4", s.cr4), ("efer", s.efer), ("cs", UInt64(s.cs.selector))]
    }

    var pagingState: X86PagingState {
        let s = sregs.pointee
        return X86PagingState(cr0: s.cr0, cr3: s.cr3, cr4: s.cr4, efer: s.efer)
    }
}

/// One MSR of a vCPU, or nil if KVM refused.
func ckvm_get_msr(_ fd: Int32, _ index: UInt32) -> UInt64? {
    var v: UInt64 = 0
    return ckvm_get_msr_raw(fd, index, &v) == 0 ? v : nil
}
