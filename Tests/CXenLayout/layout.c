/*
 * Sizes, offsets and constants straight from Xen's public headers, for XenABITests.
 *
 * __XEN_TOOLS__ selects the latest interface (__XEN_INTERFACE_VERSION__ = 0x00040e00, Xen 4.17)
 * and exposes the deprecated HVM params that XenABI also names. Without a version, xen.h would
 * alias __HYPERVISOR_sched_op to the pre-3.0.1 compat hypercall.
 */
#define __XEN_TOOLS__ 1

#include <stdint.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/version.h>
#include <xen/features.h>
#include <xen/memory.h>
#include <xen/sched.h>
#include <xen/event_channel.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/arch-x86/hvm/start_info.h>
#include <xen/arch-x86/cpuid.h>
#include <xen/io/console.h>
#include <xen/errno.h>
#include <xen/platform.h>

#include "CXenLayout.h"

_Static_assert(__XEN_INTERFACE_VERSION__ == 0x00040e00, "expected the Xen 4.17 interface");
_Static_assert(sizeof(void *) == 8, "layouts are checked for x86-64 guests");

struct cxl_entry {
    const char *name;
    long long value;
};

static long long lookup(const struct cxl_entry *table, size_t count, const char *name) {
    if (name == NULL) return -1;
    for (size_t i = 0; i < count; i++) {
        if (strcmp(table[i].name, name) == 0) return table[i].value;
    }
    return -1;
}

#define COUNT(t) (sizeof(t) / sizeof((t)[0]))

/* ---- sizeof ---------------------------------------------------------------------------- */

#define S(s) { #s, (long long)sizeof(struct s) }
#define T(t) { #t, (long long)sizeof(t) }
static const struct cxl_entry sizes[] = {
    S(hvm_start_info), S(hvm_modlist_entry), S(hvm_memmap_table_entry),
    S(xen_hvm_param), S(xen_add_to_physmap), S(xen_memory_map),
    S(xen_feature_info), S(xen_compile_info), S(xen_platform_parameters),
    S(xencons_interface),
    S(shared_info), S(arch_shared_info), S(vcpu_info), S(arch_vcpu_info), S(vcpu_time_info),
    S(sched_shutdown), S(sched_remote_shutdown), S(sched_poll), S(evtchn_send),
    T(domid_t), T(evtchn_port_t), T(xen_pfn_t), T(xen_ulong_t), T(XENCONS_RING_IDX),
    T(xen_extraversion_t), T(xen_capabilities_info_t), T(xen_changeset_info_t),
    T(xen_commandline_t), T(xen_domain_handle_t),
    S(xen_platform_op), S(xenpf_pcpuinfo), S(xenpf_cpu_ol),
};

/* ---- offsetof / field size --------------------------------------------------------------- */

struct cxl_field {
    const char *name;
    long offset;
    long size;
};
#define F(s, f) { #s "." #f, (long)offsetof(struct s, f), (long)sizeof(((struct s *)0)->f) }
static const struct cxl_field fields[] = {
    F(hvm_start_info, magic), F(hvm_start_info, version), F(hvm_start_info, flags),
    F(hvm_start_info, nr_modules), F(hvm_start_info, modlist_paddr),
    F(hvm_start_info, cmdline_paddr), F(hvm_start_info, rsdp_paddr),
    F(hvm_start_info, memmap_paddr), F(hvm_start_info, memmap_entries),
    F(hvm_start_info, reserved),

    F(hvm_modlist_entry, paddr), F(hvm_modlist_entry, size), F(hvm_modlist_entry, cmdline_paddr),
    F(hvm_modlist_entry, reserved),

    F(hvm_memmap_table_entry, addr), F(hvm_memmap_table_entry, size),
    F(hvm_memmap_table_entry, type), F(hvm_memmap_table_entry, reserved),

    F(xen_hvm_param, domid), F(xen_hvm_param, pad), F(xen_hvm_param, index),
    F(xen_hvm_param, value),

    F(xen_add_to_physmap, domid), F(xen_add_to_physmap, size), F(xen_add_to_physmap, space),
    F(xen_add_to_physmap, idx), F(xen_add_to_physmap, gpfn),

    F(xen_memory_map, nr_entries), F(xen_memory_map, buffer),

    F(xen_feature_info, submap_idx), F(xen_feature_info, submap),

    F(xen_compile_info, compiler), F(xen_compile_info, compile_by),
    F(xen_compile_info, compile_domain), F(xen_compile_info, compile_date),

    F(xen_platform_parameters, virt_start),

    F(xencons_interface, in), F(xencons_interface, out),
    F(xencons_interface, in_cons), F(xencons_interface, in_prod),
    F(xencons_interface, out_cons), F(xencons_interface, out_prod),

    F(shared_info, vcpu_info), F(shared_info, evtchn_pending), F(shared_info, evtchn_mask),
    F(shared_info, wc_version), F(shared_info, wc_sec), F(shared_info, wc_nsec),
    F(shared_info, wc_sec_hi), F(shared_info, arch),

    F(vcpu_info, evtchn_upcall_pending), F(vcpu_info, evtchn_upcall_mask),
    F(vcpu_info, evtchn_pending_sel), F(vcpu_info, arch), F(vcpu_info, time),

    F(vcpu_time_info, version), F(vcpu_time_info, pad0), F(vcpu_time_info, tsc_timestamp),
    F(vcpu_time_info, system_time), F(vcpu_time_info, tsc_to_system_mul),
    F(vcpu_time_info, tsc_shift), F(vcpu_time_info, flags), F(vcpu_time_info, pad1),

    F(sched_shutdown, reason),
    F(sched_remote_shutdown, domain_id), F(sched_remote_shutdown, reason),
    F(sched_poll, ports), F(sched_poll, nr_ports), F(sched_poll, timeout),

    F(evtchn_send, port),

    F(xen_platform_op, cmd), F(xen_platform_op, interface_version), F(xen_platform_op, u),
    F(xen_platform_op, u.pcpu_info), F(xen_platform_op, u.cpu_ol),
    F(xen_platform_op, u.pcpu_info.xen_cpuid), F(xen_platform_op, u.pcpu_info.max_present),
    F(xen_platform_op, u.pcpu_info.flags), F(xen_platform_op, u.pcpu_info.apic_id),
    F(xen_platform_op, u.pcpu_info.acpi_id), F(xen_platform_op, u.cpu_ol.cpuid),
    F(xenpf_pcpuinfo, xen_cpuid), F(xenpf_pcpuinfo, max_present), F(xenpf_pcpuinfo, flags),
    F(xenpf_pcpuinfo, apic_id), F(xenpf_pcpuinfo, acpi_id),
    F(xenpf_cpu_ol, cpuid),
};

static const struct cxl_field *field(const char *name) {
    if (name == NULL) return NULL;
    for (size_t i = 0; i < COUNT(fields); i++) {
        if (strcmp(fields[i].name, name) == 0) return &fields[i];
    }
    return NULL;
}

/* ---- constants --------------------------------------------------------------------------- */

#define C(x) { #x, (long long)(x) }
static const struct cxl_entry constants[] = {
    /* xen.h: hypercall numbers */
    C(__HYPERVISOR_set_trap_table), C(__HYPERVISOR_mmu_update), C(__HYPERVISOR_set_gdt),
    C(__HYPERVISOR_stack_switch), C(__HYPERVISOR_set_callbacks), C(__HYPERVISOR_fpu_taskswitch),
    C(__HYPERVISOR_sched_op_compat), C(__HYPERVISOR_platform_op), C(__HYPERVISOR_set_debugreg),
    C(__HYPERVISOR_get_debugreg), C(__HYPERVISOR_update_descriptor), C(__HYPERVISOR_memory_op),
    C(__HYPERVISOR_multicall), C(__HYPERVISOR_update_va_mapping), C(__HYPERVISOR_set_timer_op),
    C(__HYPERVISOR_event_channel_op_compat), C(__HYPERVISOR_xen_version),
    C(__HYPERVISOR_console_io), C(__HYPERVISOR_physdev_op_compat),
    C(__HYPERVISOR_grant_table_op), C(__HYPERVISOR_vm_assist),
    C(__HYPERVISOR_update_va_mapping_otherdomain), C(__HYPERVISOR_iret),
    C(__HYPERVISOR_vcpu_op), C(__HYPERVISOR_set_segment_base), C(__HYPERVISOR_mmuext_op),
    C(__HYPERVISOR_xsm_op), C(__HYPERVISOR_nmi_op), C(__HYPERVISOR_sched_op),
    C(__HYPERVISOR_callback_op), C(__HYPERVISOR_xenoprof_op), C(__HYPERVISOR_event_channel_op),
    C(__HYPERVISOR_physdev_op), C(__HYPERVISOR_hvm_op), C(__HYPERVISOR_sysctl),
    C(__HYPERVISOR_domctl), C(__HYPERVISOR_kexec_op), C(__HYPERVISOR_tmem_op),
    C(__HYPERVISOR_argo_op), C(__HYPERVISOR_xenpmu_op), C(__HYPERVISOR_dm_op),
    C(__HYPERVISOR_hypfs_op),

    /* xen.h: console_io, domain ids, vCPU count in shared_info */
    C(CONSOLEIO_write), C(CONSOLEIO_read),
    C(DOMID_FIRST_RESERVED), C(DOMID_SELF), C(DOMID_IO), C(DOMID_XEN), C(DOMID_COW),
    C(DOMID_INVALID), C(DOMID_IDLE),
    C(XEN_LEGACY_MAX_VCPUS), C(__HYPERVISOR_VIRT_START),

    /* version.h */
    C(XENVER_version), C(XENVER_extraversion), C(XENVER_compile_info), C(XENVER_capabilities),
    C(XENVER_changeset), C(XENVER_platform_parameters), C(XENVER_get_features),
    C(XENVER_pagesize), C(XENVER_guest_handle), C(XENVER_commandline), C(XENVER_build_id),
    C(XEN_EXTRAVERSION_LEN), C(XEN_CAPABILITIES_INFO_LEN), C(XEN_CHANGESET_INFO_LEN),

    /* features.h */
    C(XENFEAT_writable_page_tables), C(XENFEAT_writable_descriptor_tables),
    C(XENFEAT_auto_translated_physmap), C(XENFEAT_supervisor_mode_kernel),
    C(XENFEAT_pae_pgdir_above_4gb), C(XENFEAT_mmu_pt_update_preserve_ad),
    C(XENFEAT_highmem_assist), C(XENFEAT_gnttab_map_avail_bits),
    C(XENFEAT_hvm_callback_vector), C(XENFEAT_hvm_safe_pvclock), C(XENFEAT_hvm_pirqs),
    C(XENFEAT_dom0), C(XENFEAT_memory_op_vnode_supported), /* grant_map_identity (12): commented out */
    C(XENFEAT_ARM_SMCCC_supported), C(XENFEAT_linux_rsdp_unrestricted),
    C(XENFEAT_not_direct_mapped), C(XENFEAT_direct_mapped), C(XENFEAT_NR_SUBMAPS),

    /* hvm_op.h, params.h */
    C(HVMOP_set_param), C(HVMOP_get_param),
    C(HVM_PARAM_CALLBACK_IRQ), C(HVM_PARAM_STORE_PFN), C(HVM_PARAM_STORE_EVTCHN),
    C(HVM_PARAM_PAE_ENABLED), C(HVM_PARAM_IOREQ_PFN), C(HVM_PARAM_BUFIOREQ_PFN),
    C(HVM_PARAM_VIRIDIAN), C(HVM_PARAM_TIMER_MODE), C(HVM_PARAM_HPET_ENABLED),
    C(HVM_PARAM_IDENT_PT), C(HVM_PARAM_DM_DOMAIN), C(HVM_PARAM_ACPI_S_STATE),
    C(HVM_PARAM_VM86_TSS), C(HVM_PARAM_VPT_ALIGN), C(HVM_PARAM_CONSOLE_PFN),
    C(HVM_PARAM_CONSOLE_EVTCHN), C(HVM_PARAM_ACPI_IOPORTS_LOCATION),
    C(HVM_PARAM_MEMORY_EVENT_CR0), C(HVM_PARAM_MEMORY_EVENT_CR3),
    C(HVM_PARAM_MEMORY_EVENT_CR4), C(HVM_PARAM_MEMORY_EVENT_INT3), C(HVM_PARAM_NESTEDHVM),
    C(HVM_PARAM_MEMORY_EVENT_SINGLE_STEP), C(HVM_PARAM_BUFIOREQ_EVTCHN),
    C(HVM_PARAM_PAGING_RING_PFN), C(HVM_PARAM_MONITOR_RING_PFN),
    C(HVM_PARAM_SHARING_RING_PFN), C(HVM_PARAM_MEMORY_EVENT_MSR),
    C(HVM_PARAM_TRIPLE_FAULT_REASON), C(HVM_PARAM_IOREQ_SERVER_PFN),
    C(HVM_PARAM_NR_IOREQ_SERVER_PAGES), C(HVM_PARAM_VM_GENERATION_ID_ADDR),
    C(HVM_PARAM_ALTP2M), C(HVM_PARAM_X87_FIP_WIDTH), C(HVM_PARAM_VM86_TSS_SIZED),
    C(HVM_PARAM_MCA_CAP), C(HVM_NR_PARAMS),
    C(HVM_PARAM_CALLBACK_IRQ_TYPE_MASK), C(HVM_PARAM_CALLBACK_TYPE_GSI),
    C(HVM_PARAM_CALLBACK_TYPE_PCI_INTX), C(HVM_PARAM_CALLBACK_TYPE_VECTOR),

    /* memory.h */
    C(XENMEM_increase_reservation), C(XENMEM_decrease_reservation),
    C(XENMEM_maximum_ram_page), C(XENMEM_current_reservation),
    C(XENMEM_maximum_reservation), C(XENMEM_populate_physmap), C(XENMEM_add_to_physmap),
    C(XENMEM_memory_map), C(XENMEM_machine_memory_map), C(XENMEM_maximum_gpfn),
    C(XENMEM_remove_from_physmap), C(XENMEM_add_to_physmap_batch),
    C(XENMAPSPACE_shared_info), C(XENMAPSPACE_grant_table), C(XENMAPSPACE_gmfn),
    C(XENMAPSPACE_gmfn_range), C(XENMAPSPACE_gmfn_foreign), C(XENMAPSPACE_dev_mmio),
    C(XENMAPIDX_grant_table_status),

    /* sched.h */
    C(SCHEDOP_yield), C(SCHEDOP_block), C(SCHEDOP_shutdown), C(SCHEDOP_poll),
    C(SCHEDOP_remote_shutdown), C(SCHEDOP_shutdown_code), C(SCHEDOP_watchdog),
    C(SCHEDOP_pin_override),
    C(SHUTDOWN_poweroff), C(SHUTDOWN_reboot), C(SHUTDOWN_suspend), C(SHUTDOWN_crash),
    C(SHUTDOWN_watchdog), C(SHUTDOWN_soft_reset), C(SHUTDOWN_MAX),

    /* event_channel.h */
    C(EVTCHNOP_bind_interdomain), C(EVTCHNOP_bind_virq), C(EVTCHNOP_bind_pirq),
    C(EVTCHNOP_close), C(EVTCHNOP_send), C(EVTCHNOP_status), C(EVTCHNOP_alloc_unbound),
    C(EVTCHNOP_bind_ipi), C(EVTCHNOP_bind_vcpu), C(EVTCHNOP_unmask), C(EVTCHNOP_reset),
    C(EVTCHNOP_init_control), C(EVTCHNOP_expand_array), C(EVTCHNOP_set_priority),
    /* EVTCHNOP_reset_cont (14) is defined only under __XEN__. */

    /* arch-x86/cpuid.h */
    C(XEN_CPUID_FIRST_LEAF), C(XEN_CPUID_SIGNATURE_EBX), C(XEN_CPUID_SIGNATURE_ECX),
    C(XEN_CPUID_SIGNATURE_EDX), C(XEN_CPUID_MAX_NUM_LEAVES),
    C(XEN_HVM_CPUID_VCPU_ID_PRESENT), C(XEN_HVM_CPUID_DOMID_PRESENT),

    /* arch-x86/hvm/start_info.h */
    C(XEN_HVM_START_MAGIC_VALUE),
    C(XEN_HVM_MEMMAP_TYPE_RAM), C(XEN_HVM_MEMMAP_TYPE_RESERVED), C(XEN_HVM_MEMMAP_TYPE_ACPI),
    C(XEN_HVM_MEMMAP_TYPE_NVS), C(XEN_HVM_MEMMAP_TYPE_UNUSABLE),
    C(XEN_HVM_MEMMAP_TYPE_DISABLED), C(XEN_HVM_MEMMAP_TYPE_PMEM),

    /* platform.h */
    C(XENPF_INTERFACE_VERSION), C(XENPF_settime32), C(XENPF_settime64), C(XENPF_add_memtype),
    C(XENPF_del_memtype), C(XENPF_read_memtype), C(XENPF_microcode_update),
    C(XENPF_platform_quirk), C(XENPF_efi_runtime_call), C(XENPF_firmware_info),
    C(XENPF_enter_acpi_sleep), C(XENPF_change_freq), C(XENPF_getidletime),
    C(XENPF_set_processor_pminfo), C(XENPF_get_cpuinfo), C(XENPF_get_cpu_version),
    C(XENPF_cpu_online), C(XENPF_cpu_offline), C(XENPF_cpu_hotadd), C(XENPF_mem_hotadd),
    C(XENPF_core_parking), C(XENPF_resource_op), C(XENPF_get_symbol),
    C(XEN_PCPU_FLAGS_ONLINE), C(XEN_PCPU_FLAGS_INVALID), C(VIRQ_PCPU_STATE),

    /* errno.h (the guest-visible values, as enum xen_errno) */
    C(XEN_EPERM), C(XEN_ENOENT), C(XEN_ESRCH), C(XEN_EIO), C(XEN_ENXIO), C(XEN_E2BIG),
    C(XEN_ENOEXEC), C(XEN_EBADF), C(XEN_ECHILD), C(XEN_EAGAIN), C(XEN_EWOULDBLOCK),
    C(XEN_ENOMEM), C(XEN_EACCES), C(XEN_EFAULT), C(XEN_EBUSY), C(XEN_EEXIST), C(XEN_EXDEV),
    C(XEN_ENODEV), C(XEN_ENOTDIR), C(XEN_EISDIR), C(XEN_EINVAL), C(XEN_ENFILE), C(XEN_EMFILE),
    C(XEN_ENOSPC), C(XEN_EROFS), C(XEN_EMLINK), C(XEN_EDOM), C(XEN_ERANGE), C(XEN_EDEADLK),
    C(XEN_EDEADLOCK), C(XEN_ENAMETOOLONG), C(XEN_ENOLCK), C(XEN_ENOSYS), C(XEN_ENOTEMPTY),
    C(XEN_ENODATA), C(XEN_ETIME), C(XEN_EBADMSG), C(XEN_EOVERFLOW), C(XEN_EILSEQ),
    C(XEN_ENOTSOCK), C(XEN_EMSGSIZE), C(XEN_EOPNOTSUPP), C(XEN_EADDRINUSE),
    C(XEN_EADDRNOTAVAIL), C(XEN_ENOBUFS), C(XEN_EISCONN), C(XEN_ENOTCONN), C(XEN_ETIMEDOUT),
    C(XEN_ECONNREFUSED),
};

/* ---- the full errno list, via errno.h's own X-macro -------------------------------------- */

struct cxl_errno {
    const char *name;
    long value;
};
/* __XEN__ only for this re-inclusion, so the list also carries EINTR and ERESTART, which Xen
 * uses internally (and Petrel may too) but never hands to a guest. */
#define __XEN__ 1
#define XEN_ERRNO(name, value) { #name, value },
static const struct cxl_errno errnos[] = {
#include <xen/errno.h>
};
#undef __XEN__

/* ---- exported lookups -------------------------------------------------------------------- */

long cxl_sizeof(const char *name) { return (long)lookup(sizes, COUNT(sizes), name); }

long cxl_offsetof(const char *struct_field) {
    const struct cxl_field *f = field(struct_field);
    return f ? f->offset : -1;
}

long cxl_fieldsize(const char *struct_field) {
    const struct cxl_field *f = field(struct_field);
    return f ? f->size : -1;
}

long long cxl_const(const char *name) { return lookup(constants, COUNT(constants), name); }

int cxl_errno_count(void) { return (int)COUNT(errnos); }

const char *cxl_errno_name(int index) {
    return index >= 0 && index < (int)COUNT(errnos) ? errnos[index].name : NULL;
}

long cxl_errno_value(int index) {
    return index >= 0 && index < (int)COUNT(errnos) ? errnos[index].value : -1;
}
