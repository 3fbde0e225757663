// TDH.MNG.KEY.FREEID (leaf 20): release the HKID; the TD is in TEARDOWN and only
// TDH.PHYMEM.PAGE.RECLAIM works on its pages.
#include "tdx/module/leaves.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus MngKeyFreeid(ModuleState& m, Regs& r) {
  TdAccess access;
  if (TdxStatus s = access.LockTdr(m, r.rcx, kOpRcx, LockMode::kExclusive); s != TDX_SUCCESS)
    return s;
  Td& td = access.td();
  Lifecycle lc = td.lifecycle.load(std::memory_order_acquire);
  // A TD whose key was never configured may be torn down directly.
  if (lc != Lifecycle::kBlocked && lc != Lifecycle::kNotConfigured)
    return TDX_LIFECYCLE_STATE_INCORRECT;
  td.lifecycle.store(Lifecycle::kTeardown, std::memory_order_release);
  MutexLock l(&m.mu);
  m.hkid_in_use[td.hkid] = false;
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
