/*
 * Tables of sizes, offsets and constants generated from layout_list.inc, one per header.
 * Plain C declarations: the system table is built by a C translation unit (layout_system.c).
 * Deliberately includes neither KVM header, since the two cannot share a translation unit.
 */
#ifndef COCOMEM_TESTS_UAPI_LAYOUT_TABLE_H_
#define COCOMEM_TESTS_UAPI_LAYOUT_TABLE_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ccm_uapi_layout_entry {
  const char* name; /* e.g. "offsetof(kvm_run.exit_reason)" or "KVM_EXIT_HLT" */
  uint64_t value;
};

/* Built against <cocomem/kvm.h>, as C++ (layout_cocomem.cc). */
extern const struct ccm_uapi_layout_entry ccm_uapi_cocomem_layout[];
extern const size_t ccm_uapi_cocomem_layout_count;

/* Built against the host's <linux/kvm.h> and <linux/kvm_para.h>, as C (layout_system.c). */
extern const struct ccm_uapi_layout_entry ccm_uapi_system_layout[];
extern const size_t ccm_uapi_system_layout_count;

#ifdef __cplusplus
}
#endif

#endif /* COCOMEM_TESTS_UAPI_LAYOUT_TABLE_H_ */
