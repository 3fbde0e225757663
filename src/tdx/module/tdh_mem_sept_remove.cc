// TDH.MEM.SEPT.REMOVE (leaf 30, tdx.md §2.10): detach an empty S-EPT table page and
// return it to the host.
#include "tdx/module/leaves.h"
#include "tdx/module/sept_walk.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus MemSeptRemove(ModuleState& m, Regs& r) {
  TdAccess access;
  if (TdxStatus s =
          access.Acquire(m, r.rdx, {kOpRdx, LockMode::kShared, true, kOpsAllButUninit});
      s != TDX_SUCCESS)
    return s;
  Td& td = access.td();

  PageInfo pi;
  if (!DecodePageInfo(r.rcx, 1, td.pwl, &pi)) return WithOperand(TDX_OPERAND_INVALID, kOpRcx);
  TryGuard<uint32_t> tree;
  LockedEntry entry;
  if (TdxStatus s =
          LockSeptEntry(m, td, r, pi.gpa, pi.level, LockMode::kExclusive, &tree, &entry);
      s != TDX_SUCCESS)
    return s;
  const SeptState state = entry.state();
  if (!sept::Allowed(sept::Op::kSeptRemove, state))
    return WithDetails(r, WithOperand(TDX_EPT_ENTRY_STATE_INCORRECT, kOpRcx), entry.raw(),
                       pi.level);
  const uint64_t table_hpa = entry.raw() & sept::kHpaMask;
  PamtHold table;
  if (m.pamt->Lock(PfnOf(Hpa(table_hpa)), 0, LockMode::kExclusive, &table) != PamtLockResult::kOk)
    return WithOperand(TDX_OPERAND_BUSY, kOpRcx);
  if (OpStateRequiresTracking(td.op_state.load(std::memory_order_acquire)) &&
      sept::TlbTrackingRequired(state)) {
    if (state != SeptState::kNlBlocked)
      return WithDetails(r, WithOperand(TDX_GPA_RANGE_NOT_BLOCKED, kOpRcx), entry.raw(),
                         pi.level);
    if (!td.IsTlbTracked(table.entry()->bepoch.load(std::memory_order_acquire)))
      return WithOperand(TDX_TLB_TRACKING_NOT_DONE, kOpRcx);
  }
  uint64_t* t = m.Table(PfnOf(Hpa(table_hpa)));
  for (unsigned i = 0; i < sept::kEntries; ++i)
    if (LoadEntry(t + i) != sept::kFreeRaw) return WithOperand(TDX_EPT_PAGE_NOT_FREE, kOpRcx);

  entry.Commit(sept::kFreeRaw);
  table.entry()->Clear();
  td.chldcnt.fetch_sub(1, std::memory_order_relaxed);
  r.rcx = table_hpa;
  r.rdx = 0;
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
