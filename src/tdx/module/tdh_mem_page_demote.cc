// TDH.MEM.PAGE.DEMOTE (leaf 15, tdx.md §2.7): split a 2M (1G) leaf into a new S-EPT table
// of 512 4K (2M) leaves in the same (unblocked) state, and split its PAMT entry.
#include "tdx/module/hpa_checks.h"
#include "tdx/module/leaves.h"
#include "tdx/module/sept_walk.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

bool ConsumePendingInterrupt(ModuleState& m) {
  unsigned n = m.pending_interrupts.load(std::memory_order_relaxed);
  while (n > 0) {
    if (m.pending_interrupts.compare_exchange_weak(n, n - 1, std::memory_order_relaxed))
      return true;
  }
  return false;
}

TdxStatus MemPageDemote(ModuleState& m, Regs& r) {
  // RDX: TDR | bit 0 l2_sept_add_mode; bits 11:1 and 63:52 reserved.
  if (r.rdx & 0xFFF0000000000FFE) return WithOperand(TDX_OPERAND_INVALID, kOpRdx);
  TdAccess access;
  if (TdxStatus s = access.Acquire(m, r.rdx & ~uint64_t{1},
                                   {kOpRdx, LockMode::kShared, true, kOpsBlock});
      s != TDX_SUCCESS)
    return s;
  Td& td = access.td();

  PageInfo pi;
  if (!DecodePageInfo(r.rcx, 1, 2, &pi)) return WithOperand(TDX_OPERAND_INVALID, kOpRcx);
  TryGuard<uint32_t> tree;
  LockedEntry entry;
  if (TdxStatus s = LockSeptEntry(m, td, r, pi.gpa, pi.level, LockMode::kShared, &tree, &entry);
      s != TDX_SUCCESS)
    return s;
  const SeptState state = entry.state();
  if (!sept::Allowed(sept::Op::kPageDemote, state))
    return WithDetails(r, WithOperand(TDX_EPT_ENTRY_STATE_INCORRECT, kOpRcx), entry.raw(),
                       pi.level);
  const uint64_t hpa = sept::EntryHpa(entry.raw(), pi.level);
  const Pfn pfn = PfnOf(Hpa(hpa));
  if (OpStateRequiresTracking(td.op_state.load(std::memory_order_acquire)) &&
      sept::TlbTrackingRequired(state)) {
    if (!sept::IsBlocked(state))
      return WithDetails(r, WithOperand(TDX_GPA_RANGE_NOT_BLOCKED, kOpRcx), entry.raw(),
                         pi.level);
    if (!td.IsTlbTracked(m.pamt->At(pi.level, pfn).bepoch.load(std::memory_order_acquire)))
      return WithOperand(TDX_TLB_TRACKING_NOT_DONE, kOpRcx);
  }
  PamtHold table;
  if (TdxStatus s = CheckAndLockFreeHpa(m, r.r8, 0, kOpR8, &table); s != TDX_SUCCESS) return s;
  if (ConsumePendingInterrupt(m)) return TDX_INTERRUPTED_RESTARTABLE;  // RCX/RDX untouched
  PamtHold huge;
  if (m.pamt->Lock(pfn, pi.level, LockMode::kExclusive, &huge) != PamtLockResult::kOk)
    return WithOperand(TDX_OPERAND_BUSY, kOpRcx);

  // Commit: build the child table, split the PAMT entry, publish the table last.
  const SeptState child_state = sept::UnblockedOf(state);  // children come out unblocked
  const unsigned child_level = pi.level - 1;
  uint64_t* t = m.Table(PfnOf(Hpa(r.r8)));
  for (unsigned i = 0; i < sept::kEntries; ++i)
    EntryRef(t + i).store(sept::Encode(child_state, hpa + i * sept::LevelBytes(child_level)),
                          std::memory_order_relaxed);
  const uint32_t owner = static_cast<uint32_t>(PfnOf(td.tdr).value());
  table.entry()->Set(PageType::kEpt, owner, 0);
  for (unsigned i = 0; i < sept::kEntries; ++i)
    m.pamt->At(child_level, pfn + i * sept::LevelPages(child_level)).Set(PageType::kReg, owner, 0);
  huge.entry()->Clear();
  td.chldcnt.fetch_add(1, std::memory_order_relaxed);
  entry.Commit(sept::Encode(SeptState::kNlMapped, r.r8));
  r.rcx = r.rdx = 0;
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
