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

/* ---- TDX guests (KVM_X86_TDX_VM) ------------------------------------------------------
 * A TD accesses private memory with the shared bit of the GPA clear and shared memory
 * with it set (bit 47 with GPAW 48, the default; bit 51 with GPAW 52). Private pages
 * added at runtime must be accepted before use: touching an unaccepted page is fatal for
 * the TD (KVM_RUN fails with EIO when SEPT_VE_DISABLE is set, else the unhandled #VE
 * shuts the guest down: KVM_EXIT_SHUTDOWN). On other VM types the mask is 0. */
uint64_t ccm_guest_shared_gpa_mask(struct ccm_guest *g);
/* TDG.MEM.PAGE.ACCEPT of the page at gpa (shared bit clear), level 0 = 4K, 1 = 2M.
 * Returns the TDCALL status: 0, TDX_PAGE_ALREADY_ACCEPTED (0x00000B0A00000000 | level),
 * TDX_PAGE_SIZE_MISMATCH (0xC0000B0B00000000 | level), TDX_OPERAND_INVALID | RCX, ...
 * EPT violations on the way exit to KVM, which maps the page (PAGE.AUG), and the TDCALL
 * is re-executed, as on hardware. */
uint64_t ccm_guest_tdx_accept(struct ccm_guest *g, uint64_t gpa, int level);
/* TDVMCALL MapGPA: asks the host to convert [gpa, gpa + size) to shared (shared bit set in
 * gpa) or private (clear). Exits to userspace as KVM_EXIT_HYPERCALL with
 * nr = KVM_HC_MAP_GPA_RANGE, args[0] = gpa without the shared bit, args[1] = pages,
 * args[2] = KVM_MAP_GPA_RANGE_DECRYPTED/ENCRYPTED | KVM_MAP_GPA_RANGE_PAGE_SZ_4K; the
 * host's run->hypercall.ret becomes the status. Returns the TDVMCALL status: 0 success,
 * 1 retry (host answered -EBUSY), 0x8000000000000000 invalid operand,
 * 0x8000000000000002 alignment error. */
uint64_t ccm_guest_tdx_map_gpa(struct ccm_guest *g, uint64_t gpa, uint64_t size);
/* TDG.MR.REPORT: copies the TD's MRTD (the TDREPORT field) to mrtd; returns the status. */
uint64_t ccm_guest_tdx_get_mrtd(struct ccm_guest *g, uint8_t mrtd[48]);

#ifdef __cplusplus
}
#endif

#endif /* COCOMEM_GUEST_H */
