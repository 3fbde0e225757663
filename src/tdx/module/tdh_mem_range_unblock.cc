// TDH.MEM.RANGE.UNBLOCK (leaf 39, tdx.md §2.4): undo a BLOCK once the blocking epoch is
// tracked (when the TD runs).
#include "tdx/module/leaves.h"
#include "tdx/module/sept_walk.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus MemRangeUnblock(ModuleState& m, Regs& r) {
  TdAccess access;
  if (TdxStatus s = access.Acquire(m, r.rdx, {kOpRdx, LockMode::kShared, true, kOpsBlock});
      s != TDX_SUCCESS)
    return s;
  Td& td = access.td();

  PageInfo pi;
  if (!DecodePageInfo(r.rcx, 0, td.pwl, &pi)) return WithOperand(TDX_OPERAND_INVALID, kOpRcx);
  TryGuard<uint32_t> tree;
  LockedEntry entry;
  if (TdxStatus s =
          LockSeptEntry(m, td, r, pi.gpa, pi.level, LockMode::kExclusive, &tree, &entry);
      s != TDX_SUCCESS)
    return s;
  SeptState state = entry.state();
  if (!sept::Allowed(sept::Op::kRangeUnblock, state))
    return WithDetails(r, WithOperand(TDX_EPT_ENTRY_STATE_INCORRECT, kOpRcx), entry.raw(),
                       pi.level);
  if (OpStateRequiresTracking(td.op_state.load(std::memory_order_acquire)) &&
      sept::TlbTrackingRequired(state) &&
      !td.IsTlbTracked(BepochEntry(m, entry.raw(), pi.level).bepoch.load(std::memory_order_acquire)))
    return WithOperand(TDX_TLB_TRACKING_NOT_DONE, kOpSeptTree);

  uint64_t target = sept::IsLeaf(state) ? sept::EntryHpa(entry.raw(), pi.level)
                                        : entry.raw() & sept::kHpaMask;
  entry.Commit(sept::Encode(sept::UnblockedOf(state), target));
  r.rcx = r.rdx = 0;
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
