// TDH.MR.EXTEND (leaf 16, tdx.md §2.11, §3): measure 256 bytes of an added page.
#include "tdx/module/leaves.h"
#include "tdx/module/sept_walk.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus MrExtend(ModuleState& m, Regs& r) {
  TdAccess access;
  if (TdxStatus s = access.Acquire(m, r.rdx, {kOpRdx, LockMode::kExclusive, false,
                                              kOpsInitializedOnly});
      s != TDX_SUCCESS)
    return s;
  Td& td = access.td();
  const uint64_t gpa = r.rcx;
  if (gpa & 0xFF) return WithOperand(TDX_OPERAND_INVALID, kOpRcx);
  if (!GpaValid(m, td, gpa)) return WithOperand(TDX_OPERAND_INVALID, kOpRcx);
  SeptSlot slot = WalkSept(m, td, gpa, 0);
  auto state = sept::Decode(slot.raw);
  if (!state || !sept::IsLeaf(*state) || !sept::IsPresent(*state))
    return WithDetails(r, WithOperand(TDX_EPT_ENTRY_NOT_PRESENT, kOpRcx), slot.raw, slot.level);
  if (*state != SeptState::kMapped) return TDX_EPT_ENTRY_NOT_PRESENT;

  const uint64_t hpa = sept::EntryHpa(slot.raw, slot.level) +
                       (gpa & (sept::LevelBytes(slot.level) - 1));
  const auto* data = reinterpret_cast<const uint8_t*>(m.arena.HardwareView(PfnOf(Hpa(hpa)))) +
                     (hpa & (kPageSize - 1));
  td.measurement.Extend(gpa, data);
  r.rcx = r.rdx = 0;
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
