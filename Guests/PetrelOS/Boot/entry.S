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

        /* PML4 and PDPT: clear both pages. */
        movl    $boot_pml4, %edi
        xorl    %eax, %eax
        movl    $(2 * 4096 / 4), %ecx
        rep stosl
        movl    $(boot_pdpt + PTE_P + PTE_W), boot_pml4
        movl    $(boot_pd + 0 * 4096 + PTE_P + PTE_W), boot_pdpt + 0
        movl    $(boot_pd + 1 * 4096 + PTE_P + PTE_W), boot_pdpt + 8
        movl    $(boot_pd + 2 * 4096 + PTE_P + PTE_W), boot_pdpt + 16
        movl    $(boot_pd + 3 * 4096 + PTE_P + PTE_W), boot_pdpt + 24

        /* 4 PDs x 512 entries x 2 MiB = 4 GiB identity map. */
        movl    $boot_pd, %edi
        movl    $(PTE_P + PTE_W + PTE_PS), %eax
        movl    $2048, %ecx
1:      movl    %eax, (%edi)
        movl    $0, 4(%edi)
        addl    $0x200000, %eax
        addl    $8, %edi
        decl    %ecx
        jnz     1b

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

        /* Zero .bss (Swift globals). Page tables, stack and the fixed pages live in .noinit. */
        leaq    __bss_start(%rip), %rdi
        leaq    __bss_end(%rip), %rcx
        subq    %rdi, %rcx
        xorl    %eax, %eax
        rep stosb

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

        .section .noinit, "aw", @nobits
        .balign 4096
boot_pml4:
        .skip   4096
boot_pdpt:
        .skip   4096
boot_pd:
        .skip   4 * 4096
        .balign 16
boot_stack:
        .skip   65536
boot_stack_top:

        .section .note.GNU-stack, "", @progbits
