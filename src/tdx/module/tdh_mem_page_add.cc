// TDH.MEM.PAGE.ADD (leaf 2, tdx.md §2.1): add a 4K page with content copied from a
// shared-KeyID source to a TD that is still being built, and measure its GPA.
#include <cstring>

#include "tdx/module/hpa_checks.h"
#include "tdx/module/leaves.h"
#include "tdx/module/sept_walk.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus MemPageAdd(ModuleState& m, Regs& r) {
  TdAccess access;
  // TDR exclusive serializes ADD against every other host leaf of the TD: no SEPT tree or
  // entry lock is taken.
  if (TdxStatus s = access.Acquire(m, r.rdx, {kOpRdx, LockMode::kExclusive, false,
                                              kOpsInitializedOnly});
      s != TDX_SUCCESS)
    return s;
  Td& td = access.td();

  PageInfo pi;
  if (!DecodePageInfo(r.rcx, 0, 0, &pi)) return WithOperand(TDX_OPERAND_INVALID, kOpRcx);
  if (!GpaValid(m, td, pi.gpa)) return WithOperand(TDX_OPERAND_INVALID, kOpRcx);
  SeptSlot slot = WalkSept(m, td, pi.gpa, 0);
  if (slot.level != 0)
    return WithDetails(r, WithOperand(TDX_EPT_WALK_FAILED, kOpRcx), slot.raw, slot.level);
  if (!sept::Allowed(sept::Op::kPageAdd, sept::StateOf(slot.raw)))
    return WithDetails(r, WithOperand(TDX_EPT_ENTRY_STATE_INCORRECT, kOpRcx), slot.raw, 0);

  // The source is read through a shared KeyID: not PAMT-checked, may even be the target.
  const uint64_t src = r.r9;
  const uint64_t keyid = src >> m.config.phys_bits;
  const uint64_t src_pa = src & ((uint64_t{1} << m.config.phys_bits) - 1);
  if ((src & (kPageSize - 1)) || keyid >= m.config.first_private_hkid ||
      (src_pa >> kPageShift) >= m.arena.capacity_pages())
    return WithOperand(TDX_OPERAND_INVALID, kOpR9);

  PamtHold target;
  if (TdxStatus s = CheckAndLockFreeHpa(m, r.r8, 0, kOpR8, &target); s != TDX_SUCCESS) return s;

  // Commit.
  if (src_pa != r.r8)
    std::memcpy(m.arena.HardwareView(PfnOf(Hpa(r.r8))), m.arena.HardwareView(PfnOf(Hpa(src_pa))),
                kPageSize);
  target.entry()->Set(PageType::kReg, static_cast<uint32_t>(PfnOf(td.tdr).value()), 0);
  EntryRef(slot.entry).store(sept::Encode(SeptState::kMapped, r.r8), std::memory_order_release);
  td.measurement.PageAdd(pi.gpa);
  td.chldcnt.fetch_add(1, std::memory_order_relaxed);
  m.pages_added.Add();
  r.rcx = r.rdx = 0;
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
