// TDG.MEM.PAGE.ACCEPT (TDCALL 6, tdx.md §2.15): the guest accepts a PENDING 4K/2M page,
// which zeroes it and maps it. Mismatches either return a status to the guest or exit to
// the host with an EPT violation carrying EEQ type ACCEPT.
#include <cstring>

#include "tdx/module/leaves.h"
#include "tdx/module/sept_walk.h"

namespace cocomem::tdx::leaf {
namespace {

TdcallResult AcceptExit(uint64_t gpa, unsigned req_level, unsigned err_level, uint64_t raw) {
  auto state = sept::Decode(raw);
  const uint64_t pub = state ? sept::PublicState(*state) : 0xFF;
  const uint64_t is_leaf = (raw & sept::kPs) ? 1 : 0;
  const uint64_t info = req_level | (uint64_t{err_level} << 3) | (pub << 6) | (is_leaf << 14);
  TdcallResult res;
  res.td_exit = true;
  // Exit qualification: a write access, plus the entry's permissions (bits 5:3).
  res.exit.exit_qualification = 0x2 | ((raw & sept::kRwx) << 3);
  res.exit.ext_exit_qualification = kEeqTypeAccept | (info << 32);
  res.exit.gpa = gpa;
  return res;
}

TdcallResult Status(TdxStatus s) {
  TdcallResult res;
  res.status = s;
  return res;
}

}  // namespace

TdcallResult TdgMemPageAccept(ModuleState& m, Vcpu& vcpu, uint64_t rcx) {
  Td& td = *vcpu.td;
  PageInfo pi;
  if (!DecodePageInfo(rcx, 0, 1, &pi) || !GpaValid(m, td, pi.gpa))
    return Status(WithOperand(TDX_OPERAND_INVALID, kOpRcx));
  SeptSlot slot = WalkSept(m, td, pi.gpa, pi.level);
  if (slot.level != pi.level) {
    auto s = sept::Decode(slot.raw);
    if (s && sept::GuestAccessibleLeaf(*s))
      return Status(WithOperand(TDX_PAGE_ALREADY_ACCEPTED, slot.level));
    return AcceptExit(pi.gpa, pi.level, slot.level, slot.raw);
  }
  uint64_t raw;
  switch (TryLockEntryGuest(slot.entry, &raw)) {
    case GuestLock::kBusy: return Status(WithOperand(TDX_OPERAND_BUSY, kOpRcx));
    case GuestLock::kHostPriority:
      return Status(WithOperand(TDX_OPERAND_BUSY_HOST_PRIORITY, kOpRcx));
    case GuestLock::kOk: break;
  }
  LockedEntry entry;
  entry.Set(slot.entry, raw, pi.level, /*host=*/false);
  auto state = sept::Decode(raw);
  if (state && !sept::IsLeaf(*state) && *state != SeptState::kFree)
    return Status(WithOperand(TDX_PAGE_SIZE_MISMATCH, pi.level));
  if (state && sept::GuestAccessibleLeaf(*state))
    return Status(WithOperand(TDX_PAGE_ALREADY_ACCEPTED, pi.level));
  if (!state || !sept::Allowed(sept::Op::kPageAccept, *state)) {
    entry.Unlock();
    return AcceptExit(pi.gpa, pi.level, pi.level, raw);
  }

  // Zero with the TD key, 4K at a time; a 2M page keeps its progress in the entry.
  const uint64_t hpa = sept::EntryHpa(raw, pi.level);
  const Pfn pfn = PfnOf(Hpa(hpa));
  if (pi.level == 0) {
    std::memset(m.arena.HardwareView(pfn), 0, kPageSize);
  } else {
    auto ref = EntryRef(slot.entry);
    unsigned done = static_cast<unsigned>((raw & sept::kAcceptCounterMask) >>
                                          sept::kAcceptCounterShift);
    for (unsigned i = done; i < sept::kEntries; ++i) {
      std::memset(m.arena.HardwareView(pfn + i), 0, kPageSize);
      if (i + 1 < sept::kEntries)
        ref.fetch_add(uint64_t{1} << sept::kAcceptCounterShift, std::memory_order_relaxed);
    }
  }
  // Keep a host-priority mark the host may have left while we held the entry.
  const uint64_t tdhp = EntryRef(slot.entry).load(std::memory_order_relaxed) & sept::kTdhp;
  entry.Commit(sept::Encode(SeptState::kMapped, hpa) | tdhp);
  m.pages_accepted.Add(sept::LevelPages(pi.level));
  return Status(TDX_SUCCESS);
}

}  // namespace cocomem::tdx::leaf
