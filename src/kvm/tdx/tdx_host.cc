#include "kvm/tdx/tdx_host.h"

#include <cerrno>

namespace cocomem::kvm::tdx {

Result<std::unique_ptr<TdxHost>> TdxHost::Create(host::Arena& arena) {
  ASSIGN_OR_RETURN(auto module, ::cocomem::tdx::TdxModule::Create(arena));
  return std::unique_ptr<TdxHost>(new TdxHost(std::move(module)));
}

Result<uint16_t> TdxHost::AllocHkid() {
  const auto& c = module_->config();
  const unsigned end = std::min<unsigned>(1u << c.keyid_bits, 1024);
  MutexLock l(&mu_);
  for (unsigned k = c.first_private_hkid; k < end; ++k) {
    if (!used_[k]) {
      used_[k] = true;
      return static_cast<uint16_t>(k);
    }
  }
  return Error(ENOSPC);
}

void TdxHost::FreeHkid(uint16_t hkid) {
  MutexLock l(&mu_);
  used_[hkid] = false;
}

}  // namespace cocomem::kvm::tdx
