/*
 * params.h defines HVM_PARAM_CALLBACK_TYPE_PPI only when compiled for Arm (it shares the value 2
 * with x86's HVM_PARAM_CALLBACK_TYPE_VECTOR). Read it by compiling just that header as if for
 * AArch64; params.h and what it includes are plain #defines and structs, so nothing else changes.
 */
#include <stdint.h>
#undef __x86_64__
#undef __i386__
#define __aarch64__ 1
#include <xen/hvm/params.h>

#include "CXenLayout.h"

long long cxl_arm_callback_type_ppi(void) { return HVM_PARAM_CALLBACK_TYPE_PPI; }
