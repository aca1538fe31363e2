// C shim for <linux/kvm.h>: the ioctl request numbers Swift can't import (function-like macros),
// non-variadic ioctl entry points, and accessors for the unions in the shared run area.
// Everything here is a thin, stateless wrapper; the Swift side (EngineKVM) owns lifetimes.
#ifndef CKVM_H
#define CKVM_H

#include <linux/kvm.h>
#include <stdint.h>
#include <stddef.h>

// --- ioctl entry points (ioctl(2) is variadic, which Swift cannot call) -----------------------
int ckvm_ioctl_ptr(int fd, unsigned long request, void *arg);
int ckvm_ioctl_val(int fd, unsigned long request, unsigned long arg);
/// KVM_RUN with the errno captured in the same breath (EINTR after a kick is normal).
int ckvm_run(int vcpu_fd, int *err);

// --- request numbers ----------------------------------------------------------------------------
#define CKVM_REQ(name) static inline unsigned long ckvm_##name(void) { return name; }
CKVM_REQ(KVM_GET_API_VERSION)
CKVM_REQ(KVM_CREATE_VM)
CKVM_REQ(KVM_CHECK_EXTENSION)
CKVM_REQ(KVM_GET_VCPU_MMAP_SIZE)
CKVM_REQ(KVM_GET_SUPPORTED_CPUID)
CKVM_REQ(KVM_SET_USER_MEMORY_REGION)
CKVM_REQ(KVM_SET_TSS_ADDR)
CKVM_REQ(KVM_SET_IDENTITY_MAP_ADDR)
CKVM_REQ(KVM_CREATE_VCPU)
CKVM_REQ(KVM_RUN)
CKVM_REQ(KVM_GET_REGS)
CKVM_REQ(KVM_SET_REGS)
CKVM_REQ(KVM_GET_SREGS)
CKVM_REQ(KVM_SET_SREGS)
CKVM_REQ(KVM_SET_CPUID2)
CKVM_REQ(KVM_ENABLE_CAP)
CKVM_REQ(KVM_X86_SET_MSR_FILTER)
CKVM_REQ(KVM_INTERRUPT)
CKVM_REQ(KVM_GET_TSC_KHZ)
CKVM_REQ(KVM_GET_MSRS)
CKVM_REQ(KVM_SET_MSRS)
#undef CKVM_REQ

// --- capabilities and constants -----------------------------------------------------------------
enum {
    CKVM_API_VERSION = KVM_API_VERSION,
    CKVM_CAP_SYNC_REGS = KVM_CAP_SYNC_REGS,
    CKVM_CAP_X86_USER_SPACE_MSR = KVM_CAP_X86_USER_SPACE_MSR,
    CKVM_CAP_X86_MSR_FILTER = KVM_CAP_X86_MSR_FILTER,
    CKVM_CAP_IMMEDIATE_EXIT = KVM_CAP_IMMEDIATE_EXIT,
    CKVM_CAP_NR_VCPUS = KVM_CAP_NR_VCPUS,
    CKVM_CAP_MAX_VCPUS = KVM_CAP_MAX_VCPUS,
    CKVM_CAP_NR_MEMSLOTS = KVM_CAP_NR_MEMSLOTS,
    CKVM_CAP_XEN_HVM = KVM_CAP_XEN_HVM,
    CKVM_CAP_READONLY_MEM = KVM_CAP_READONLY_MEM,
    CKVM_MEM_READONLY = KVM_MEM_READONLY,
    CKVM_SYNC_X86_REGS = KVM_SYNC_X86_REGS,
    CKVM_SYNC_X86_SREGS = KVM_SYNC_X86_SREGS,
    CKVM_SYNC_X86_EVENTS = KVM_SYNC_X86_EVENTS,
    CKVM_MSR_EXIT_REASON_FILTER = KVM_MSR_EXIT_REASON_FILTER,
    CKVM_MSR_EXIT_REASON_UNKNOWN = KVM_MSR_EXIT_REASON_UNKNOWN,
    CKVM_MSR_FILTER_DEFAULT_ALLOW = KVM_MSR_FILTER_DEFAULT_ALLOW,
    CKVM_MSR_FILTER_READ = KVM_MSR_FILTER_READ,
    CKVM_MSR_FILTER_WRITE = KVM_MSR_FILTER_WRITE,
    CKVM_EXIT_IO_IN = KVM_EXIT_IO_IN,
    CKVM_EXIT_IO_OUT = KVM_EXIT_IO_OUT,
};

// --- run-area accessors (kvm_run is full of anonymous unions) ----------------------------------
static inline uint32_t ckvm_run_exit_reason(const struct kvm_run *r) { return r->exit_reason; }
static inline void ckvm_run_set_immediate_exit(struct kvm_run *r, uint8_t v) { r->immediate_exit = v; }
static inline uint8_t ckvm_run_ready_for_interrupt(const struct kvm_run *r) { return r->ready_for_interrupt_injection; }
static inline uint8_t ckvm_run_if_flag(const struct kvm_run *r) { return r->if_flag; }
static inline void ckvm_run_request_interrupt_window(struct kvm_run *r, uint8_t v) { r->request_interrupt_window = v; }

static inline uint8_t ckvm_io_direction(const struct kvm_run *r) { return r->io.direction; }
static inline uint8_t ckvm_io_size(const struct kvm_run *r) { return r->io.size; }
static inline uint16_t ckvm_io_port(const struct kvm_run *r) { return r->io.port; }
static inline uint32_t ckvm_io_count(const struct kvm_run *r) { return r->io.count; }
static inline uint64_t ckvm_io_data_offset(const struct kvm_run *r) { return r->io.data_offset; }

static inline uint64_t ckvm_mmio_phys_addr(const struct kvm_run *r) { return r->mmio.phys_addr; }
static inline uint32_t ckvm_mmio_len(const struct kvm_run *r) { return r->mmio.len; }
static inline uint8_t ckvm_mmio_is_write(const struct kvm_run *r) { return r->mmio.is_write; }
static inline uint8_t *ckvm_mmio_data(struct kvm_run *r) { return r->mmio.data; }

static inline uint32_t ckvm_msr_index(const struct kvm_run *r) { return r->msr.index; }
static inline uint64_t ckvm_msr_data(const struct kvm_run *r) { return r->msr.data; }
static inline uint32_t ckvm_msr_reason(const struct kvm_run *r) { return r->msr.reason; }
static inline void ckvm_msr_set_data(struct kvm_run *r, uint64_t v) { r->msr.data = v; }
static inline void ckvm_msr_set_error(struct kvm_run *r, uint8_t e) { r->msr.error = e; }

static inline uint64_t ckvm_fail_entry_reason(const struct kvm_run *r) { return r->fail_entry.hardware_entry_failure_reason; }
static inline uint32_t ckvm_internal_suberror(const struct kvm_run *r) { return r->internal.suberror; }
static inline uint32_t ckvm_system_event_type(const struct kvm_run *r) { return r->system_event.type; }

static inline uint64_t ckvm_valid_regs(const struct kvm_run *r) { return r->kvm_valid_regs; }
static inline void ckvm_set_valid_regs(struct kvm_run *r, uint64_t v) { r->kvm_valid_regs = v; }
static inline void ckvm_set_dirty_regs(struct kvm_run *r, uint64_t v) { r->kvm_dirty_regs = v; }
static inline uint64_t ckvm_dirty_regs(const struct kvm_run *r) { return r->kvm_dirty_regs; }
static inline struct kvm_regs *ckvm_sync_regs(struct kvm_run *r) { return &r->s.regs.regs; }
static inline struct kvm_sregs *ckvm_sync_sregs(struct kvm_run *r) { return &r->s.regs.sregs; }

// --- CPUID and MSR-filter helpers (flexible array members) -------------------------------------
/// Allocates a kvm_cpuid2 with room for `n` entries (free with free()).
struct kvm_cpuid2 *ckvm_cpuid2_alloc(uint32_t n);
void ckvm_cpuid2_free(struct kvm_cpuid2 *c);
static inline struct kvm_cpuid_entry2 *ckvm_cpuid2_entry(struct kvm_cpuid2 *c, uint32_t i) { return &c->entries[i]; }

/// Installs an MSR filter that sends writes of [base, base+count) to userspace and allows all else.
int ckvm_set_msr_write_filter(int vm_fd, uint32_t base, uint32_t count);

/// The host TSC (guests on this backend read the same counter: no TSC offset).
static inline uint64_t ckvm_rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/// Reads one MSR of a vCPU with KVM_GET_MSRS; returns 0 on success.
int ckvm_get_msr_raw(int vcpu_fd, uint32_t index, uint64_t *value);

/// Takes back an interrupt queued with KVM_INTERRUPT but not delivered (KVM_GET/SET_VCPU_EVENTS).
/// Returns 1 if one was queued and is now withdrawn, 0 if none, -1 on error.
int ckvm_withdraw_interrupt(int vcpu_fd);

/// KVM_INTERRUPT: queue an external interrupt (userspace irqchip).
int ckvm_interrupt(int vcpu_fd, uint32_t vector);

/// KVM_ENABLE_CAP with args[0] = arg0.
int ckvm_enable_cap(int fd, uint32_t cap, uint64_t arg0);

#endif
