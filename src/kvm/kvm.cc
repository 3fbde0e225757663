#include "kvm/kvm.h"

#include <cerrno>

#include "kvm/capabilities.h"

namespace cocomem::kvm {

Result<std::shared_ptr<Kvm>> Kvm::Create(const host::ArenaOptions& arena_options) {
  ASSIGN_OR_RETURN(auto arena, host::Arena::Create(arena_options));
  return std::shared_ptr<Kvm>(new Kvm(std::move(arena)));
}

Status Kvm::SetParam(std::string_view name, std::string_view value) {
  MutexLock l(&mu_);
  return params_.Set(name, value);
}

Params Kvm::params() const {
  MutexLock l(&mu_);
  return params_;
}

Result<std::shared_ptr<Vm>> Kvm::CreateVm(unsigned long type) {
  std::optional<VmType> t = SupportedVmType(type);
  if (!t) return Error(EINVAL);
  tdx::TdxHost* tdx_host = nullptr;
  if (*t == VmType::kTdx) {
    Result<tdx::TdxHost*> h = this->tdx_host();
    if (!h.ok()) return Error(EINVAL);  // TDX unavailable, as without the module
    tdx_host = *h;
  }
  auto vm = std::make_shared<Vm>(shared_from_this(), *t, params(), tdx_host);
  vms_created_.Add();
  return vm;
}

Result<tdx::TdxHost*> Kvm::tdx_host() {
  MutexLock l(&mu_);
  if (!tdx_host_) {
    ASSIGN_OR_RETURN(tdx_host_, tdx::TdxHost::Create(*arena_));
  }
  return tdx_host_.get();
}

long Kvm::CheckExtension(long cap) const { return kvm::CheckExtension(params(), nullptr, cap); }

}  // namespace cocomem::kvm
