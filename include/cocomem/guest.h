/* cocomem guest API: what guest code (a C function run on a vCPU, written like a KVM
 * selftest's guest code) may do. Attach it with the CCM_VCPU_SET_GUEST ioctl on the vCPU
 * fd; every KVM_RUN then runs it until it exits to the host.
 *
 * Memory accesses go through the VM's second-level page tables: a miss runs KVM's fault
 * path on the guest thread, and anything KVM hands to userspace (a memory-fault exit,
 * EHWPOISON, MMIO) makes KVM_RUN return on the host; the next KVM_RUN retries the access.
 * On a software-protected VM an access is private exactly when its GPA's attribute is.
 */
#ifndef COCOMEM_GUEST_H
#define COCOMEM_GUEST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ccm_guest;

void ccm_guest_read(struct ccm_guest *g, uint64_t gpa, void *buf, size_t len);
void ccm_guest_write(struct ccm_guest *g, uint64_t gpa, const void *buf, size_t len);
uint64_t ccm_guest_read64(struct ccm_guest *g, uint64_t gpa);
void ccm_guest_write64(struct ccm_guest *g, uint64_t gpa, uint64_t value);

/* KVM_EXIT_IO: an 8-byte OUT of `value` to CCM_SYNC_PORT (the selftests' ucall). */
void ccm_guest_sync(struct ccm_guest *g, uint64_t value);
/* A hypercall. KVM_HC_MAP_GPA_RANGE exits to userspace as KVM_EXIT_HYPERCALL when the VM
 * enabled it with KVM_CAP_EXIT_HYPERCALL; the host's run->hypercall.ret is returned.
 * Anything else returns -KVM_ENOSYS (-1000). */
uint64_t ccm_guest_hypercall(struct ccm_guest *g, uint64_t nr, uint64_t a0, uint64_t a1,
                             uint64_t a2);
/* KVM_EXIT_HLT. Returning from the guest function halts for good. */
void ccm_guest_halt(struct ccm_guest *g);
int ccm_guest_vcpu_id(struct ccm_guest *g);

#ifdef __cplusplus
}
#endif

#endif /* COCOMEM_GUEST_H */
