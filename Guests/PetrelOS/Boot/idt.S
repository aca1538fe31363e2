/*
 * The IDT (256 gates, one page) and the stubs behind it.
 *
 * Vectors 0-31: each stub pushes a dummy error code when the CPU does not, then
 * the vector number, and jumps to a common path that calls Swift's
 * petrel_exception(vector, error, rip, cr2, rsp). That never returns: it prints the
 * fault and shuts the domain down with SHUTDOWN_crash. No `int n` anywhere.
 *
 * The event-channel upcall (HVM_PARAM_CALLBACK_IRQ, type 2 = vector) gets its gate
 * from petrel_idt_set_gate when the event driver starts. Xen injects that vector
 * directly, so the stub sends no LAPIC EOI.
 */
#define SEL_CODE64 0x08
#define NEXCEPTIONS 32
#define NVECTORS 256
#define HYPERCALL_SCHED_OP 29   /* __HYPERVISOR_sched_op */

        .text
        .macro  VECTOR n
        .balign 16
vector_\n:
        .if (\n == 8) || (\n == 10) || (\n == 11) || (\n == 12) || (\n == 13) || (\n == 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
        .else
        pushq   $0
        .endif
        pushq   $\n
        jmp     exception_common
        .endm

        .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        VECTOR  \n
        .endr

/* Stack: vector, error, rip, cs, rflags, rsp, ss. */
exception_common:
        cld
        movq    0(%rsp), %rdi           /* vector */
        movq    8(%rsp), %rsi           /* error code */
        movq    16(%rsp), %rdx          /* rip */
        movq    %cr2, %rcx              /* faulting address for #PF */
        movq    40(%rsp), %r8           /* interrupted rsp */
        andq    $-16, %rsp
        call    petrel_exception
        jmp     petrel_halt_forever

/*
 * void petrel_idt_install(void): build the 32 exception gates and load them. Boot
 * uses a 32-entry table; the event driver switches to the full one
 * (petrel_idt_set_gate), so a guest that never takes an interrupt touches no
 * extra page.
 */
        .globl  petrel_idt_install
petrel_idt_install:
        leaq    idt_table(%rip), %rdi
        leaq    vector_0(%rip), %rax
        movl    $NEXCEPTIONS, %ecx
1:      call    write_gate
        addq    $16, %rdi
        addq    $16, %rax               /* stubs are 16-byte aligned, each < 16 bytes */
        decl    %ecx
        jnz     1b
        lidt    idt_descriptor(%rip)
        ret

        .globl  petrel_upcall_entry_address
petrel_upcall_entry_address:
        leaq    petrel_upcall_entry(%rip), %rax
        ret

/* void petrel_idt_load(void): load the (shared) IDT on this CPU (APs). */
        .globl  petrel_idt_load
petrel_idt_load:
        lidt    idt_descriptor(%rip)
        ret

/* void petrel_idt_set_gate(uint64_t vector, uint64_t handler): 64-bit interrupt gate,
 * DPL 0, in the 256-entry table (switched to on first use: the 32 exception gates
 * are copied, the rest cleared, and this CPU loads it; APs load it when they start). */
        .globl  petrel_idt_set_gate
petrel_idt_set_gate:
        leaq    idt_full(%rip), %rax
        cmpq    %rax, idt_descriptor + 2(%rip)
        je      1f
        pushq   %rdi
        pushq   %rsi
        movq    %rax, %rdi
        leaq    idt_table(%rip), %rsi
        movl    $(NEXCEPTIONS * 16 / 8), %ecx
        cld
        rep movsq
        movl    $((NVECTORS - NEXCEPTIONS) * 16 / 8), %ecx
        xorl    %eax, %eax
        rep stosq
        leaq    idt_full(%rip), %rax
        movq    %rax, idt_descriptor + 2(%rip)
        movw    $(NVECTORS * 16 - 1), idt_descriptor(%rip)
        lidt    idt_descriptor(%rip)
        popq    %rsi
        popq    %rdi
1:      movzbl  %dil, %edi
        shlq    $4, %rdi
        leaq    idt_full(%rip), %rax
        addq    %rax, %rdi
        movq    %rsi, %rax
        jmp     write_gate

/* Gate for handler rax at rdi. Clobbers rdx only. */
write_gate:
        movq    %rax, %rdx
        movw    %dx, 0(%rdi)            /* offset 15:0 */
        movw    $SEL_CODE64, 2(%rdi)
        movw    $0x8E00, 4(%rdi)        /* present, DPL 0, 64-bit interrupt gate, IST 0 */
        shrq    $16, %rdx
        movw    %dx, 6(%rdi)            /* offset 31:16 */
        shrq    $16, %rdx
        movl    %edx, 8(%rdi)           /* offset 63:32 */
        movl    $0, 12(%rdi)
        ret

/*
 * The event-channel upcall. An interrupt gate, so IF is clear inside. Reads the TSC
 * first (the event's arrival as the guest sees it: PerCPU UPCALL_TSC, for timer
 * lateness), saves the caller-saved registers, runs the 2-level dispatcher below on an
 * aligned stack, then applies the block-window fixup and returns with iretq.
 *
 * Frame (offsets from rbp after the pushes): 0 rbp, 8 r11, 16 r10, 24 r9, 32 r8,
 * 40 rdi, 48 rsi, 56 rdx, 64 rcx, 72 rax, 80 rip, 88 cs, 96 rflags, 104 rsp, 112 ss.
 */
#define F_RAX 72
#define F_RIP 80
#define F_RSP 104
        .globl  petrel_upcall_entry
        .balign 16
petrel_upcall_entry:
        pushq   %rax
        pushq   %rcx
        pushq   %rdx
        rdtsc
        pushq   %rsi
        pushq   %rdi
        pushq   %r8
        pushq   %r9
        pushq   %r10
        pushq   %r11
        pushq   %rbp
        movq    %rsp, %rbp
        andq    $-16, %rsp
        cld
        shlq    $32, %rdx
        orq     %rdx, %rax
        movq    %rax, %rdi
        call    upcall_dispatch

        /*
         * Block-window fixup. petrel_sched_op_window does `sti; call <sched_op slot>`
         * so that SCHEDOP_block/poll sleep with interrupts on. If this upcall
         * arrived after the sti but before the hypercall trapped (RIP at the call,
         * or anywhere in the sched_op slot with the window's return address on the
         * stack), the event that should have woken the sleep has just been handled:
         * skip the hypercall (resume at the window's end, rax = 0) so the caller
         * re-checks its condition instead of sleeping through it. Landing here after
         * the hypercall completed (RIP at the slot's ret) takes the same path and
         * only replaces that ret.
         */
        movq    F_RIP(%rbp), %rax
        leaq    petrel_block_window_start(%rip), %rcx
        leaq    petrel_block_window_end(%rip), %rdx
        cmpq    %rcx, %rax
        jb      2f
        cmpq    %rdx, %rax
        jb      1f                      /* RIP at the call: not yet in the slot */
2:      leaq    hypercall_page + HYPERCALL_SCHED_OP * 32(%rip), %rcx
        subq    %rcx, %rax
        cmpq    $32, %rax
        jae     3f                      /* not in the sched_op slot */
        movq    F_RSP(%rbp), %rcx
        cmpq    %rdx, (%rcx)            /* return address is the window's end? */
        jne     3f
        addq    $8, F_RSP(%rbp)         /* drop it: we resume there directly */
1:      movq    %rdx, F_RIP(%rbp)
        movq    $0, F_RAX(%rbp)
3:
        movq    %rbp, %rsp
        popq    %rbp
        popq    %r11
        popq    %r10
        popq    %r9
        popq    %r8
        popq    %rdi
        popq    %rsi
        popq    %rdx
        popq    %rcx
        popq    %rax
        iretq

/*
 * The 2-level dispatcher (events_2l.c's evtchn_2l_handle_events, Kernel/Events.swift
 * describes the protocol), in assembly because every guest instruction costs about a
 * microsecond on this host: with rdi = the entry's TSC, on this vCPU:
 *   PerCPU.upcallTSC = rdi; PerCPU.upcalls += 1
 *   repeat:
 *     vcpu_info.upcall_pending = 0; sel = xchg(vcpu_info.pending_sel, 0)
 *     for each word w in sel (w < 16, the dispatcher's 1024 ports):
 *       for each bit b of pending[w] & ~mask[w] & owners(cpu)[w]:
 *         if lock btr pending[w], b: handler[64w + b](port), or PerCPU.unhandled += 1
 *   while vcpu_info.upcall_pending (then PerCPU.upcallTSC = rdtsc: a handler must not
 *   date an event that came in meanwhile to this upcall's start)
 * Registers: rbx vcpu_info, r12 word, r13 PerCPU, r14 owner map, r15 selector, rbp bits.
 */
#define VI_UPCALL_PENDING 0
#define VI_PENDING_SEL    8
#define SI_PENDING        0x800
#define SI_MASK           0xA00
#define OWNED_WORDS       16
#define PC_UPCALLS        16
#define PC_UNHANDLED      24
#define PC_UPCALL_TSC     200
#define EVTCHN_OWNERS     (1024 * 8)
#define OWNER_MAP_BYTES   128
upcall_dispatch:
        pushq   %rbx
        pushq   %rbp
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $8, %rsp                /* the handlers' calls stay 16-byte aligned */
        call    petrel_cpu_index
        movq    %rax, %rcx
        shlq    $8, %rax                /* PERCPU_SIZE 256 */
        leaq    percpu_area(%rip), %r13
        addq    %rax, %r13
        movq    %rdi, PC_UPCALL_TSC(%r13)
        lock incq PC_UPCALLS(%r13)
        movq    (%r13), %rbx            /* vcpu_info */
        shlq    $7, %rcx                /* OWNER_MAP_BYTES */
        leaq    evtchn_area + EVTCHN_OWNERS(%rip), %r14
        addq    %rcx, %r14
1:      movb    $0, VI_UPCALL_PENDING(%rbx)
        xorl    %r15d, %r15d
        xchgq   %r15, VI_PENDING_SEL(%rbx)
2:      testq   %r15, %r15
        jz      5f
        bsfq    %r15, %r12
        leaq    -1(%r15), %rax
        andq    %rax, %r15
        cmpq    $OWNED_WORDS, %r12
        jae     2b                      /* never unmasked by PetrelOS */
        movq    upcall_shared_info(%rip), %rdx
        movq    SI_MASK(%rdx,%r12,8), %rbp
        notq    %rbp
        andq    SI_PENDING(%rdx,%r12,8), %rbp
        andq    (%r14,%r12,8), %rbp
3:      testq   %rbp, %rbp
        jz      2b
        bsfq    %rbp, %rcx
        leaq    -1(%rbp), %rax
        andq    %rax, %rbp
        movq    upcall_shared_info(%rip), %rdx
        lock btrq %rcx, SI_PENDING(%rdx,%r12,8)   /* ack before handling: none is lost */
        jnc     3b
        movq    %r12, %rdi
        shlq    $6, %rdi
        orq     %rcx, %rdi              /* port */
        leaq    evtchn_area(%rip), %rax
        movq    (%rax,%rdi,8), %rax
        testq   %rax, %rax
        jz      4f
        call    *%rax                   /* handler(port) */
        jmp     3b
4:      lock incq PC_UNHANDLED(%r13)
        jmp     3b
5:      cmpb    $0, VI_UPCALL_PENDING(%rbx)
        je      6f
        rdtsc                           /* a new event: it arrived by now */
        shlq    $32, %rdx
        orq     %rdx, %rax
        movq    %rax, PC_UPCALL_TSC(%r13)
        jmp     1b
6:      addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbp
        popq    %rbx
        ret

/* void petrel_upcall_set_shared_info(uint64_t address): where shared_info is mapped. */
        .globl  petrel_upcall_set_shared_info
petrel_upcall_set_shared_info:
        movq    %rdi, upcall_shared_info(%rip)
        ret

/*
 * int64_t petrel_sched_op_window(uint64_t cmd, uint64_t arg): sched_op with IF set
 * only for the duration of the hypercall. Call with IF clear; returns with IF clear.
 * Returns 0 without sleeping if an upcall arrives before the hypercall traps (see
 * the fixup above).
 */
        .globl  petrel_sched_op_window
petrel_sched_op_window:
        leaq    hypercall_page + HYPERCALL_SCHED_OP * 32(%rip), %rax
        sti
        .globl  petrel_block_window_start
petrel_block_window_start:
        call    *%rax                   /* in the STI shadow: no upcall before the call */
        .globl  petrel_block_window_end
petrel_block_window_end:
        cli
        ret

/* void petrel_triple_fault(void): an IDT with limit 0 makes any exception
 * undeliverable: #UD -> #GP -> #DF -> triple fault (VM shutdown/reset). */
        .globl  petrel_triple_fault
petrel_triple_fault:
        cli
        lidt    empty_idt_descriptor(%rip)
        ud2
        jmp     petrel_triple_fault

        .section .data
        .balign 8
upcall_shared_info:
        .quad   0
        .balign 16
idt_descriptor:
        .word   NEXCEPTIONS * 16 - 1
        .quad   idt_table
        .balign 16
empty_idt_descriptor:
        .word   0
        .quad   0

        .section .noinit, "aw", @nobits
        .balign 16
idt_table:
        .skip   NEXCEPTIONS * 16
        .balign 4096
idt_full:
        .skip   NVECTORS * 16

        .section .note.GNU-stack, "", @progbits
