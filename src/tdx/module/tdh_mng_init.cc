// TDH.MNG.INIT (leaf 21): apply TD_PARAMS (given by SetTdParams), start the TLB epoch at 1
// and the MRTD hash; OP_STATE becomes INITIALIZED.
#include "tdx/module/leaves.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus MngInit(ModuleState& m, Regs& r) {
  TdAccess access;
  if (TdxStatus s = access.LockTdr(m, r.rcx, kOpRcx, LockMode::kExclusive); s != TDX_SUCCESS)
    return s;
  Td& td = access.td();
  if (TdxStatus s = CheckBuildState(td); s != TDX_SUCCESS) return s;
  if (td.op_state.load(std::memory_order_acquire) != kOpUninitialized)
    return TDX_OP_STATE_INCORRECT;
  TdParams params;
  {
    MutexLock l(&m.mu);
    if (auto it = m.pending_params.find(r.rcx); it != m.pending_params.end()) params = it->second;
  }
  if (params.gpaw != 48 && params.gpaw != 52) return WithOperand(TDX_OPERAND_INVALID, kOpRdx);
  {
    MutexLock l(&m.mu);
    m.pending_params.erase(r.rcx);
  }
  td.params = params;
  td.pwl = params.gpaw == 52 ? 4 : 3;
  td.shared_bit = uint64_t{1} << (params.gpaw - 1);
  td.sept_root = Pfn(td.tdcx_pfn[kSeptRootTdcsIndex].load(std::memory_order_relaxed));
  td.td_epoch.store(1, std::memory_order_relaxed);
  td.measurement = Measurement();
  td.op_state.store(kOpInitialized, std::memory_order_release);
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
