/*
 * PetrelOS PVH entry.
 *
 * Xen (and QEMU's PVH loader) jump to the XEN_ELFNOTE_PHYS32_ENTRY address in
 * 32-bit flat protected mode, paging off, with EBX = GPA of struct hvm_start_info.
 * We load our own GDT, identity-map the first 4 GiB with 2 MiB pages (this reaches
 * the Xen special pages near 0xFEFF0000 and gfns just above RAM), enable
 * PAE + EFER.LME + paging, far-jump to 64-bit code, set a stack, install the IDT
 * and call Swift's kmain(startInfo).
 *
 * The 32-bit part is kept minimal (this host's KVM backend is fragile there).
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define CR0_PE  (1 << 0)
#define CR0_WP  (1 << 16)
#define CR0_PG  (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)

#define PTE_P   (1 << 0)
#define PTE_W   (1 << 1)
#define PTE_PS  (1 << 7)

#define SEL_CODE64 0x08
#define SEL_DATA   0x10

/* ELF note: name "Xen", type 18, 4-byte desc = 32-bit physical entry point. */
        .section .note.Xen, "a", @note
        .balign 4
        .long   2f - 1f                 /* namesz */
        .long   4f - 3f                 /* descsz */
        .long   XEN_ELFNOTE_PHYS32_ENTRY
1:      .asciz  "Xen"
2:      .balign 4
3:      .long   pvh_start32
4:      .balign 4

        .section .text.boot, "ax"
        .code32
        .globl  pvh_start32
pvh_start32:
        cli
        cld
        movl    %ebx, %esi              /* hvm_start_info GPA, kept in esi until kmain */

        lgdt    boot_gdt_descriptor
        movl    $SEL_DATA, %eax
        movl    %eax, %ds
        movl    %eax, %es
        movl    %eax, %ss
        movl    %eax, %fs
        movl    %eax, %gs

        /* The boot page tables are static data (below): PML4 -> PDPT -> 4 PDs, an identity
         * map of the first 4 GiB with 2 MiB pages, loaded with the image. Nothing is computed
         * at boot: on this host's KVM backend (shadow paging) every guest write to a page-table
         * page traps, and filling 2048 entries at boot cost 10-15 ms. */
        movl    $boot_pml4, %eax
        movl    %eax, %cr3
        movl    %cr4, %eax
        orl     $CR4_PAE, %eax
        movl    %eax, %cr4
        movl    $MSR_EFER, %ecx
        rdmsr
        orl     $EFER_LME, %eax
        wrmsr
        movl    %cr0, %eax
        orl     $(CR0_PG | CR0_WP | CR0_PE), %eax
        movl    %eax, %cr0
        ljmp    $SEL_CODE64, $long_mode_entry

        .code64
long_mode_entry:
        movl    $SEL_DATA, %eax
        movl    %eax, %ds
        movl    %eax, %es
        movl    %eax, %ss
        movl    %eax, %fs
        movl    %eax, %gs
        leaq    boot_stack_top(%rip), %rsp
        xorl    %ebp, %ebp


        /* Zero .bss (Swift globals). Page tables, stack and the fixed pages live in .noinit.
         * 8 bytes per step (the linker script aligns both ends to 16): this host's KVM
         * backend runs `rep` one iteration at a time. */
        leaq    __bss_start(%rip), %rdi
        leaq    __bss_end(%rip), %rcx
        subq    %rdi, %rcx
        shrq    $3, %rcx
        xorl    %eax, %eax
        rep stosq

        call    petrel_idt_install
        movl    %esi, %edi              /* zero-extends: startInfo GPA < 4 GiB */
        call    kmain
        jmp     petrel_halt_forever

/* GDT: null, 64-bit code, flat data. Accessed bits preset so the CPU never writes here. */
        .section .data
        .balign 16
boot_gdt:
        .quad   0
        .quad   0x00AF9B000000FFFF      /* 0x08: code, long mode (L=1), DPL 0 */
        .quad   0x00CF93000000FFFF      /* 0x10: data, flat 4 GiB, writable */
boot_gdt_end:
        .balign 8
boot_gdt_descriptor:
        .word   boot_gdt_end - boot_gdt - 1
        .long   boot_gdt
/* The same GDT for lgdt in 64-bit mode (10-byte descriptor), used by the APs. */
        .balign 16
        .globl  boot_gdt_descriptor64
boot_gdt_descriptor64:
        .word   boot_gdt_end - boot_gdt - 1
        .quad   boot_gdt

/* Static boot page tables: loaded with the image, so 32-bit code only points CR3 here. */
        .section .data.pagetables, "aw"
        .balign 4096
boot_pml4:
        .quad   boot_pdpt + PTE_P + PTE_W
        .fill   511, 8, 0
boot_pdpt:
        .quad   boot_pd + 0 * 4096 + PTE_P + PTE_W
        .quad   boot_pd + 1 * 4096 + PTE_P + PTE_W
        .quad   boot_pd + 2 * 4096 + PTE_P + PTE_W
        .quad   boot_pd + 3 * 4096 + PTE_P + PTE_W
        .fill   508, 8, 0
boot_pd:
        .set    page, 0
        .rept   2048
        .quad   (page << 21) + PTE_P + PTE_W + PTE_PS
        .set    page, page + 1
        .endr
        .balign 16
boot_stack:
        .skip   65536
boot_stack_top:

        .section .note.GNU-stack, "", @progbits
