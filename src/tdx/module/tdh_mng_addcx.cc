// TDH.MNG.ADDCX (leaf 1): add one of the kTdcsPages TDCS pages. Page 3 becomes the root of
// the Secure EPT and is filled with FREE entries (tdx.md §1.1).
#include <cstring>

#include "tdx/module/hpa_checks.h"
#include "tdx/module/leaves.h"
#include "tdx/module/sept_walk.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus MngAddcx(ModuleState& m, Regs& r) {
  TdAccess access;
  if (TdxStatus s = access.LockTdr(m, r.rdx, kOpRdx, LockMode::kExclusive); s != TDX_SUCCESS)
    return s;
  Td& td = access.td();
  if (td.fatal.load(std::memory_order_relaxed)) return TDX_TD_FATAL;
  if (td.lifecycle.load(std::memory_order_acquire) != Lifecycle::kKeysConfigured)
    return TDX_TD_KEYS_NOT_CONFIGURED;
  const unsigned n = td.num_tdcx.load(std::memory_order_relaxed);
  if (n >= kTdcsPages) return WithOperand(TDX_OPERAND_INVALID, kOpRcx);
  PamtHold page;
  if (TdxStatus s = CheckAndLockFreeHpa(m, r.rcx, 0, kOpRcx, &page); s != TDX_SUCCESS) return s;

  const Pfn pfn = PfnOf(Hpa(r.rcx));
  if (n == kSeptRootTdcsIndex) {
    uint64_t* t = m.Table(pfn);
    for (unsigned i = 0; i < sept::kEntries; ++i)
      EntryRef(t + i).store(sept::kFreeRaw, std::memory_order_relaxed);
  } else {
    std::memset(m.arena.HardwareView(pfn), 0, kPageSize);
  }
  page.entry()->Set(PageType::kTdcx, static_cast<uint32_t>(PfnOf(td.tdr).value()), 0);
  td.tdcx_pfn[n].store(pfn.value(), std::memory_order_relaxed);
  td.chldcnt.fetch_add(1, std::memory_order_relaxed);
  td.num_tdcx.store(n + 1, std::memory_order_release);
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
