// TDH.VP.INIT (leaf 22): the vCPU has all its pages and may be entered once the TD runs.
#include "tdx/module/leaves.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus VpInit(ModuleState& m, Regs& r) {
  TryGuard<uint16_t> tdvpr_lock;
  Vcpu* vcpu = nullptr;
  if (TdxStatus s = LockTdvpr(m, r.rcx, kOpRcx, LockMode::kExclusive, &tdvpr_lock, &vcpu);
      s != TDX_SUCCESS)
    return s;
  Td& td = *vcpu->td;
  TryGuard<uint16_t> tdr_lock;
  if (!tdr_lock.Acquire(m.pamt->At(0, PfnOf(td.tdr)).lock, LockMode::kShared))
    return WithOperand(TDX_OPERAND_BUSY, kOpTdr);
  if (TdxStatus s = CheckBuildState(td); s != TDX_SUCCESS) return s;
  if (!td.Initialized()) return TDX_OP_STATE_INCORRECT;
  if (vcpu->num_tdvpx.load(std::memory_order_acquire) != kTdvpxPages)
    return TDX_TDCS_NOT_ALLOCATED;
  if (vcpu->initialized.load(std::memory_order_relaxed)) return TDX_OP_STATE_INCORRECT;
  vcpu->initialized.store(true, std::memory_order_release);
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
