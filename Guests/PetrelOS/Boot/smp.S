/*
 * Secondary vCPUs and per-vCPU memory.
 *
 * An AP starts at petrel_ap_entry through VCPUOP_initialise with a
 * vcpu_hvm_context in VCPU_HVM_MODE_64B (xen/hvm/hvm_vcpu.h): long mode, paging on
 * the BSP's page tables (cr3), rsp = the top of its own stack, rdi = its vCPU id.
 * Xen loads only the hidden parts of CS/DS/SS/ES (flat 64-bit code, flat data) and
 * leaves their selectors 0; GDTR and IDTR are not set. So the AP loads our GDT,
 * reloads every segment register (iretq needs real selectors), loads the shared IDT
 * and calls Swift's petrel_ap_main(vcpu, frame), where frame points at the general
 * registers as Xen loaded them (the smp test checks them).
 *
 * The vCPU index of the running code comes from its stack: APs run on
 * ap_stacks[vcpu - 1], everything else (the BSP's boot stack) is vCPU 0.
 */
#define SEL_CODE64 0x08
#define SEL_DATA   0x10
#define MAX_CPUS 16
#define AP_STACK_SHIFT 14                       /* 16 KiB per AP */
#define AP_STACK_SIZE (1 << AP_STACK_SHIFT)
#define PERCPU_SIZE 256

        .text
        .globl  petrel_ap_entry
        .balign 16
petrel_ap_entry:
        /* frame (low to high): rdi, rsi, rbp, rbx, rdx, rcx, rax, rflags */
        pushfq
        pushq   %rax
        pushq   %rcx
        pushq   %rdx
        pushq   %rbx
        pushq   %rbp
        pushq   %rsi
        pushq   %rdi
        movq    %rsp, %rsi
        cld
        lgdt    boot_gdt_descriptor64(%rip)
        movl    $SEL_DATA, %eax
        movl    %eax, %ds
        movl    %eax, %es
        movl    %eax, %ss
        movl    %eax, %fs
        movl    %eax, %gs
        pushq   $SEL_CODE64
        leaq    1f(%rip), %rax
        pushq   %rax
        lretq
1:      call    petrel_idt_load
        movq    (%rsi), %rdi            /* vCPU id as Xen passed it in rdi */
        xorl    %ebp, %ebp
        andq    $-16, %rsp
        call    petrel_ap_main
        jmp     petrel_halt_forever

/* uint64_t petrel_cpu_index(void): 0 on the boot stack, n on ap_stacks[n - 1]. */
        .globl  petrel_cpu_index
petrel_cpu_index:
        leaq    8(%rsp), %rax           /* the caller's stack pointer */
        leaq    ap_stacks(%rip), %rcx
        subq    %rcx, %rax
        cmpq    $((MAX_CPUS - 1) * AP_STACK_SIZE), %rax
        jae     1f                      /* below ap_stacks wraps to huge: also vCPU 0 */
        shrq    $AP_STACK_SHIFT, %rax
        incq    %rax
        ret
1:      xorl    %eax, %eax
        ret

/* uint64_t petrel_ap_stack_top(uint64_t vcpu), vcpu in 1..MAX_CPUS-1 */
        .globl  petrel_ap_stack_top
petrel_ap_stack_top:
        movq    %rdi, %rax
        shlq    $AP_STACK_SHIFT, %rax
        leaq    ap_stacks(%rip), %rcx
        addq    %rcx, %rax              /* ap_stacks + vcpu * size = top of stack vcpu - 1 */
        ret

        .globl  petrel_ap_entry_address
petrel_ap_entry_address:
        leaq    petrel_ap_entry(%rip), %rax
        ret

        .globl  petrel_percpu_address
petrel_percpu_address:
        leaq    percpu_area(%rip), %rax
        ret

        .globl  petrel_evtchn_area_address
petrel_evtchn_area_address:
        leaq    evtchn_area(%rip), %rax
        ret

        .globl  petrel_vcpu_info_page_address
petrel_vcpu_info_page_address:
        leaq    vcpu_info_page(%rip), %rax
        ret

/*
 * Not zeroed at boot (first touches are expensive here): each driver clears what it
 * uses when it starts.
 */
        .section .noinit, "aw", @nobits
        .balign 4096
ap_stacks:
        .skip   (MAX_CPUS - 1) * AP_STACK_SIZE
        .balign 4096
        .globl  percpu_area
percpu_area:
        .skip   MAX_CPUS * PERCPU_SIZE
        .balign 4096
/* Event dispatcher: handler per port (1024 x 8 bytes), then a 1024-bit owner map per vCPU. */
        .globl  evtchn_area             /* idt.S's dispatcher reads it */
evtchn_area:
        .skip   1024 * 8 + MAX_CPUS * 128
        .balign 4096
/* vcpu_info placed with VCPUOP_register_vcpu_info (64 bytes each). */
vcpu_info_page:
        .skip   4096

        .section .note.GNU-stack, "", @progbits
