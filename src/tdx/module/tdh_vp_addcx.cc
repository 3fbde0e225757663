// TDH.VP.ADDCX (leaf 4): add one of the kTdvpxPages TDCX pages of a vCPU.
#include <cstring>

#include "tdx/module/hpa_checks.h"
#include "tdx/module/leaves.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus VpAddcx(ModuleState& m, Regs& r) {
  TryGuard<uint16_t> tdvpr_lock;
  Vcpu* vcpu = nullptr;
  if (TdxStatus s = LockTdvpr(m, r.rdx, kOpRdx, LockMode::kExclusive, &tdvpr_lock, &vcpu);
      s != TDX_SUCCESS)
    return s;
  Td& td = *vcpu->td;
  TryGuard<uint16_t> tdr_lock;  // implicit shared TDR lock
  if (!tdr_lock.Acquire(m.pamt->At(0, PfnOf(td.tdr)).lock, LockMode::kShared))
    return WithOperand(TDX_OPERAND_BUSY, kOpTdr);
  if (TdxStatus s = CheckBuildState(td); s != TDX_SUCCESS) return s;
  const unsigned n = vcpu->num_tdvpx.load(std::memory_order_relaxed);
  if (n >= kTdvpxPages) return WithOperand(TDX_OPERAND_INVALID, kOpRcx);
  PamtHold page;
  if (TdxStatus s = CheckAndLockFreeHpa(m, r.rcx, 0, kOpRcx, &page); s != TDX_SUCCESS) return s;

  std::memset(m.arena.HardwareView(PfnOf(Hpa(r.rcx))), 0, kPageSize);
  page.entry()->Set(PageType::kTdcx, static_cast<uint32_t>(PfnOf(td.tdr).value()), 0);
  td.chldcnt.fetch_add(1, std::memory_order_relaxed);
  td.vcpu_pages.fetch_add(1, std::memory_order_relaxed);
  vcpu->num_tdvpx.store(n + 1, std::memory_order_release);
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
