// What guest_memfd needs to know about the VM that creates it. The KVM layer fills this
// in; guest_memfd sits below KVM and never sees a Vm.
#pragma once

#include <cstdint>

namespace cocomem::gmem {

struct VmTraits {
  uint64_t supported_flags = 0;       // KVM_CAP_GUEST_MEMFD_FLAGS for this VM
  bool has_private_mem = false;       // kvm_arch_has_private_mem()
  bool in_place_conversion = false;   // gmem_in_place_conversion when the VM was created
  uint64_t supported_attributes = 0;  // kvm_supported_mem_attributes()
};

}  // namespace cocomem::gmem
