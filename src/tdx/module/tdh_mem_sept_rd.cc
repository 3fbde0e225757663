// TDH.MEM.SEPT.RD (leaf 25): read the raw S-EPT entry at (GPA, level) and its details.
#include "tdx/module/leaves.h"
#include "tdx/module/sept_walk.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus MemSeptRd(ModuleState& m, Regs& r) {
  TdAccess access;
  if (TdxStatus s =
          access.Acquire(m, r.rdx, {kOpRdx, LockMode::kShared, true, kOpsAllButUninit});
      s != TDX_SUCCESS)
    return s;
  Td& td = access.td();
  PageInfo pi;
  if (!DecodePageInfo(r.rcx, 0, td.pwl, &pi)) return WithOperand(TDX_OPERAND_INVALID, kOpRcx);
  if (!GpaValid(m, td, pi.gpa)) return WithOperand(TDX_OPERAND_INVALID, kOpRcx);
  TryGuard<uint32_t> tree;
  if (!tree.Acquire(td.sept_tree_lock, LockMode::kShared))
    return WithOperand(TDX_OPERAND_BUSY, kOpSeptTree);
  SeptSlot slot = WalkSept(m, td, pi.gpa, pi.level);
  if (slot.level != pi.level)
    return WithDetails(r, WithOperand(TDX_EPT_WALK_FAILED, kOpRcx), slot.raw, slot.level);
  r.rcx = slot.raw;
  r.rdx = sept::DetailsRdx(slot.raw, slot.level);
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
