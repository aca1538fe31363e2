/*
 * Exception vectors 0-31. Each stub pushes a dummy error code when the CPU does
 * not, then the vector number, and jumps to a common path that calls Swift's
 * petrel_exception(vector, error, rip, cr2, rsp). That never returns: it prints the
 * fault and shuts the domain down with SHUTDOWN_crash. No `int n` anywhere.
 */
#define SEL_CODE64 0x08
#define NVECTORS 32

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

/* void petrel_idt_install(void): build the 32 interrupt gates and load the IDT. */
        .globl  petrel_idt_install
petrel_idt_install:
        leaq    idt_table(%rip), %rdi
        leaq    vector_0(%rip), %rax
        movl    $NVECTORS, %ecx
1:      movq    %rax, %rdx
        movw    %dx, 0(%rdi)            /* offset 15:0 */
        movw    $SEL_CODE64, 2(%rdi)
        movw    $0x8E00, 4(%rdi)        /* present, DPL 0, 64-bit interrupt gate, IST 0 */
        shrq    $16, %rdx
        movw    %dx, 6(%rdi)            /* offset 31:16 */
        shrq    $16, %rdx
        movl    %edx, 8(%rdi)           /* offset 63:32 */
        movl    $0, 12(%rdi)
        addq    $16, %rdi
        addq    $16, %rax               /* stubs are 16-byte aligned, each < 16 bytes */
        decl    %ecx
        jnz     1b
        lidt    idt_descriptor(%rip)
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
        .balign 16
idt_descriptor:
        .word   NVECTORS * 16 - 1
        .quad   idt_table
        .balign 16
empty_idt_descriptor:
        .word   0
        .quad   0

        .section .noinit, "aw", @nobits
        .balign 16
idt_table:
        .skip   NVECTORS * 16

        .section .note.GNU-stack, "", @progbits
