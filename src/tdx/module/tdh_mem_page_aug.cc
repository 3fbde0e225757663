// TDH.MEM.PAGE.AUG (leaf 6, tdx.md §2.2): add a 4K or 2M page to a TD as PENDING; the guest
// accepts (and zeroes) it later. Contents are not initialized here.
#include "tdx/module/hpa_checks.h"
#include "tdx/module/leaves.h"
#include "tdx/module/sept_walk.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus MemPageAug(ModuleState& m, Regs& r) {
  TdAccess access;
  if (TdxStatus s = access.Acquire(m, r.rdx, {kOpRdx, LockMode::kShared, true, kOpsAug});
      s != TDX_SUCCESS)
    return s;
  Td& td = access.td();

  PageInfo pi;
  if (!DecodePageInfo(r.rcx, 0, 1, &pi)) return WithOperand(TDX_OPERAND_INVALID, kOpRcx);
  TryGuard<uint32_t> tree;
  LockedEntry entry;
  if (TdxStatus s = LockSeptEntry(m, td, r, pi.gpa, pi.level, LockMode::kShared, &tree, &entry);
      s != TDX_SUCCESS)
    return s;
  if (!sept::Allowed(sept::Op::kPageAug, entry.state()))
    return WithDetails(r, WithOperand(TDX_EPT_ENTRY_STATE_INCORRECT, kOpRcx), entry.raw(),
                       pi.level);
  PamtHold target;
  if (TdxStatus s = CheckAndLockFreeHpa(m, r.r8, pi.level, kOpR8, &target); s != TDX_SUCCESS)
    return s;

  // Commit: ownership first, then publish the entry.
  target.entry()->Set(PageType::kReg, static_cast<uint32_t>(PfnOf(td.tdr).value()), 0);
  entry.Commit(sept::Encode(SeptState::kPending, r.r8));
  td.chldcnt.fetch_add(sept::LevelPages(pi.level), std::memory_order_relaxed);
  m.pages_augmented.Add(sept::LevelPages(pi.level));
  r.rcx = r.rdx = 0;
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
