// TDH.MEM.PAGE.PROMOTE (leaf 23, tdx.md §2.8): merge a table of 512 identical, contiguous
// MAPPED (or PENDING) leaves into one leaf one level up; the table page is returned.
#include <array>

#include "tdx/module/leaves.h"
#include "tdx/module/sept_walk.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {
namespace {

// The 512 child entry locks taken by PROMOTE. On success they stay set in the freed
// table page, so a walker that still reached the old table gets BUSY, not a stale entry.
class ChildLocks {
 public:
  explicit ChildLocks(uint64_t* table) : table_(table) {}
  ~ChildLocks() {
    for (unsigned i = 0; i < locked_; ++i)
      EntryRef(table_ + i).fetch_and(~sept::kTdel, std::memory_order_release);
  }
  bool LockAll() {
    for (; locked_ < sept::kEntries; ++locked_) {
      uint64_t raw;
      if (!TryLockEntryHost(table_ + locked_, &raw)) return false;
      raw_[locked_] = raw;
    }
    return true;
  }
  uint64_t raw(unsigned i) const { return raw_[i]; }
  void KeepLocked() { locked_ = 0; }

 private:
  uint64_t* table_;
  unsigned locked_ = 0;
  std::array<uint64_t, sept::kEntries> raw_{};
};

}  // namespace

TdxStatus MemPagePromote(ModuleState& m, Regs& r) {
  TdAccess access;
  if (TdxStatus s = access.Acquire(m, r.rdx, {kOpRdx, LockMode::kShared, true, kOpsBlock});
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
  if (!sept::Allowed(sept::Op::kPagePromote, state))
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
  ChildLocks children(t);
  if (!children.LockAll()) return WithOperand(TDX_OPERAND_BUSY, kOpRcx);

  const unsigned child_level = pi.level - 1;
  const uint64_t c0 = children.raw(0);
  const auto s0 = sept::Decode(c0);
  const uint64_t hpa0 = c0 & sept::kHpaMask;
  bool ok = s0 && (*s0 == SeptState::kMapped || *s0 == SeptState::kPending) &&
            (hpa0 & (sept::LevelBytes(pi.level) - 1)) == 0;
  for (unsigned i = 1; ok && i < sept::kEntries; ++i)
    ok = children.raw(i) == sept::Encode(*s0, hpa0 + i * sept::LevelBytes(child_level));
  if (!ok) return WithOperand(TDX_EPT_INVALID_PROMOTE_CONDITIONS, kOpRcx);
  if (ConsumePendingInterrupt(m)) return TDX_INTERRUPTED_RESTARTABLE;  // RCX/RDX untouched
  const Pfn pfn0 = PfnOf(Hpa(hpa0));
  PamtHold huge;
  if (m.pamt->Lock(pfn0, pi.level, LockMode::kExclusive, &huge) != PamtLockResult::kOk)
    return WithOperand(TDX_OPERAND_BUSY, kOpRcx);

  // Commit: merge the PAMT entries, publish the leaf, free the table page.
  const uint32_t owner = static_cast<uint32_t>(PfnOf(td.tdr).value());
  huge.entry()->Set(PageType::kReg, owner, 0);
  for (unsigned i = 0; i < sept::kEntries; ++i)
    m.pamt->At(child_level, pfn0 + i * sept::LevelPages(child_level)).Clear();
  entry.Commit(sept::Encode(*s0, hpa0));
  children.KeepLocked();
  table.entry()->Clear();
  td.chldcnt.fetch_sub(1, std::memory_order_relaxed);
  r.rcx = table_hpa;
  r.rdx = 0;
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
