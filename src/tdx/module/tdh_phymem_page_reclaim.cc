// TDH.PHYMEM.PAGE.RECLAIM (leaf 28, tdx.md §2.13): take back any page of a torn-down TD
// (guest page at its size, S-EPT table, TDCX, TDVPR) and, last, its TDR.
#include "tdx/module/hpa_checks.h"
#include "tdx/module/leaves.h"
#include "tdx/module/sept_state.h"

namespace cocomem::tdx::leaf {

TdxStatus PhymemPageReclaim(ModuleState& m, Regs& r) {
  const uint64_t pa = r.rcx;
  if (TdxStatus s = CheckHpaOperand(m, pa, 0, kOpRcx); s != TDX_SUCCESS) return s;
  const Pfn pfn = PfnOf(Hpa(pa));
  const unsigned size = m.pamt->LeafSize(pfn);
  PamtHold page;
  if (m.pamt->Lock(pfn, size, LockMode::kExclusive, &page) != PamtLockResult::kOk ||
      m.pamt->LeafSize(pfn) != size)
    return WithOperand(TDX_OPERAND_BUSY, kOpRcx);
  PamtEntry& e = *page.entry();
  const PageType type = e.Type();
  const uint64_t owner_pfn = e.owner.load(std::memory_order_relaxed);
  r.rcx = static_cast<uint64_t>(type);
  r.rdx = owner_pfn << kPageShift;
  r.r8 = size;
  if (type == PageType::kNda || type == PageType::kRsvd)
    return WithOperand(TDX_PAGE_METADATA_INCORRECT, kOpRcx);
  if (pa & (sept::LevelBytes(size) - 1)) return WithOperand(TDX_OPERAND_INVALID, kOpRcx);

  if (type != PageType::kTdr) {
    PamtEntry& tdr_entry = m.pamt->At(0, Pfn(owner_pfn));
    TryGuard<uint16_t> tdr_lock;
    if (!tdr_lock.Acquire(tdr_entry.lock, LockMode::kShared))
      return WithOperand(TDX_OPERAND_BUSY, kOpTdr);
    Td* td = m.TdOfTdr(Pfn(owner_pfn));
    CHECK(td != nullptr);
    if (td->lifecycle.load(std::memory_order_acquire) != Lifecycle::kTeardown)
      return TDX_LIFECYCLE_STATE_INCORRECT;
    td->chldcnt.fetch_sub(sept::LevelPages(size), std::memory_order_relaxed);
    e.Clear();
    return TDX_SUCCESS;
  }
  Td* td = m.TdOfTdr(pfn);
  CHECK(td != nullptr);
  if (td->lifecycle.load(std::memory_order_acquire) != Lifecycle::kTeardown)
    return TDX_LIFECYCLE_STATE_INCORRECT;
  if (td->chldcnt.load(std::memory_order_acquire) != 0) return TDX_TD_ASSOCIATED_PAGES_EXIST;
  m.tds.Retire(td->slot);
  e.Clear();
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
