/*
 * PetrelOS bridging header: the Xen public headers (the ABI's source of truth) and
 * the assembly routines in Boot/ (*.S files). Swift sees Xen's own struct layouts and numbers.
 * No C code lives here: only declarations and constants the Swift importer cannot
 * take from macros directly.
 */
#ifndef PETRELOS_H
#define PETRELOS_H

#include <stdint.h>
#include <stddef.h>

/* A modern guest: the current interface (structural guest handles etc.). */
#define __XEN_INTERFACE_VERSION__ 0x00040e00

#include <xen/xen.h>
#include <xen/errno.h>
#include <xen/features.h>
#include <xen/version.h>
#include <xen/memory.h>
#include <xen/sched.h>
#include <xen/event_channel.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/io/console.h>
#include <xen/arch-x86/hvm/start_info.h>

/* Constants whose Xen macros the Swift importer cannot evaluate (xen_mk_uint etc.). */
enum {
    PETREL_DOMID_SELF = DOMID_SELF,
    PETREL_HVM_PARAM_CALLBACK_TYPE_VECTOR = HVM_PARAM_CALLBACK_TYPE_VECTOR,
    PETREL_CONS_OUT_OFFSET = offsetof(struct xencons_interface, out),
    PETREL_CONS_OUT_SIZE = sizeof(((struct xencons_interface *)0)->out),
    PETREL_CONS_OUT_CONS_OFFSET = offsetof(struct xencons_interface, out_cons),
    PETREL_CONS_OUT_PROD_OFFSET = offsetof(struct xencons_interface, out_prod),
    /*
     * XENMEM_memory_map fills "entries in the same format as returned by the BIOS
     * INT 0x15 EAX=0xE820 call" (memory.h): packed {u64 addr; u64 size; u32 type}.
     */
    PETREL_E820_ENTRY_SIZE = 20,
    PETREL_COMPILE_INFO_COMPILER = offsetof(struct xen_compile_info, compiler),
    PETREL_COMPILE_INFO_COMPILE_BY = offsetof(struct xen_compile_info, compile_by),
    PETREL_COMPILE_INFO_COMPILE_DOMAIN = offsetof(struct xen_compile_info, compile_domain),
    PETREL_COMPILE_INFO_COMPILE_DATE = offsetof(struct xen_compile_info, compile_date),
};

/* CPU (Boot/cpu.S). */
struct petrel_cpuid_regs { uint32_t eax, ebx, ecx, edx; };
struct petrel_cpuid_regs petrel_cpuid(uint32_t leaf, uint32_t subleaf);
void petrel_wrmsr(uint32_t msr, uint64_t value);
uint64_t petrel_rdtsc(void);
void petrel_outb(uint16_t port, uint8_t value);
void petrel_outl(uint16_t port, uint32_t value);
void petrel_outsb(uint16_t port, uint64_t address, uint64_t count);
void petrel_barrier(void);          /* compiler + CPU full barrier (mfence) */
void petrel_halt_forever(void) __attribute__((noreturn));

/* Statically allocated, page-aligned memory (Boot/cpu.S). */
uint64_t petrel_hypercall_page_address(void);
uint64_t petrel_scratch_address(void);   /* PETREL_SCRATCH_PAGES pages */
uint64_t petrel_linebuf_address(void);   /* PETREL_LINEBUF_SIZE bytes */
enum { PETREL_SCRATCH_PAGES = 2, PETREL_LINEBUF_SIZE = 256 };

/*
 * Xen hypercall through the hypercall page: slot nr at page + nr*32.
 * a1..a5 go in rdi, rsi, rdx, r10, r8; the result comes back in rax.
 */
int64_t petrel_hypercall5(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3,
                          uint64_t a4, uint64_t a5);

/* Exceptions (Boot/idt.S). */
void petrel_triple_fault(void) __attribute__((noreturn));

#endif
