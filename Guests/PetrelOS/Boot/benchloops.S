/*
 * The timed loops of test=bench-hypercall (System V AMD64 calling convention). Both loops
 * have the same shape (a counter in r9, `dec; jnz`) and differ only in their body, so on a
 * host that emulates guest code instruction by instruction the ratio of the two compares one
 * hypercall against one bare exit, not two compilers' loops.
 *
 * The counter lives in r9 and the start time in rbx: a 64-bit HVM hypercall may clobber
 * its argument registers (rdi, rsi, rdx, r10, r8) and returns in rax; r9 and rbx survive.
 */
#define __ASSEMBLY__            /* Xen headers: numbers only, no C declarations */
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <xen/xen.h>            /* __HYPERVISOR_xen_version */

#define XENVER_version  0       /* xen/version.h (C declarations: not includable here) */
#define HYPERCALL_SLOT  32      /* bytes per hypercall-page entry */

        .text

/* rax = TSC, ordered after earlier instructions (clobbers rdx). */
.macro  read_tsc
        lfence
        rdtsc
        shlq    $32, %rdx
        orq     %rdx, %rax
.endm

/* uint64_t petrel_bench_hypercall_loop(uint64_t n)
 * TSC cycles for n xen_version(XENVER_version, NULL) calls through the hypercall page. */
        .globl  petrel_bench_hypercall_loop
petrel_bench_hypercall_loop:
        pushq   %rbx
        movq    %rdi, %r9
        read_tsc
        movq    %rax, %rbx
        testq   %r9, %r9
        jz      2f
1:      movl    $XENVER_version, %edi
        xorl    %esi, %esi
        call    hypercall_page + __HYPERVISOR_xen_version * HYPERCALL_SLOT
        decq    %r9
        jnz     1b
2:      read_tsc
        subq    %rbx, %rax
        popq    %rbx
        ret

/* uint64_t petrel_bench_out_loop(uint16_t port, uint64_t n)
 * TSC cycles for n byte writes to `port` (one exit each when the port is not emulated in
 * the kernel). */
        .globl  petrel_bench_out_loop
petrel_bench_out_loop:
        pushq   %rbx
        movq    %rsi, %r9
        movl    %edi, %ecx
        read_tsc
        movq    %rax, %rbx
        movl    %ecx, %edx
        xorl    %eax, %eax
        testq   %r9, %r9
        jz      2f
1:      outb    %al, %dx
        decq    %r9
        jnz     1b
2:      read_tsc
        subq    %rbx, %rax
        popq    %rbx
        ret

        .section .note.GNU-stack, "", @progbits
