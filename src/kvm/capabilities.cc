#include "kvm/capabilities.h"

#include <cocomem/kvm.h>

#include <thread>

#include "kvm/params.h"
#include "kvm/vm.h"
#include "kvm/vm_type.h"

namespace cocomem::kvm {

uint64_t SupportedGmemFlags(const Params& params, const Vm* vm) {
  uint64_t flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_HUGETLB;
  if (!vm || !vm->has_private_mem() || params.gmem_in_place_conversion) {
    flags |= GUEST_MEMFD_FLAG_INIT_SHARED;
  }
  if (!vm || (vm->type() != VmType::kTdx && vm->type() != VmType::kSnp)) {
    flags |= GUEST_MEMFD_FLAG_NO_DIRECT_MAP;
  }
  return flags;
}

uint64_t SupportedMemAttributes(const Vm* vm) {
  return (!vm || vm->has_private_mem()) ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
}

long CheckExtension(const Params& params, const Vm* vm, long cap) {
  switch (cap) {
    case KVM_CAP_VM_TYPES:
      return static_cast<long>(kSupportedVmTypes);
    case KVM_CAP_GUEST_MEMFD:
    case KVM_CAP_USER_MEMORY:
    case KVM_CAP_USER_MEMORY2:
      return 1;
    case KVM_CAP_NR_MEMSLOTS:
      return kUserMemSlots;
    case KVM_CAP_MULTI_ADDRESS_SPACE:
      return vm ? vm->nr_address_spaces() : 2;
    case KVM_CAP_MEMORY_FAULT_INFO:
    case KVM_CAP_PRE_FAULT_MEMORY:
      return 1;
    case KVM_CAP_EXIT_HYPERCALL:
      return long{1} << KVM_HC_MAP_GPA_RANGE;
    case KVM_CAP_MAX_VCPUS:
    case KVM_CAP_MAX_VCPU_ID:
      return kMaxVcpuIds;
    case KVM_CAP_NR_VCPUS:
      return static_cast<long>(std::thread::hardware_concurrency());
    case KVM_CAP_MEMORY_ATTRIBUTES:
      // VM-level attributes: only without in-place conversion (then guest_memfd has them).
      return params.gmem_in_place_conversion ? 0 : static_cast<long>(SupportedMemAttributes(vm));
    case KVM_CAP_GUEST_MEMFD_FLAGS:
      return static_cast<long>(SupportedGmemFlags(params, vm));
    case KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES:
      // [CONV-v8]: the attributes guest_memfd tracks itself, iff in-place conversion is on.
      return params.gmem_in_place_conversion ? static_cast<long>(SupportedMemAttributes(vm)) : 0;
    default:
      return 0;
  }
}

}  // namespace cocomem::kvm
