// Pamt: the Physical Address Metadata Table (tdx.md §2.17) — one 16-byte entry per 1G, 2M
// and 4K physical page of the arena, each with a try-lock, page type, owner and BEPOCH.
//
// The arrays are reserved with mmap(MAP_NORESERVE) and zero-filled by the kernel, so a
// 1 TiB arena costs only the entries that are touched (an all-zero entry is PT_NDA).
//
// Lock protocol (equivalent to the module's walk, which share-locks the parents):
//   4K access: 2M entry shared, then the 4K entry (shared/exclusive);
//   2M access: the 2M entry;
//   1G access: the 1G entry, then all 512 2M entries exclusive.
// So a 2M exclusive holder excludes every 4K access below it, and a 1G holder every 2M
// and 4K access. The 1G entry is read, not locked, by 4K/2M accesses (safe because 1G
// holders lock all 2M entries). A page is a leaf at 1G/2M iff that entry is PT_REG.
// The TDR's own lock (taken by every SEAMCALL) is its 4K entry alone: only RECLAIM changes
// a TDR entry's type, and RECLAIM takes the full walk.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "base/memory_types.h"
#include "base/result.h"
#include "tdx/module/locks.h"
#include "tdx/module/tdx_module.h"

namespace cocomem::tdx {

struct PamtEntry {
  TryRwLock<uint16_t> lock;
  std::atomic<uint8_t> type{0};  // PageType
  uint8_t unused = 0;
  std::atomic<uint32_t> owner{0};  // TDR PFN
  // BEPOCH for S-EPT-mapped pages; for a TDR / TDVPR page, the Td / Vcpu slot.
  std::atomic<uint64_t> bepoch{0};

  PageType Type() const { return static_cast<PageType>(type.load(std::memory_order_acquire)); }
  void Set(PageType t, uint32_t owner_pfn, uint64_t epoch) {
    owner.store(owner_pfn, std::memory_order_relaxed);
    bepoch.store(epoch, std::memory_order_relaxed);
    type.store(static_cast<uint8_t>(t), std::memory_order_release);
  }
  void Clear() { Set(PageType::kNda, 0, 0); }
};
static_assert(sizeof(PamtEntry) == 16);

enum class PamtLockResult { kOk, kBusy, kSizeMismatch };

class Pamt;

// The locks one PAMT access holds; released when destroyed.
class PamtHold {
 public:
  PamtHold() = default;
  PamtHold(const PamtHold&) = delete;
  PamtHold& operator=(const PamtHold&) = delete;
  ~PamtHold() { Release(); }
  void Release();
  PamtEntry* entry() const { return leaf_; }
  bool held() const { return leaf_ != nullptr; }

 private:
  friend class Pamt;
  PamtEntry* parent_ = nullptr;  // 2M entry held shared (4K access)
  PamtEntry* leaf_ = nullptr;
  LockMode leaf_mode_ = LockMode::kShared;
  PamtEntry* children_ = nullptr;  // 512 2M entries held exclusive (1G access)
};

class Pamt {
 public:
  static Result<std::unique_ptr<Pamt>> Create(uint64_t npages);
  ~Pamt();
  Pamt(const Pamt&) = delete;
  Pamt& operator=(const Pamt&) = delete;

  uint64_t npages() const { return npages_; }
  PamtEntry& At(unsigned size, Pfn pfn) const {
    return arrays_[size][pfn.value() >> (9 * size)];
  }

  // Locks the entry of `pfn` at `size` as described above. kSizeMismatch: a larger leaf
  // covers the page (the module's walk would stop above `size`); nothing is held then.
  PamtLockResult Lock(Pfn pfn, unsigned size, LockMode mode, PamtHold* hold) const;
  // The level at which `pfn` is a leaf right now (unlocked read).
  unsigned LeafSize(Pfn pfn) const;
  // The entry that describes `pfn` (at its leaf size), unlocked.
  const PamtEntry& LeafOf(Pfn pfn, unsigned* size) const;

 private:
  Pamt() = default;
  uint64_t npages_ = 0;
  PamtEntry* arrays_[3] = {nullptr, nullptr, nullptr};
  size_t bytes_[3] = {0, 0, 0};
};

}  // namespace cocomem::tdx
