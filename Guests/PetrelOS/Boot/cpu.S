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

/* Interrupt flag and idling. Only Xen's upcall is ever delivered to PetrelOS. */
        .globl petrel_sti
petrel_sti:
        sti
        ret

        .globl petrel_cli
petrel_cli:
        cli
        ret

/* void petrel_wait_for_interrupt(void): call with IF clear. `sti; hlt` is atomic
 * (the STI shadow covers the hlt), so an upcall pending at the call wakes it; the
 * handler runs, then we return with IF clear again. */
        .globl petrel_wait_for_interrupt
petrel_wait_for_interrupt:
        sti
        hlt
        cli
        ret

/* bool petrel_interrupts_enabled(void) */
        .globl petrel_interrupts_enabled
petrel_interrupts_enabled:
        pushfq
        popq    %rax
        shrq    $9, %rax
        andl    $1, %eax
        ret

        .globl petrel_pause
petrel_pause:
        pause
        ret

        .globl petrel_read_cr0
petrel_read_cr0:
        movq    %cr0, %rax
        ret

        .globl petrel_read_cr3
petrel_read_cr3:
        movq    %cr3, %rax
        ret

        .globl petrel_read_cr4
petrel_read_cr4:
        movq    %cr4, %rax
        ret

/*
 * Memory shared with Xen or other vCPUs. Each access is one instruction behind an
 * opaque call, so the compiler neither caches nor reorders it. x86 is TSO: plain
 * loads and stores are ordered as the ABI needs; `lock` and `xchg` are full barriers.
 */
        .globl petrel_load8
petrel_load8:
        movzbl  (%rdi), %eax
        ret

        .globl petrel_load16
petrel_load16:
        movzwl  (%rdi), %eax
        ret

        .globl petrel_load32
petrel_load32:
        movl    (%rdi), %eax
        ret

        .globl petrel_load64
petrel_load64:
        movq    (%rdi), %rax
        ret

        .globl petrel_store8
petrel_store8:
        movb    %sil, (%rdi)
        ret

        .globl petrel_store16
petrel_store16:
        movw    %si, (%rdi)
        ret

        .globl petrel_store32
petrel_store32:
        movl    %esi, (%rdi)
        ret

        .globl petrel_store64
petrel_store64:
        movq    %rsi, (%rdi)
        ret

/* uint64_t petrel_xchg64(uint64_t *p, uint64_t v): atomic exchange, returns the old value. */
        .globl petrel_xchg64
petrel_xchg64:
        movq    %rsi, %rax
        xchgq   %rax, (%rdi)
        ret

/* uint64_t petrel_fetch_add64(uint64_t *p, uint64_t v): atomic add, returns the old value. */
        .globl petrel_fetch_add64
petrel_fetch_add64:
        movq    %rsi, %rax
        lock xaddq %rax, (%rdi)
        ret

/* uint16_t petrel_cmpxchg16(uint16_t *p, uint16_t expected, uint16_t desired): returns the old value. */
        .globl petrel_cmpxchg16
petrel_cmpxchg16:
        movl    %esi, %eax
        lock cmpxchgw %dx, (%rdi)
        movzwl  %ax, %eax
        ret

/* Bit operations on the 64-bit word at p (bit 0..63). test_and_* return the old bit. */
        .globl petrel_test_and_clear_bit
petrel_test_and_clear_bit:
        xorl    %eax, %eax
        lock btrq %rsi, (%rdi)
        setc    %al
        ret

        .globl petrel_test_and_set_bit
petrel_test_and_set_bit:
        xorl    %eax, %eax
        lock btsq %rsi, (%rdi)
        setc    %al
        ret

        .globl petrel_test_bit
petrel_test_bit:
        xorl    %eax, %eax
        btq     %rsi, (%rdi)
        setc    %al
        ret

        .globl petrel_hypercall_page_address
petrel_hypercall_page_address:
        leaq    hypercall_page(%rip), %rax
        ret

        .globl petrel_scratch_address
petrel_scratch_address:
        leaq    scratch_pages(%rip), %rax
        ret

        .globl petrel_work_address
petrel_work_address:
        leaq    work_area(%rip), %rax
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
#define PETREL_WORK_PAGES 32
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

/*
 * memset/memcpy move 8 bytes per `rep` iteration, then the tail bytewise: this
 * host's KVM backend executes string instructions one iteration at a time (about
 * 2 us each), so 8-byte steps are 8x faster than `rep movsb` here.
 */
        .globl memset
memset:
        movq    %rdi, %r9
        movzbl  %sil, %eax
        movabsq $0x0101010101010101, %rcx
        imulq   %rcx, %rax              /* the byte in all 8 lanes */
        movq    %rdx, %rcx
        shrq    $3, %rcx
        cld
        rep stosq
        movq    %rdx, %rcx
        andq    $7, %rcx
        rep stosb
        movq    %r9, %rax
        ret

        .globl memcpy
memcpy:
        movq    %rdi, %rax
        movq    %rdx, %rcx
        shrq    $3, %rcx
        cld
        rep movsq
        movq    %rdx, %rcx
        andq    $7, %rcx
        rep movsb
        ret

/* void petrel_zero_qwords(uint64_t dst, uint64_t count): count 8-byte zeros. */
        .globl petrel_zero_qwords
petrel_zero_qwords:
        movq    %rsi, %rcx
        xorl    %eax, %eax
        cld
        rep stosq
        ret

/* uint64_t petrel_compare_qwords(uint64_t a, uint64_t b, uint64_t count): how many leading
 * 8-byte words are equal (count if all are), with one `repe cmpsq`. */
        .globl petrel_compare_qwords
petrel_compare_qwords:
        movq    %rdx, %rcx
        testq   %rcx, %rcx
        jz      1f
        cld
        repe cmpsq
        je      1f                      /* stopped with ZF=1: every word matched */
        movq    %rdx, %rax
        subq    %rcx, %rax
        decq    %rax                    /* the mismatching word was counted off too */
        ret
1:      movq    %rdx, %rax
        ret

/* void petrel_memcpy(uint64_t dst, uint64_t src, uint64_t n): memcpy for Swift. */
        .globl petrel_memcpy
petrel_memcpy:
        jmp     memcpy

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
/* Scratch for the runtime tests (grant frames, samples, fuzz buffers): only the
 * pages a test touches cost anything. */
        .balign 4096
work_area:
        .skip   PETREL_WORK_PAGES * 4096

console_linebuf:
        .skip   256

        .bss
        .balign 8
heap_next:
        .quad   0

        .section .note.GNU-stack, "", @progbits

