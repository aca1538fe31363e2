#include "CKVM.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

int ckvm_ioctl_ptr(int fd, unsigned long request, void *arg) { return ioctl(fd, request, arg); }
int ckvm_ioctl_val(int fd, unsigned long request, unsigned long arg) { return ioctl(fd, request, arg); }

int ckvm_run(int vcpu_fd, int *err) {
    int rc = ioctl(vcpu_fd, KVM_RUN, 0);
    *err = rc < 0 ? errno : 0;
    return rc;
}

struct kvm_cpuid2 *ckvm_cpuid2_alloc(uint32_t n) {
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
    if (c) c->nent = n;
    return c;
}

void ckvm_cpuid2_free(struct kvm_cpuid2 *c) { free(c); }

int ckvm_set_msr_write_filter(int vm_fd, uint32_t base, uint32_t count) {
    // One bit per MSR; a 0 bit denies the access, which (with KVM_MSR_EXIT_REASON_FILTER)
    // becomes a KVM_EXIT_X86_WRMSR exit instead of a #GP.
    static uint8_t deny[64]; // up to 512 MSRs, all denied
    memset(deny, 0, sizeof deny);
    if (count > sizeof deny * 8) { errno = EINVAL; return -1; }
    struct kvm_msr_filter f;
    memset(&f, 0, sizeof f);
    f.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
    f.ranges[0].flags = KVM_MSR_FILTER_WRITE;
    f.ranges[0].nmsrs = count;
    f.ranges[0].base = base;
    f.ranges[0].bitmap = deny;
    return ioctl(vm_fd, KVM_X86_SET_MSR_FILTER, &f);
}

int ckvm_enable_cap(int fd, uint32_t cap, uint64_t arg0) {
    struct kvm_enable_cap c;
    memset(&c, 0, sizeof c);
    c.cap = cap;
    c.args[0] = arg0;
    return ioctl(fd, KVM_ENABLE_CAP, &c);
}

int ckvm_interrupt(int vcpu_fd, uint32_t vector) {
    struct kvm_interrupt irq = { .irq = vector };
    return ioctl(vcpu_fd, KVM_INTERRUPT, &irq);
}

int ckvm_get_msr_raw(int vcpu_fd, uint32_t index, uint64_t *value) {
    struct { struct kvm_msrs h; struct kvm_msr_entry e; } m;
    memset(&m, 0, sizeof m);
    m.h.nmsrs = 1;
    m.e.index = index;
    if (ioctl(vcpu_fd, KVM_GET_MSRS, &m) != 1) return -1;
    *value = m.e.data;
    return 0;
}

int ckvm_withdraw_interrupt(int vcpu_fd) {
    struct kvm_vcpu_events ev;
    memset(&ev, 0, sizeof ev);
    if (ioctl(vcpu_fd, KVM_GET_VCPU_EVENTS, &ev) != 0) return -1;
    if (!ev.interrupt.injected) return 0;
    ev.interrupt.injected = 0;
    ev.flags = 0;
    if (ioctl(vcpu_fd, KVM_SET_VCPU_EVENTS, &ev) != 0) return -1;
    return 1;
}
