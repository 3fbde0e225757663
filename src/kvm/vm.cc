#include "kvm/vm.h"

#include "base/process.h"

#include "kvm/capabilities.h"

namespace cocomem::kvm {

Vm::Vm(std::shared_ptr<Kvm> kvm, VmType type, const Params& params)
    : kvm_(std::move(kvm)), type_(type), params_(params), creator_pid_(CurrentPid()) {}

long Vm::CheckExtension(long cap) const { return kvm::CheckExtension(params_, this, cap); }

gmem::VmTraits Vm::GmemTraits() const {
  return gmem::VmTraits{
      .supported_flags = SupportedGmemFlags(params_, this),
      .has_private_mem = has_private_mem(),
      .in_place_conversion = params_.gmem_in_place_conversion,
      .supported_attributes = SupportedMemAttributes(this),
  };
}

}  // namespace cocomem::kvm
