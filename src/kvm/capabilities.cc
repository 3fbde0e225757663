#include "kvm/capabilities.h"

#include <cocomem/kvm.h>

#include "kvm/params.h"
#include "kvm/vm.h"
#include "kvm/vm_type.h"

namespace cocomem::kvm {

long CheckExtension(const Params& params, const Vm* vm, long cap) {
  (void)params;
  (void)vm;
  switch (cap) {
    case KVM_CAP_VM_TYPES:
      return static_cast<long>(kSupportedVmTypes);
    default:
      return 0;
  }
}

}  // namespace cocomem::kvm
