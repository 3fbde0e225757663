/*
 * The layout table as the build host's <linux/kvm.h> (Debian 12: 6.1 headers) defines it.
 *
 * This one is C on purpose: the kernel ABI is defined by the C layout, and 6.1's
 * <linux/stddef.h> gets C++ wrong.  Its __DECLARE_FLEX_ARRAY wraps the array after an empty
 * struct, which is 0 bytes in GNU C but 1 byte in C++, so in C++ kvm_msrs, kvm_cpuid2,
 * kvm_irq_routing etc. grow by 4-8 bytes and the _IOC size bits of KVM_GET_MSRS,
 * KVM_SET_CPUID2 and 14 other ioctls come out wrong.  (Fixed upstream after 6.1.)
 */
#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <stddef.h>
#include <stdint.h>

#include "layout_table.h"

#define UAPI_SIZE(type) {"sizeof(" #type ")", sizeof(struct type)},
#define UAPI_OFFSET(type, member) \
  {"offsetof(" #type "." #member ")", offsetof(struct type, member)},
#define UAPI_FIELD(type, member) \
  UAPI_OFFSET(type, member){"sizeof(" #type "." #member ")", sizeof(((struct type*)0)->member)},
#define UAPI_CONST(name) {#name, (uint64_t)(name)},

const struct ccm_uapi_layout_entry ccm_uapi_system_layout[] = {
#include "layout_list.inc"
};
const size_t ccm_uapi_system_layout_count =
    sizeof(ccm_uapi_system_layout) / sizeof(ccm_uapi_system_layout[0]);
