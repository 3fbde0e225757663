/*
 * <cocomem/kvm.h> from C11: built with -std=c11 -Wall -Wextra -Werror -pedantic, so any C++-ism
 * or GNU extension leaking out of the header fails the build.  Running it re-checks a few
 * values at run time (the header already static-asserts its layouts).
 */
#include <cocomem/kvm.h>

/* Both must be harmless after it: kvm.h becomes a no-op, kvm_para.h redefines identically. */
#include <linux/kvm.h>
#include <linux/kvm_para.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                              \
  do {                                                           \
    if (!(cond)) {                                               \
      fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                \
    }                                                            \
  } while (0)

_Static_assert(sizeof(struct kvm_run) == 2352, "kvm_run size");
_Static_assert(offsetof(struct kvm_run, memory_fault.gpa) == 40, "memory_fault.gpa");

static void guest_entry(struct ccm_guest* guest, void* arg) {
  (void)guest;
  (void)arg;
}

int main(void) {
  struct kvm_userspace_memory_region2 region;
  struct kvm_create_guest_memfd gmem;
  struct kvm_memory_attributes2 attrs;
  struct kvm_tdx_cmd cmd;
  struct kvm_run run;
  struct ccm_vcpu_guest vg;
  unsigned long ioctls[] = {KVM_SET_USER_MEMORY_REGION2, KVM_CREATE_GUEST_MEMFD,
                            KVM_SET_MEMORY_ATTRIBUTES2, KVM_PRE_FAULT_MEMORY, CCM_VCPU_SET_GUEST};

  memset(&region, 0, sizeof(region));
  region.flags = KVM_MEM_GUEST_MEMFD;
  region.guest_memfd = 3;
  CHECK(region.flags == 4);

  memset(&gmem, 0, sizeof(gmem));
  gmem.size = 2u << 20;
  gmem.flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_HUGETLB;
  gmem.page_order = 9;
  CHECK(gmem.flags == 9);

  memset(&attrs, 0, sizeof(attrs));
  attrs.offset = 4096; /* anonymous union member, C11 */
  attrs.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE;
  CHECK(attrs.address == 4096);

  memset(&cmd, 0, sizeof(cmd));
  cmd.id = KVM_TDX_INIT_MEM_REGION;
  cmd.flags = (__u32)KVM_TDX_MEASURE_MEMORY_REGION;
  CHECK(cmd.id == 3 && cmd.flags == 1);

  memset(&run, 0, sizeof(run));
  run.exit_reason = KVM_EXIT_MEMORY_FAULT;
  run.memory_fault.flags = KVM_MEMORY_EXIT_FLAG_PRIVATE;
  run.hypercall.longmode = 1;
  CHECK(run.hypercall.flags == KVM_EXIT_HYPERCALL_LONG_MODE);
  run.kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
  run.s.regs.regs.rip = 0xfff0;
  CHECK(run.exit_reason == 39 && run.memory_fault.flags == 8);

  CHECK(KVM_HC_MAP_GPA_RANGE == 12 && KVM_MAP_GPA_RANGE_ENCRYPTED == 16);

  vg.fn = guest_entry;
  vg.arg = NULL;
  vg.fn(NULL, vg.arg);

  CHECK(ioctls[0] == 0x40A0AE49ul && ioctls[1] == 0xC040AED4ul && ioctls[2] == 0xC080AED2ul &&
        ioctls[3] == 0xC040AED5ul && ioctls[4] == 0x4010AEF0ul);

  if (failures == 0) printf("cocomem/kvm.h from C11: ok\n");
  return failures == 0 ? 0 : 1;
}
