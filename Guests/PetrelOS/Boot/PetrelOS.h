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
#include <xen/hvm/hvm_vcpu.h>
#include <xen/vcpu.h>
#include <xen/grant_table.h>
#include <xen/platform.h>
#include <xen/io/console.h>
#include <xen/io/xs_wire.h>
#include <xen/arch-x86/hvm/start_info.h>

/* --- Upcall dispatcher and pvclock stamps (Boot/idt.S, Boot/pvclock.S) --- */
/* System time of an earlier TSC value under time_info's current parameters. */
uint64_t petrel_pvclock_at(uint64_t time_info, uint64_t tsc);
/* Tells the upcall dispatcher where shared_info is mapped (before any upcall). */
void petrel_upcall_set_shared_info(uint64_t address);
/* PerCPU byte offset of the TSC read first thing in the last upcall (idt.S). */
enum { PETREL_PERCPU_UPCALL_TSC = 200 };
_Static_assert(offsetof(struct vcpu_info, evtchn_upcall_pending) == 0, "idt.S");
_Static_assert(offsetof(struct vcpu_info, evtchn_pending_sel) == 8, "idt.S");
_Static_assert(offsetof(struct shared_info, evtchn_pending) == 0x800, "idt.S");
_Static_assert(offsetof(struct shared_info, evtchn_mask) == 0xA00, "idt.S");
/* --- end upcall section --- */

/* Constants whose Xen macros the Swift importer cannot evaluate (xen_mk_uint etc.). */
enum {
    PETREL_DOMID_SELF = DOMID_SELF,
    PETREL_HVM_PARAM_CALLBACK_TYPE_VECTOR = HVM_PARAM_CALLBACK_TYPE_VECTOR,
    PETREL_CONS_OUT_OFFSET = offsetof(struct xencons_interface, out),
    PETREL_CONS_OUT_SIZE = sizeof(((struct xencons_interface *)0)->out),
    PETREL_CONS_OUT_CONS_OFFSET = offsetof(struct xencons_interface, out_cons),
    PETREL_CONS_OUT_PROD_OFFSET = offsetof(struct xencons_interface, out_prod),
    PETREL_CONS_IN_OFFSET = offsetof(struct xencons_interface, in),
    PETREL_CONS_IN_SIZE = sizeof(((struct xencons_interface *)0)->in),
    PETREL_CONS_IN_CONS_OFFSET = offsetof(struct xencons_interface, in_cons),
    PETREL_CONS_IN_PROD_OFFSET = offsetof(struct xencons_interface, in_prod),
    /*
     * XENMEM_memory_map fills "entries in the same format as returned by the BIOS
     * INT 0x15 EAX=0xE820 call" (memory.h): packed {u64 addr; u64 size; u32 type}.
     */
    PETREL_E820_ENTRY_SIZE = 20,
    PETREL_COMPILE_INFO_COMPILER = offsetof(struct xen_compile_info, compiler),
    PETREL_COMPILE_INFO_COMPILE_BY = offsetof(struct xen_compile_info, compile_by),
    PETREL_COMPILE_INFO_COMPILE_DOMAIN = offsetof(struct xen_compile_info, compile_domain),
    PETREL_COMPILE_INFO_COMPILE_DATE = offsetof(struct xen_compile_info, compile_date),

    /* shared_info and vcpu_info (xen.h): the 2-level event ABI, pvclock, wallclock. */
    PETREL_LEGACY_MAX_VCPUS = XEN_LEGACY_MAX_VCPUS,
    PETREL_VCPU_INFO_SIZE = sizeof(struct vcpu_info),
    PETREL_VCPU_INFO_UPCALL_PENDING = offsetof(struct vcpu_info, evtchn_upcall_pending),
    PETREL_VCPU_INFO_UPCALL_MASK = offsetof(struct vcpu_info, evtchn_upcall_mask),
    PETREL_VCPU_INFO_PENDING_SEL = offsetof(struct vcpu_info, evtchn_pending_sel),
    PETREL_VCPU_INFO_TIME = offsetof(struct vcpu_info, time),
    PETREL_TIME_VERSION = offsetof(struct vcpu_time_info, version),
    PETREL_TIME_TSC_TIMESTAMP = offsetof(struct vcpu_time_info, tsc_timestamp),
    PETREL_TIME_SYSTEM_TIME = offsetof(struct vcpu_time_info, system_time),
    PETREL_TIME_TSC_TO_SYSTEM_MUL = offsetof(struct vcpu_time_info, tsc_to_system_mul),
    PETREL_TIME_TSC_SHIFT = offsetof(struct vcpu_time_info, tsc_shift),
    PETREL_SHINFO_EVTCHN_PENDING = offsetof(struct shared_info, evtchn_pending),
    PETREL_SHINFO_EVTCHN_MASK = offsetof(struct shared_info, evtchn_mask),
    PETREL_SHINFO_EVTCHN_WORDS = sizeof(((struct shared_info *)0)->evtchn_pending) / sizeof(xen_ulong_t),
    PETREL_SHINFO_WC_VERSION = offsetof(struct shared_info, wc_version),
    PETREL_SHINFO_WC_SEC = offsetof(struct shared_info, wc_sec),
    PETREL_SHINFO_WC_NSEC = offsetof(struct shared_info, wc_nsec),
    PETREL_SHINFO_WC_SEC_HI = offsetof(struct shared_info, wc_sec_hi),
    PETREL_EVTCHN_2L_NR_CHANNELS = EVTCHN_2L_NR_CHANNELS,
    PETREL_DOMID_FIRST_RESERVED = DOMID_FIRST_RESERVED,

    /* vcpu.h */
    PETREL_RUNSTATE_SIZE = sizeof(struct vcpu_runstate_info),
    PETREL_RUNSTATE_STATE = offsetof(struct vcpu_runstate_info, state),
    PETREL_RUNSTATE_ENTRY_TIME = offsetof(struct vcpu_runstate_info, state_entry_time),
    PETREL_RUNSTATE_TIME = offsetof(struct vcpu_runstate_info, time),

    /* grant_table.h */
    PETREL_GNTTAB_COPY_SIZE = sizeof(struct gnttab_copy),
    PETREL_GRANT_ENTRY_V1_SIZE = sizeof(struct grant_entry_v1),
    PETREL_GRANT_ENTRY_FLAGS = offsetof(struct grant_entry_v1, flags),
    PETREL_GRANT_ENTRY_DOMID = offsetof(struct grant_entry_v1, domid),
    PETREL_GRANT_ENTRY_FRAME = offsetof(struct grant_entry_v1, frame),

    /* io/xs_wire.h: the xenstore ring page and message header. */
    PETREL_XS_REQ = offsetof(struct xenstore_domain_interface, req),
    PETREL_XS_RSP = offsetof(struct xenstore_domain_interface, rsp),
    PETREL_XS_REQ_CONS = offsetof(struct xenstore_domain_interface, req_cons),
    PETREL_XS_REQ_PROD = offsetof(struct xenstore_domain_interface, req_prod),
    PETREL_XS_RSP_CONS = offsetof(struct xenstore_domain_interface, rsp_cons),
    PETREL_XS_RSP_PROD = offsetof(struct xenstore_domain_interface, rsp_prod),
    PETREL_XS_SERVER_FEATURES = offsetof(struct xenstore_domain_interface, server_features),
    PETREL_XS_CONNECTION = offsetof(struct xenstore_domain_interface, connection),
    PETREL_XS_ERROR = offsetof(struct xenstore_domain_interface, error),
    PETREL_XS_INTERFACE_SIZE = sizeof(struct xenstore_domain_interface),
    PETREL_XS_HEADER_SIZE = sizeof(struct xsd_sockmsg),
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

/* Interrupts, idling, control registers (Boot/cpu.S). */
void petrel_sti(void);
void petrel_cli(void);
void petrel_wait_for_interrupt(void);   /* call with IF clear: sti; hlt; cli */
_Bool petrel_interrupts_enabled(void);
void petrel_pause(void);
uint64_t petrel_read_cr0(void);
uint64_t petrel_read_cr3(void);
uint64_t petrel_read_cr4(void);

/* Memory shared with Xen or other vCPUs: one instruction each (Boot/cpu.S). */
uint8_t petrel_load8(uint64_t address);
uint16_t petrel_load16(uint64_t address);
uint32_t petrel_load32(uint64_t address);
uint64_t petrel_load64(uint64_t address);
void petrel_store8(uint64_t address, uint8_t value);
void petrel_store16(uint64_t address, uint16_t value);
void petrel_store32(uint64_t address, uint32_t value);
void petrel_store64(uint64_t address, uint64_t value);
uint64_t petrel_xchg64(uint64_t address, uint64_t value);
uint64_t petrel_fetch_add64(uint64_t address, uint64_t delta);
uint16_t petrel_cmpxchg16(uint64_t address, uint16_t expected, uint16_t desired);
_Bool petrel_test_and_clear_bit(uint64_t address, uint64_t bit);
_Bool petrel_test_and_set_bit(uint64_t address, uint64_t bit);
_Bool petrel_test_bit(uint64_t address, uint64_t bit);
void petrel_memcpy(uint64_t dst, uint64_t src, uint64_t n);
void petrel_zero_qwords(uint64_t dst, uint64_t count);
uint64_t petrel_compare_qwords(uint64_t a, uint64_t b, uint64_t count); /* leading equal qwords */

/* pvclock (Boot/pvclock.S): ns of Xen system time from a vcpu_time_info / this vCPU's. */
uint64_t petrel_pvclock_read(uint64_t time_info);
uint64_t petrel_pvclock_now(void);
_Static_assert(offsetof(struct vcpu_time_info, version) == 0, "pvclock.S");
_Static_assert(offsetof(struct vcpu_time_info, tsc_timestamp) == 8, "pvclock.S");
_Static_assert(offsetof(struct vcpu_time_info, system_time) == 16, "pvclock.S");
_Static_assert(offsetof(struct vcpu_time_info, tsc_to_system_mul) == 24, "pvclock.S");
_Static_assert(offsetof(struct vcpu_time_info, tsc_shift) == 28, "pvclock.S");
_Static_assert(offsetof(struct vcpu_info, time) == 32, "pvclock.S");

/* Statically allocated, page-aligned memory (Boot/cpu.S, Boot/smp.S). */
uint64_t petrel_hypercall_page_address(void);
uint64_t petrel_scratch_address(void);   /* PETREL_SCRATCH_PAGES pages */
uint64_t petrel_linebuf_address(void);   /* PETREL_LINEBUF_SIZE bytes */
uint64_t petrel_work_address(void);      /* PETREL_WORK_PAGES pages */
uint64_t petrel_percpu_address(void);    /* PETREL_MAX_CPUS * PETREL_PERCPU_SIZE bytes */
uint64_t petrel_evtchn_area_address(void); /* handlers, then per-vCPU owner maps */
uint64_t petrel_vcpu_info_page_address(void); /* one page */
enum {
    PETREL_SCRATCH_PAGES = 2, PETREL_LINEBUF_SIZE = 256, PETREL_WORK_PAGES = 32,
    PETREL_MAX_CPUS = 16, PETREL_PERCPU_SIZE = 256,
    PETREL_EVTCHN_PORTS = 1024,  /* ports the dispatcher can bind handlers to */
};

/* Secondary vCPUs (Boot/smp.S). */
uint64_t petrel_cpu_index(void);          /* vCPU running this code, from its stack */
uint64_t petrel_ap_stack_top(uint64_t vcpu);
uint64_t petrel_ap_entry_address(void);

/*
 * Xen hypercall through the hypercall page: slot nr at page + nr*32.
 * a1..a5 go in rdi, rsi, rdx, r10, r8; the result comes back in rax.
 */
int64_t petrel_hypercall5(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3,
                          uint64_t a4, uint64_t a5);

/* IDT and the event-channel upcall (Boot/idt.S). */
void petrel_triple_fault(void) __attribute__((noreturn));
void petrel_idt_set_gate(uint64_t vector, uint64_t handler);
uint64_t petrel_upcall_entry_address(void);
/* sched_op(cmd, arg) with IF set only inside the hypercall; see idt.S. */
int64_t petrel_sched_op_window(uint64_t cmd, uint64_t arg);

/* test=bench-hypercall's timed loops (Boot/benchloops.S): TSC cycles for n iterations of the
 * same `dec; jnz` loop around one xen_version(XENVER_version) hypercall / one `outb`. */
uint64_t petrel_bench_hypercall_loop(uint64_t n);
uint64_t petrel_bench_out_loop(uint16_t port, uint64_t n);

#endif
