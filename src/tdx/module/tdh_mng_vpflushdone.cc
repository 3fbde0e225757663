// TDH.MNG.VPFLUSHDONE (leaf 19): every vCPU is flushed; the TD is blocked for teardown and
// its memory leaves fail from now on.
#include "tdx/module/leaves.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus MngVpflushdone(ModuleState& m, Regs& r) {
  TdAccess access;
  if (TdxStatus s = access.LockTdr(m, r.rcx, kOpRcx, LockMode::kExclusive); s != TDX_SUCCESS)
    return s;
  Td& td = access.td();
  if (td.lifecycle.load(std::memory_order_acquire) != Lifecycle::kKeysConfigured)
    return TDX_TD_KEYS_NOT_CONFIGURED;
  td.lifecycle.store(Lifecycle::kBlocked, std::memory_order_release);
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
