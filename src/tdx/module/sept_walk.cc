#include "tdx/module/sept_walk.h"

namespace cocomem::tdx {

bool DecodePageInfo(uint64_t rcx, unsigned min_level, unsigned max_level, PageInfo* out) {
  constexpr uint64_t kReserved = 0xFFF0000000000FF8;
  if (rcx & kReserved) return false;
  unsigned level = rcx & 7;
  if (level < min_level || level > max_level) return false;
  uint64_t gpa = rcx & ~uint64_t{0xFFF} & ~kReserved;
  if (gpa & (sept::LevelBytes(level) - 1)) return false;
  out->gpa = gpa;
  out->level = level;
  return true;
}

bool GpaValid(const ModuleState& m, const Td& td, uint64_t gpa) {
  if (gpa & td.shared_bit) return false;
  if (gpa >> m.max_pa_bits) return false;
  if (td.params.gpaw == 48 && (gpa >> 48)) return false;
  return true;
}

SeptSlot WalkSept(const ModuleState& m, const Td& td, uint64_t gpa, unsigned level) {
  uint64_t* table = m.Table(td.sept_root);
  for (unsigned l = td.pwl;; --l) {
    uint64_t* e = table + sept::IndexAt(gpa, l);
    uint64_t raw = LoadEntry(e);
    if (l == level) return {e, l, raw};
    auto s = sept::Decode(raw);
    if (!s || *s != SeptState::kNlMapped) return {e, l, raw};
    table = m.Table(PfnOf(Hpa(raw & sept::kHpaMask)));
  }
}

bool TryLockEntryHost(uint64_t* p, uint64_t* raw_out) {
  auto ref = EntryRef(p);
  uint64_t v = ref.load(std::memory_order_relaxed);
  do {
    if (v & sept::kTdel) {
      ref.fetch_or(sept::kTdhp, std::memory_order_relaxed);
      return false;
    }
  } while (!ref.compare_exchange_weak(v, v | sept::kTdel, std::memory_order_acquire,
                                      std::memory_order_relaxed));
  *raw_out = v & ~(sept::kTdel | sept::kTdhp);
  return true;
}

GuestLock TryLockEntryGuest(uint64_t* p, uint64_t* raw_out) {
  auto ref = EntryRef(p);
  uint64_t v = ref.load(std::memory_order_relaxed);
  do {
    if (v & sept::kTdhp) return GuestLock::kHostPriority;
    if (v & sept::kTdel) return GuestLock::kBusy;
  } while (!ref.compare_exchange_weak(v, v | sept::kTdel, std::memory_order_acquire,
                                      std::memory_order_relaxed));
  *raw_out = v;
  return GuestLock::kOk;
}

void LockedEntry::Unlock() {
  if (p_ == nullptr) return;
  // The host's turn is over: it also drops the host-priority mark it may have left.
  uint64_t clear = host_ ? (sept::kTdel | sept::kTdhp) : sept::kTdel;
  EntryRef(p_).fetch_and(~clear, std::memory_order_release);
  p_ = nullptr;
}

TdxStatus WithDetails(Regs& regs, TdxStatus status, uint64_t raw, unsigned level) {
  regs.rcx = sept::DetailsRcx(raw, level);
  regs.rdx = sept::DetailsRdx(raw, level);
  return status;
}

TdxStatus LockSeptEntry(const ModuleState& m, Td& td, Regs& regs, uint64_t gpa, unsigned level,
                        LockMode tree_mode, TryGuard<uint32_t>* tree, LockedEntry* out) {
  if (!GpaValid(m, td, gpa)) return WithOperand(TDX_OPERAND_INVALID, kOpRcx);
  if (!tree->Acquire(td.sept_tree_lock, tree_mode))
    return WithOperand(TDX_OPERAND_BUSY, kOpSeptTree);
  SeptSlot slot = WalkSept(m, td, gpa, level);
  if (slot.level != level)
    return WithDetails(regs, WithOperand(TDX_EPT_WALK_FAILED, kOpRcx), slot.raw, slot.level);
  uint64_t raw;
  if (!TryLockEntryHost(slot.entry, &raw))
    return WithDetails(regs, WithOperand(TDX_OPERAND_BUSY, kOpRcx), slot.raw, level);
  out->Set(slot.entry, raw, level, /*host=*/true);
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx
