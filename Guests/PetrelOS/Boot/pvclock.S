/*
 * Xen system time from a struct vcpu_time_info (xen.h), the pvclock, in assembly:
 * guest code runs slowly on this host's KVM backend (every instruction counts),
 * and the upcall handlers read the clock.
 *
 *   ns = system_time + ((((tsc - tsc_timestamp) << tsc_shift) * tsc_to_system_mul) >> 32)
 *
 * A negative tsc_shift shifts right. The 64x32 multiply is one `mul` (128-bit result),
 * so nothing overflows. `version` is a seqlock: odd = update in progress; a change
 * between the two reads means retry. Field offsets are checked in PetrelOS.h.
 */
#define TIME_VERSION       0
#define TIME_TSC_TIMESTAMP 8
#define TIME_SYSTEM_TIME   16
#define TIME_MUL           24
#define TIME_SHIFT         28
#define VCPU_INFO_TIME     32
#define PERCPU_SHIFT       8    /* PETREL_PERCPU_SIZE = 256; field 0 = vcpu_info address */

        .text
/* uint64_t petrel_pvclock_read(uint64_t time_info) */
        .globl  petrel_pvclock_read
petrel_pvclock_read:
1:      movl    TIME_VERSION(%rdi), %esi
        testl   $1, %esi
        jnz     4f
        movq    TIME_TSC_TIMESTAMP(%rdi), %r8
        movq    TIME_SYSTEM_TIME(%rdi), %r9
        movl    TIME_MUL(%rdi), %r10d
        movsbl  TIME_SHIFT(%rdi), %ecx
        lfence                          /* the loads above before the TSC read */
        rdtsc
        shlq    $32, %rdx
        orq     %rdx, %rax
        cmpl    TIME_VERSION(%rdi), %esi
        jne     1b
        subq    %r8, %rax               /* tsc - tsc_timestamp; a TSC just behind counts as 0 */
        jns     2f
        xorl    %eax, %eax
2:      testl   %ecx, %ecx
        js      3f
        shlq    %cl, %rax
        jmp     5f
3:      negl    %ecx
        shrq    %cl, %rax
5:      mulq    %r10                    /* rdx:rax = delta * mul */
        shrdq   $32, %rdx, %rax         /* bits 32..95 of the product */
        addq    %r9, %rax
        ret
4:      pause
        jmp     1b

/*
 * uint64_t petrel_pvclock_at(uint64_t time_info, uint64_t tsc): the system time a TSC value
 * read earlier (an upcall's entry stamp) stands for, under the current parameters. A TSC
 * before tsc_timestamp counts backwards from system_time (not clamped: an old stamp must
 * not read as later than it was); the result stops at 0.
 */
        .globl  petrel_pvclock_at
petrel_pvclock_at:
        movq    %rsi, %r11
1:      movl    TIME_VERSION(%rdi), %esi
        testl   $1, %esi
        jnz     6f
        movq    TIME_TSC_TIMESTAMP(%rdi), %r8
        movq    TIME_SYSTEM_TIME(%rdi), %r9
        movl    TIME_MUL(%rdi), %r10d
        movsbl  TIME_SHIFT(%rdi), %ecx
        cmpl    TIME_VERSION(%rdi), %esi
        jne     1b
        movq    %r11, %rax
        subq    %r8, %rax               /* tsc - tsc_timestamp */
        jb      7f
        call    pvclock_scale
        addq    %r9, %rax
        ret
7:      negq    %rax                    /* tsc_timestamp - tsc */
        call    pvclock_scale
        subq    %rax, %r9
        jae     8f
        xorl    %r9d, %r9d
8:      movq    %r9, %rax
        ret
6:      pause
        jmp     1b

/* rax = ((rax << shift(ecx, signed)) * r10d) >> 32. Clobbers rcx, rdx. */
pvclock_scale:
        testl   %ecx, %ecx
        js      3f
        shlq    %cl, %rax
        jmp     5f
3:      negl    %ecx
        shrq    %cl, %rax
5:      mulq    %r10
        shrdq   $32, %rdx, %rax
        ret

/* uint64_t petrel_pvclock_now(void): the running vCPU's clock (PerCPU vcpu_info). */
        .globl  petrel_pvclock_now
petrel_pvclock_now:
        call    petrel_cpu_index
        shlq    $PERCPU_SHIFT, %rax
        leaq    percpu_area(%rip), %rdi
        movq    (%rdi,%rax), %rdi
        addq    $VCPU_INFO_TIME, %rdi
        jmp     petrel_pvclock_read

        .section .note.GNU-stack, "", @progbits
