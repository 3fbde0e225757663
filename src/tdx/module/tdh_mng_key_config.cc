// TDH.MNG.KEY.CONFIG (leaf 8): program the TD's key; the TD becomes usable.
#include "tdx/module/leaves.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus MngKeyConfig(ModuleState& m, Regs& r) {
  TdAccess access;
  if (TdxStatus s = access.LockTdr(m, r.rcx, kOpRcx, LockMode::kExclusive); s != TDX_SUCCESS)
    return s;
  Td& td = access.td();
  if (td.lifecycle.load(std::memory_order_acquire) != Lifecycle::kNotConfigured)
    return TDX_LIFECYCLE_STATE_INCORRECT;
  td.lifecycle.store(Lifecycle::kKeysConfigured, std::memory_order_release);
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
