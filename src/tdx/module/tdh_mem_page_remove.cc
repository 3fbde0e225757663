// TDH.MEM.PAGE.REMOVE (leaf 29, tdx.md §2.6): take a leaf page (4K/2M/1G) out of the TD.
// The page is PT_NDA afterwards; it is not scrubbed (the host does WBINVD + reset).
#include "tdx/module/leaves.h"
#include "tdx/module/sept_walk.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus MemPageRemove(ModuleState& m, Regs& r) {
  TdAccess access;
  if (TdxStatus s = access.Acquire(m, r.rdx, {kOpRdx, LockMode::kShared, true, kOpsRemove});
      s != TDX_SUCCESS)
    return s;
  Td& td = access.td();

  PageInfo pi;
  if (!DecodePageInfo(r.rcx, 0, 2, &pi)) return WithOperand(TDX_OPERAND_INVALID, kOpRcx);
  TryGuard<uint32_t> tree;
  LockedEntry entry;
  if (TdxStatus s = LockSeptEntry(m, td, r, pi.gpa, pi.level, LockMode::kShared, &tree, &entry);
      s != TDX_SUCCESS)
    return s;
  SeptState state = entry.state();
  if (!sept::IsLeaf(state) || !sept::Allowed(sept::Op::kPageRemove, state))
    return WithDetails(r, WithOperand(TDX_EPT_ENTRY_STATE_INCORRECT, kOpRcx), entry.raw(),
                       pi.level);
  const uint64_t hpa = sept::EntryHpa(entry.raw(), pi.level);
  PamtHold page;
  switch (m.pamt->Lock(PfnOf(Hpa(hpa)), pi.level, LockMode::kExclusive, &page)) {
    case PamtLockResult::kBusy: return WithOperand(TDX_OPERAND_BUSY, kOpRcx);
    case PamtLockResult::kSizeMismatch: return WithOperand(TDX_PAGE_METADATA_INCORRECT, kOpRcx);
    case PamtLockResult::kOk: break;
  }
  if (OpStateRequiresTracking(td.op_state.load(std::memory_order_acquire)) &&
      sept::TlbTrackingRequired(state)) {
    if (!sept::IsBlocked(state))
      return WithDetails(r, WithOperand(TDX_GPA_RANGE_NOT_BLOCKED, kOpRcx), entry.raw(),
                         pi.level);
    if (!td.IsTlbTracked(page.entry()->bepoch.load(std::memory_order_acquire)))
      return WithOperand(TDX_TLB_TRACKING_NOT_DONE, kOpRcx);
  }

  // Commit: unpublish, then give the page back.
  entry.Commit(sept::kFreeRaw);
  page.entry()->Clear();
  td.chldcnt.fetch_sub(sept::LevelPages(pi.level), std::memory_order_relaxed);
  m.pages_removed.Add(sept::LevelPages(pi.level));
  r.rcx = hpa;
  r.rdx = 0;
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
