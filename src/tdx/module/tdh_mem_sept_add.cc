// TDH.MEM.SEPT.ADD (leaf 3, versions 0/1, tdx.md §2.9): hang a new S-EPT table page (all
// entries FREE) under the entry at (GPA, level).
#include "tdx/module/hpa_checks.h"
#include "tdx/module/leaves.h"
#include "tdx/module/sept_walk.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus MemSeptAdd(ModuleState& m, Regs& r, unsigned version) {
  // RDX: TDR | bit 0 allow_existing; bits 11:1 and 63:52 reserved.
  if (r.rdx & 0xFFF0000000000FFE) return WithOperand(TDX_OPERAND_INVALID, kOpRdx);
  const bool allow_existing = r.rdx & 1;
  TdAccess access;
  if (TdxStatus s = access.Acquire(m, r.rdx & ~uint64_t{1},
                                   {kOpRdx, LockMode::kShared, true, kOpsSeptAdd});
      s != TDX_SUCCESS)
    return s;
  Td& td = access.td();

  PageInfo pi;
  if (!DecodePageInfo(r.rcx, 1, td.pwl, &pi)) return WithOperand(TDX_OPERAND_INVALID, kOpRcx);
  TryGuard<uint32_t> tree;
  LockedEntry entry;
  if (TdxStatus s = LockSeptEntry(m, td, r, pi.gpa, pi.level, LockMode::kShared, &tree, &entry);
      s != TDX_SUCCESS)
    return s;
  const SeptState state = entry.state();
  if (!sept::Allowed(sept::Op::kSeptAdd, state))
    return WithDetails(r, WithOperand(TDX_EPT_ENTRY_STATE_INCORRECT, kOpRcx), entry.raw(),
                       pi.level);
  if (state == SeptState::kNlMapped) {
    if (!allow_existing)
      return WithDetails(r, WithOperand(TDX_EPT_ENTRY_STATE_INCORRECT, kOpRcx), entry.raw(),
                         pi.level);
    if (version >= 1) r.r8 |= uint64_t{1} << 63;  // "page not used"
    r.rcx = r.rdx = 0;
    return TDX_SUCCESS;
  }
  PamtHold page;
  if (TdxStatus s = CheckAndLockFreeHpa(m, r.r8, 0, kOpR8, &page); s != TDX_SUCCESS) return s;

  // Commit: fill the table, take ownership, publish the parent last.
  uint64_t* t = m.Table(PfnOf(Hpa(r.r8)));
  for (unsigned i = 0; i < sept::kEntries; ++i)
    EntryRef(t + i).store(sept::kFreeRaw, std::memory_order_relaxed);
  page.entry()->Set(PageType::kEpt, static_cast<uint32_t>(PfnOf(td.tdr).value()), 0);
  td.chldcnt.fetch_add(1, std::memory_order_relaxed);
  entry.Commit(sept::Encode(SeptState::kNlMapped, r.r8));
  if (version >= 1) r.r8 = kNullPa;  // consumed
  r.rcx = r.rdx = 0;
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
