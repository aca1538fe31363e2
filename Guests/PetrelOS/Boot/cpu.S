/*
 * PetrelOS CPU primitives (System V AMD64 calling convention), the hypercall
 * trampoline, and the statically allocated pages the kernel needs at fixed
 * addresses (hypercall page, hypercall argument scratch, console line buffer).
 * Every routine here is an opaque call to the Swift optimizer, so each one also
 * acts as a compiler barrier.
 */
        .text

/* struct petrel_cpuid_regs petrel_cpuid(uint32_t leaf, uint32_t subleaf)
 * The 16-byte struct comes back in rax (eax | ebx<<32) and rdx (ecx | edx<<32). */
        .globl petrel_cpuid
petrel_cpuid:
        pushq   %rbx
        movl    %edi, %eax
        movl    %esi, %ecx
        cpuid
        shlq    $32, %rbx
        orq     %rbx, %rax
        shlq    $32, %rdx
        movl    %ecx, %ecx
        orq     %rcx, %rdx
        popq    %rbx
        ret

/* void petrel_wrmsr(uint32_t msr, uint64_t value) */
        .globl petrel_wrmsr
petrel_wrmsr:
        movl    %edi, %ecx
        movl    %esi, %eax
        movq    %rsi, %rdx
        shrq    $32, %rdx
        wrmsr
        ret

/* uint64_t petrel_rdtsc(void) -- lfence keeps earlier instructions from drifting past. */
        .globl petrel_rdtsc
petrel_rdtsc:
        lfence
        rdtsc
        shlq    $32, %rdx
        orq     %rdx, %rax
        ret

/* void petrel_outb(uint16_t port, uint8_t value) */
        .globl petrel_outb
petrel_outb:
        movl    %edi, %edx
        movl    %esi, %eax
        outb    %al, %dx
        ret

/* void petrel_outl(uint16_t port, uint32_t value) */
        .globl petrel_outl
petrel_outl:
        movl    %edi, %edx
        movl    %esi, %eax
        outl    %eax, %dx
        ret

/* void petrel_outsb(uint16_t port, uint64_t address, uint64_t count) */
        .globl petrel_outsb
petrel_outsb:
        movq    %rdx, %rcx
        movl    %edi, %edx
        cld
        rep outsb
        ret

/* void petrel_barrier(void) */
        .globl petrel_barrier
petrel_barrier:
        mfence
        ret

/* void petrel_halt_forever(void) -- interrupts stay off; hlt until the VM dies. */
        .globl petrel_halt_forever
petrel_halt_forever:
        cli
1:      hlt
        jmp     1b

/*
 * int64_t petrel_hypercall5(nr, a1, a2, a3, a4, a5)
 * C args arrive in rdi, rsi, rdx, rcx, r8, r9; Xen wants a1..a5 in
 * rdi, rsi, rdx, r10, r8 and the call at hypercall_page + nr*32.
 * Registers the stub may clobber are all caller-saved here.
 */
        .globl petrel_hypercall5
petrel_hypercall5:
        movq    %rdi, %rax
        shlq    $5, %rax
        leaq    hypercall_page(%rip), %r11
        addq    %r11, %rax
        movq    %rsi, %rdi
        movq    %rdx, %rsi
        movq    %rcx, %rdx
        movq    %r8, %r10
        movq    %r9, %r8
        call    *%rax
        ret

        .globl petrel_hypercall_page_address
petrel_hypercall_page_address:
        leaq    hypercall_page(%rip), %rax
        ret

        .globl petrel_scratch_address
petrel_scratch_address:
        leaq    scratch_pages(%rip), %rax
        ret

        .globl petrel_linebuf_address
petrel_linebuf_address:
        leaq    console_linebuf(%rip), %rax
        ret

/*
 * libc pieces the Swift compiler and runtime call.
 *
 * int posix_memalign(void **out, size_t alignment, size_t size): a bump allocator
 * over heap_area; free() is a no-op. PetrelOS code avoids the heap, so this only
 * backs incidental runtime use.
 */
#define HEAP_SIZE 16384
        .globl posix_memalign
posix_memalign:
        leaq    heap_area(%rip), %r8
        movq    heap_next(%rip), %rax
        addq    %r8, %rax               /* first free byte */
        cmpq    $16, %rsi
        jae     1f
        movl    $16, %esi
1:      leaq    -1(%rsi), %rcx
        addq    %rcx, %rax
        notq    %rcx
        andq    %rcx, %rax              /* aligned start */
        movq    %rax, %r9
        addq    %rdx, %r9               /* end */
        jc      2f
        leaq    HEAP_SIZE(%r8), %r10
        cmpq    %r10, %r9
        ja      2f
        movq    %rax, (%rdi)
        subq    %r8, %r9
        movq    %r9, heap_next(%rip)
        xorl    %eax, %eax
        ret
2:      movq    $0, (%rdi)
        movl    $12, %eax               /* ENOMEM */
        ret

        .globl free
free:
        ret

        .globl memset
memset:
        movq    %rdi, %r9
        movl    %esi, %eax
        movq    %rdx, %rcx
        cld
        rep stosb
        movq    %r9, %rax
        ret

        .globl memcpy
memcpy:
        movq    %rdi, %rax
        movq    %rdx, %rcx
        cld
        rep movsb
        ret

        .globl memmove
memmove:
        movq    %rdi, %rax
        movq    %rdx, %rcx
        cmpq    %rsi, %rdi
        jbe     1f                      /* dst <= src: forward copy is safe */
        leaq    -1(%rsi,%rdx), %rsi
        leaq    -1(%rdi,%rdx), %rdi
        std
        rep movsb
        cld
        ret
1:      cld
        rep movsb
        ret

        .globl memcmp
memcmp:
        xorl    %eax, %eax
        testq   %rdx, %rdx
        jz      2f
1:      movzbl  (%rdi), %eax
        movzbl  (%rsi), %ecx
        subl    %ecx, %eax
        jnz     2f
        incq    %rdi
        incq    %rsi
        decq    %rdx
        jnz     1b
2:      ret

/*
 * Pages that must sit at fixed, page-aligned guest-physical addresses. They are
 * in .noinit (not zeroed at boot): Xen fills the hypercall page, the rest is
 * written before it is read.
 */
        .section .noinit, "aw", @nobits
        .balign 4096
        .globl hypercall_page
hypercall_page:
        .skip   4096
scratch_pages:
        .skip   2 * 4096
heap_area:
        .skip   HEAP_SIZE
console_linebuf:
        .skip   256

        .bss
        .balign 8
heap_next:
        .quad   0

        .section .note.GNU-stack, "", @progbits
