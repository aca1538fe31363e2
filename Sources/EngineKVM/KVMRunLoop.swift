import CKVM
import GuestMemory
import HostOS
import Hypervisor
import XenABI

/// The loop a vCPU thread runs: enter the guest, decode the exit, act, until the domain stops.
struct KVMRunLoop {
    let machine: KVMMachine
    let vcpu: KVMVCPU
    var domain: Domain { machine.domain }

    static let rflagsIF: UInt64 = 1 << 9
    static let eferLMA: UInt64 = 1 << 10

    func run() {
        let run = vcpu.run
        let syncAll = UInt64(CKVM_SYNC_X86_REGS | CKVM_SYNC_X86_SREGS | CKVM_SYNC_X86_EVENTS)
        let core = vcpu.vcpu
        while true {
            // A kick asks us to look at our state; we are about to. Clearing first means a
            // kick from now on bounces the next KVM_RUN, and none is lost.
            ckvm_run_set_immediate_exit(run, 0)
            if domain.isShutDown { break }
            if domain.isPaused {
                // xl pause: out of the guest until unpause kicks us.
                core.setRunstatePaused(true)
                while domain.isPaused && !domain.isShutDown { vcpu.park() }
                core.setRunstatePaused(false)
                continue
            }
            if !core.isUp {
                // VCPUOP_down: off the CPU until VCPUOP_up kicks us.
                vcpu.park()
                continue
            }
            let queued = injectUpcall()
            ckvm_set_valid_regs(run, syncAll)
            var err: Int32 = 0
            vcpu.enteringGuest()
            let rc = ckvm_run(vcpu.fd.rawValue, &err)
            vcpu.leftGuest()
            if rc < 0 {
                if queued {
                    // KVM_RUN bounced with our interrupt queued. This backend can lose an
                    // interrupt cancelled that way, so take it back and queue it afresh next
                    // time (upcall_pending is still set: the vector stays asserted).
                    _ = ckvm_withdraw_interrupt(vcpu.fd.rawValue)
                }
                if err == 4 /* EINTR */ || err == 11 /* EAGAIN */ { continue }
                crash("KVM_RUN failed: errno \(err)")
                break
            }
            vcpu.exits.add(1, ordering: .relaxed)
            let exit = VMExit.decode(run)
            switch ExitPolicy.action(for: exit, discardsWrites: machine.discardsWrites(at:)) {
            case .hypercall:
                hypercall()
                if domain.shutdownReason == .crash && domain.crashReport == nil {
                    crash("the guest called SCHEDOP_shutdown(SHUTDOWN_crash)")
                }
            case .debugConsole(let byte):
                domain.console.write([byte], memory: domain.memory)
            case .ignore, .resume, .discardWrite:
                break
            case .readAllOnes(let size):
                if case .io(_, _, _, let count, _) = exit {
                    // SAFETY: KVM sized the data area for size*count bytes at data_offset.
                    let p = UnsafeMutableRawPointer(run) + Int(ckvm_io_data_offset(run))
                    p.initializeMemory(as: UInt8.self, repeating: 0xFF, count: size * count)
                }
            case .installHypercallPage(let value):
                installHypercallPage(value)
            case .msrFault:
                ckvm_msr_set_error(run, 1)
            case .halt:
                if vcpu.regs.pointee.rflags & Self.rflagsIF == 0 {
                    crash("vCPU halted with interrupts disabled (it can never wake)")
                } else {
                    // Xen's hvm_hlt: block until an interrupt (our upcall) is pending.
                    // This thread fires the vCPU's one-shot timer itself at its deadline.
                    core.setRunstateBlocked(true)
                    let d = domain
                    core.waitForEvent { d.isShutDown || !core.isUp || core.pendingUpcallVector != nil }
                    core.setRunstateBlocked(false)
                }
            case .crash(let reason):
                crash(reason)
            }
        }
    }

    /// Delivers the event-channel upcall the way Xen does for a callback vector: while
    /// `evtchn_upcall_pending` is set, the vector is asserted; it is injected as soon as the
    /// guest can take an interrupt (else KVM is asked for an interrupt window). No EOI.
    /// Returns true if it queued the vector for this entry.
    private func injectUpcall() -> Bool {
        let run = vcpu.run
        guard let vector = vcpu.vcpu.pendingUpcallVector else {
            ckvm_run_request_interrupt_window(run, 0)
            return false
        }
        if ckvm_run_ready_for_interrupt(run) != 0 && ckvm_run_if_flag(run) != 0 {
            if ckvm_interrupt(vcpu.fd.rawValue, UInt32(vector)) == 0 {
                ckvm_run_request_interrupt_window(run, 0)
                return true
            }
        }
        ckvm_run_request_interrupt_window(run, 1)
        return false
    }

    private func crash(_ reason: String) {
        domain.crash(GuestCrashReport(reason: reason, vcpu: vcpu.id, registers: vcpu.crashRegisters(),
                                      lastHypercall: vcpu.vcpu.lastHypercall))
    }

    /// Xen's HVM hypercall ABI: 64-bit code passes rdi, rsi, rdx, r10, r8; 32-bit code passes
    /// ebx, ecx, edx, esi, edi. The result goes back in rax.
    private func hypercall() {
        let r = vcpu.regs
        let s = vcpu.sregs.pointee
        let longMode = s.efer & Self.eferLMA != 0 && s.cs.l == 1
        let call = longMode
            ? HypercallArgs(number: r.pointee.rax, r.pointee.rdi, r.pointee.rsi, r.pointee.rdx, r.pointee.r10, r.pointee.r8)
            : HypercallArgs(number: r.pointee.rax & 0xFFFF_FFFF, r.pointee.rbx & 0xFFFF_FFFF, r.pointee.rcx & 0xFFFF_FFFF,
                            r.pointee.rdx & 0xFFFF_FFFF, r.pointee.rsi & 0xFFFF_FFFF, r.pointee.rdi & 0xFFFF_FFFF)
        let memory = GuestVirtualMemory(physical: domain.memory,
                                        translator: X86PageWalker(memory: domain.memory, state: vcpu.pagingState))
        let ctx = HypercallContext(vcpu: vcpu.vcpu, memory: memory, privilegeLevel: Int(s.ss.dpl))
        var result = domain.hypervisor.dispatch(call, context: ctx)
        if !longMode { result &= 0xFFFF_FFFF }
        r.pointee.rax = result
        vcpu.markRegsDirty()
    }

    /// The guest wrote the hypercall MSR: bits 63:12 are the page's GPA, bits 11:0 the index
    /// of the page (we offer one).
    private func installHypercallPage(_ value: UInt64) {
        let index = value & 0xFFF
        let gpa = GPA(value & ~0xFFF)
        guard index == 0, (try? domain.memory.write(HypercallPage.bytes(), at: gpa)) != nil else {
            ckvm_msr_set_error(vcpu.run, 1)
            return
        }
    }
}
