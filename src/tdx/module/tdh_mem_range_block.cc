// TDH.MEM.RANGE.BLOCK (leaf 7, tdx.md §2.3): make a leaf or table entry non-present for
// the guest and stamp the TLB epoch it was blocked in.
#include "tdx/module/leaves.h"
#include "tdx/module/sept_walk.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus MemRangeBlock(ModuleState& m, Regs& r) {
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
  if (sept::IsBlocked(state))
    return WithDetails(r, WithOperand(TDX_GPA_RANGE_ALREADY_BLOCKED, kOpRcx), entry.raw(),
                       pi.level);
  if (!sept::Allowed(sept::Op::kRangeBlock, state))
    return WithDetails(r, WithOperand(TDX_EPT_ENTRY_STATE_INCORRECT, kOpRcx), entry.raw(),
                       pi.level);

  // Commit. Re-encoding drops RWX and a 2M PENDING accept counter.
  BepochEntry(m, entry.raw(), pi.level)
      .bepoch.store(td.td_epoch.load(std::memory_order_acquire), std::memory_order_release);
  uint64_t target = sept::IsLeaf(state) ? sept::EntryHpa(entry.raw(), pi.level)
                                        : entry.raw() & sept::kHpaMask;
  entry.Commit(sept::Encode(sept::BlockedOf(state), target));
  r.rcx = r.rdx = 0;
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
