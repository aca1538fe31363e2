#ifndef CXENLAYOUT_H
#define CXENLAYOUT_H

#include <stddef.h>

/*
 * Layout facts from Xen's own public headers (/usr/include/xen, Xen 4.17, x86-64), compiled by C,
 * so XenABITests can compare XenABI's hand-written sizes, offsets and constants against them.
 * Every lookup returns -1 for a name it does not know; the Swift tests treat -1 as a failure.
 */

/* sizeof(struct NAME), e.g. "hvm_start_info". */
long cxl_sizeof(const char *name);
/* offsetof(struct S, F) for "S.F", e.g. "hvm_start_info.memmap_paddr". */
long cxl_offsetof(const char *struct_field);
/* sizeof(((struct S *)0)->F) for "S.F". */
long cxl_fieldsize(const char *struct_field);
/* The value of a constant by its C name, e.g. "__HYPERVISOR_memory_op", "XEN_EINVAL". */
long long cxl_const(const char *name);
/* HVM_PARAM_CALLBACK_TYPE_PPI, which params.h defines only for Arm guests. */
long long cxl_arm_callback_type_ppi(void);

/* Every Xen errno in xen/errno.h (including the hypervisor-internal EINTR and ERESTART),
 * in header order, without the XEN_ prefix ("EPERM"). Index out of range: NULL / -1. */
int cxl_errno_count(void);
const char *cxl_errno_name(int index);
long cxl_errno_value(int index);

#endif
