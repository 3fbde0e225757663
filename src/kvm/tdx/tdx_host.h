// TdxHost: the host kernel's TDX state (arch/x86/virt/vmx/tdx): the initialized module
// over the machine's memory and the allocator of private KeyIDs (HKIDs) for TDs.
#pragma once

#include <bitset>
#include <memory>

#include "base/mutex.h"
#include "base/result.h"
#include "host/arena.h"
#include "tdx/module/tdx_module.h"

namespace cocomem::kvm::tdx {

class TdxHost {
 public:
  static Result<std::unique_ptr<TdxHost>> Create(host::Arena& arena);

  ::cocomem::tdx::TdxModule& module() const { return *module_; }
  // tdx_guest_keyid_alloc(): ENOSPC when every private KeyID is taken (like ida_alloc).
  Result<uint16_t> AllocHkid() EXCLUDES(mu_);
  void FreeHkid(uint16_t hkid) EXCLUDES(mu_);

 private:
  explicit TdxHost(std::unique_ptr<::cocomem::tdx::TdxModule> module) : module_(std::move(module)) {}
  const std::unique_ptr<::cocomem::tdx::TdxModule> module_;
  Mutex mu_;
  std::bitset<1024> used_ GUARDED_BY(mu_);
};

}  // namespace cocomem::kvm::tdx
