/*
 * PetrelOS-mini: the smallest useful Xen PVH guest, for `petrel bench boot`.
 *
 * It enters in 32-bit flat protected mode (the PVH ABI: paging off, CR0 = PE|ET, CR4 = 0,
 * IF = 0, EBX = hvm_start_info, which it does not need), switches to long mode with static
 * page tables, looks for Xen's CPUID leaves, installs the hypercall page, prints one line
 * with console_io(CONSOLEIO_write) and powers off with sched_op(SCHEDOP_shutdown).
 * Without Xen (QEMU's microvm PVH boot) it prints to the debug port 0xe9 and exits through
 * isa-debug-exit at 0xf4.
 *
 * Every instruction counts: on a host whose KVM emulates this guest instruction by
 * instruction, and where each first touch of a page is expensive, the guest's share of a
 * boot is its instruction count plus its pages (one code/data/stack page, three page-table
 * pages, the hypercall page). No `int n`, no SSE: this host's KVM backend mishandles them.
 */
#define __ASSEMBLY__            /* Xen headers: numbers only, no C declarations */
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <xen/xen.h>            /* __HYPERVISOR_*, CONSOLEIO_write */
#include <xen/elfnote.h>        /* XEN_ELFNOTE_PHYS32_ENTRY */

/* sched.h and version.h hold C declarations an assembler cannot read: their numbers. */
#define SCHEDOP_shutdown        2       /* xen/sched.h */
#define SHUTDOWN_poweroff       0       /* xen/sched.h */

#define XEN_CPUID_FIRST         0x40000000      /* arch-x86/cpuid.h: leaves in 0x100 steps */
#define XEN_CPUID_LAST          0x40010000
#define XEN_SIG_EBX             0x566e6558      /* "XenV" */
#define XEN_SIG_ECX             0x65584d4d      /* "MMXe" */
#define XEN_SIG_EDX             0x4d4d566e      /* "nVMM" */
#define HYPERCALL_SLOT          32              /* bytes per hypercall-page entry */

#define DEBUGCON_PORT           0xe9    /* QEMU -debugcon, Bochs */
#define DEBUG_EXIT_PORT         0xf4    /* QEMU isa-debug-exit: exit status (value << 1) | 1 */

#define CR0_PE  (1 << 0)
#define CR0_PG  (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define PTE_P   (1 << 0)
#define PTE_W   (1 << 1)
#define PTE_PS  (1 << 7)
#define SEL_CODE64 0x08

/* ELF note: name "Xen", type XEN_ELFNOTE_PHYS32_ENTRY, 4-byte desc = 32-bit entry. */
        .section .note.Xen, "a", @note
        .balign 4
        .long   2f - 1f
        .long   4f - 3f
        .long   XEN_ELFNOTE_PHYS32_ENTRY
1:      .asciz  "Xen"
2:      .balign 4
3:      .long   pvh_start32
4:      .balign 4

        .section .text, "ax"
        .code32
        .globl  pvh_start32
pvh_start32:
        /* Long mode: CR3, CR4.PAE, EFER.LME, CR0.PG, then a far jump into a 64-bit code
         * segment. Data segments keep the flat descriptors the loader set: 64-bit code
         * ignores their bases and limits. */
        lgdt    gdt_descriptor
        movl    $pml4, %eax
        movl    %eax, %cr3
        movl    $CR4_PAE, %eax
        movl    %eax, %cr4
        movl    $MSR_EFER, %ecx
        rdmsr
        orl     $EFER_LME, %eax
        wrmsr
        movl    $(CR0_PG | CR0_PE), %eax
        movl    %eax, %cr0
        ljmp    $SEL_CODE64, $start64

        .code64
start64:
        leaq    stack_top(%rip), %rsp

        /* Xen's leaves: signature "XenVMMXenVMM" at 0x40000000 + 0x100*k (another
         * hypervisor may sit at the first base, as with Viridian). Hypervisors stack
         * their ranges from the first base up, so the scan ends at the first base whose
         * EAX (its largest leaf) is not inside its own range: nothing lies beyond. */
        movl    $XEN_CPUID_FIRST, %esi
find_xen:
        movl    %esi, %eax
        cpuid
        cmpl    $XEN_SIG_EBX, %ebx
        jne     next_base
        cmpl    $XEN_SIG_ECX, %ecx
        jne     next_base
        cmpl    $XEN_SIG_EDX, %edx
        je      xen_found
next_base:
        subl    %esi, %eax
        cmpl    $0xff, %eax
        ja      no_xen
        addl    $0x100, %esi
        cmpl    $XEN_CPUID_LAST, %esi
        jb      find_xen
no_xen:

        /* No Xen: the line to the debug port, then isa-debug-exit with 0 (QEMU status 1). */
        leaq    line_no_xen(%rip), %rsi
        movl    $(line_no_xen_end - line_no_xen), %ecx
        movl    $DEBUGCON_PORT, %edx
        rep outsb
        xorl    %eax, %eax
        outl    %eax, $DEBUG_EXIT_PORT
        jmp     halt

xen_found:
        /* Leaf base+2: EBX = the MSR that takes the hypercall page's GPA (page index 0). */
        leal    2(%rsi), %eax
        cpuid
        movl    %ebx, %ecx
        movl    $hypercall_page, %eax
        xorl    %edx, %edx
        wrmsr

        /* console_io(CONSOLEIO_write, count, buffer): args in rdi, rsi, rdx. */
        movl    $CONSOLEIO_write, %edi
        movl    $(line_xen_end - line_xen), %esi
        leaq    line_xen(%rip), %rdx
        call    hypercall_page + __HYPERVISOR_console_io * HYPERCALL_SLOT

        /* sched_op(SCHEDOP_shutdown, &sched_shutdown{ reason = SHUTDOWN_poweroff }).
         * Guest-virtual = physical under the identity map. */
        movl    $SCHEDOP_shutdown, %edi
        leaq    sched_shutdown(%rip), %rsi
        call    hypercall_page + __HYPERVISOR_sched_op * HYPERCALL_SLOT
halt:
        hlt
        jmp     halt

        .section .rodata, "a"
line_xen:
        .ascii  "PetrelOS-mini: hello from Xen\n"
line_xen_end:
line_no_xen:
        .ascii  "PetrelOS-mini: hello without Xen\n"
line_no_xen_end:
        .balign 4
sched_shutdown:                         /* struct sched_shutdown { unsigned int reason; } */
        .long   SHUTDOWN_poweroff

/* GDT: null, 64-bit code (L=1, DPL 0, accessed preset so the CPU never writes it). */
        .balign 8
gdt:
        .quad   0
        .quad   0x00AF9B000000FFFF
gdt_end:
gdt_descriptor:
        .word   gdt_end - gdt - 1
        .long   gdt

/* Static page tables, loaded with the image: 0-2 MiB identity-mapped with one 2 MiB page
 * (the image and its hypercall page sit at 1 MiB). Nothing is written at boot: on a
 * shadow-paging KVM every guest write to a page-table page traps. */
        .section .data.pagetables, "aw"
        .balign 4096
pml4:
        .quad   pdpt + PTE_P + PTE_W
        .fill   511, 8, 0
pdpt:
        .quad   pd + PTE_P + PTE_W
        .fill   511, 8, 0
pd:
        .quad   0 + PTE_P + PTE_W + PTE_PS
        .fill   511, 8, 0

/* The stack (the hypercall stubs' return addresses) shares the first page with the code,
 * so the guest touches one page fewer. */
        .section .data, "aw"
        .balign 16
stack:
        .skip   128
stack_top:

/* Not loaded: the hypercall page, which Petrel fills when the guest writes its address to
 * the MSR. */
        .section .bss, "aw", @nobits
        .balign 4096
hypercall_page:
        .skip   4096

        .section .note.GNU-stack, "", @progbits
