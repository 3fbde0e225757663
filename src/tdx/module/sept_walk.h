// Walking and locking the Secure EPT (tdx.md §2 prologue B): operand decoding (page info,
// GPA validity), the module's secure_ept_walk over the real 512-entry tables in arena
// pages, the per-entry lock (TDEL, bit 11, taken by CAS) and the failure details.
#pragma once

#include <atomic>
#include <cstdint>

#include "tdx/module/locks.h"
#include "tdx/module/module_state.h"
#include "tdx/module/sept_state.h"
#include "tdx/module/status.h"
#include "tdx/module/td.h"

namespace cocomem::tdx {

struct PageInfo {
  uint64_t gpa = 0;
  unsigned level = 0;
};
// verify_page_info_input: bits 11:3 and 63:52 zero, min <= level <= max, GPA aligned to
// the level. False -> the caller returns OPERAND_INVALID|RCX.
bool DecodePageInfo(uint64_t rcx, unsigned min_level, unsigned max_level, PageInfo* out);
// check_gpa_validity: shared bit clear, nothing at or above MAX_PA / GPAW.
bool GpaValid(const ModuleState& m, const Td& td, uint64_t gpa);

inline std::atomic_ref<uint64_t> EntryRef(uint64_t* p) { return std::atomic_ref<uint64_t>(*p); }
inline uint64_t LoadEntry(uint64_t* p) {
  return EntryRef(p).load(std::memory_order_acquire) & ~(sept::kTdel | sept::kTdhp);
}

struct SeptSlot {
  uint64_t* entry = nullptr;
  unsigned level = 0;
  uint64_t raw = 0;  // without the lock bits
};
// From the root down to `level`, stopping early at a leaf or non-present entry. Lock-free;
// the TD must be initialized.
SeptSlot WalkSept(const ModuleState& m, const Td& td, uint64_t gpa, unsigned level);

// Entry lock. The host side marks a contended entry host-priority (TDHP) so the guest's
// next attempt backs off; the guest side fails on TDHP with BUSY_HOST_PRIORITY.
bool TryLockEntryHost(uint64_t* p, uint64_t* raw_out);
enum class GuestLock { kOk, kBusy, kHostPriority };
GuestLock TryLockEntryGuest(uint64_t* p, uint64_t* raw_out);

// A locked entry; unlocked unchanged when destroyed unless Commit stored a new value.
class LockedEntry {
 public:
  LockedEntry() = default;
  LockedEntry(const LockedEntry&) = delete;
  LockedEntry& operator=(const LockedEntry&) = delete;
  ~LockedEntry() { Unlock(); }

  void Set(uint64_t* p, uint64_t raw, unsigned level, bool host) {
    p_ = p;
    raw_ = raw;
    level_ = level;
    host_ = host;
  }
  uint64_t* ptr() const { return p_; }
  uint64_t raw() const { return raw_; }
  unsigned level() const { return level_; }
  SeptState state() const { return sept::StateOf(raw_); }
  // Publishes `raw` (which carries no lock bit) and gives up the lock.
  void Commit(uint64_t raw) {
    EntryRef(p_).store(raw, std::memory_order_release);
    p_ = nullptr;
  }
  void Unlock();

 private:
  uint64_t* p_ = nullptr;
  uint64_t raw_ = 0;
  unsigned level_ = 0;
  bool host_ = true;
};

// The PAMT entry whose BEPOCH a BLOCK of this entry stamps: the page at the leaf's size, or
// the child S-EPT table page of a non-leaf (tdx.md §1.5).
inline PamtEntry& BepochEntry(const ModuleState& m, uint64_t raw, unsigned level) {
  if (raw & sept::kPs) return m.pamt->At(level, PfnOf(Hpa(sept::EntryHpa(raw, level))));
  return m.pamt->At(0, PfnOf(Hpa(raw & sept::kHpaMask)));
}

// Sets RCX/RDX to the entry details of §0.1 and returns `status`.
TdxStatus WithDetails(Regs& regs, TdxStatus status, uint64_t raw, unsigned level);

// Prologue B: GPA validity (OPERAND_INVALID|RCX), SEPT tree lock (BUSY|0x92), walk to
// `level` (EPT_WALK_FAILED|RCX + details), entry lock (BUSY|RCX + details).
TdxStatus LockSeptEntry(const ModuleState& m, Td& td, Regs& regs, uint64_t gpa, unsigned level,
                        LockMode tree_mode, TryGuard<uint32_t>* tree, LockedEntry* out);

}  // namespace cocomem::tdx
