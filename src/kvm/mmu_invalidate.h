// The MMU invalidation protocol (kvm_mmu_invalidate_begin/range_add/end and
// mmu_invalidate_retry_gfn): a fault snapshots `seq` before it looks up a PFN and gives up
// (retries) if an invalidation covering its GFN is in progress, or if `seq` moved, by the
// time it holds mmu_lock to install the mapping.
//
// All fields are written under the VM's mmu_lock (exclusive); `seq` is also read without
// it (the snapshot), hence atomic.
#pragma once

#include <atomic>
#include <cstdint>

#include "base/check.h"
#include "base/memory_types.h"

namespace cocomem::kvm {

class MmuInvalidate {
 public:
  void Begin() {
    if (in_progress_++ == 0) range_valid_ = false;
  }
  void RangeAdd(Gfn start, Gfn end) {
    if (!range_valid_) {
      start_ = start;
      end_ = end;
      range_valid_ = true;
    } else {
      if (start < start_) start_ = start;
      if (end_ < end) end_ = end;
    }
  }
  void End() {
    CHECK(in_progress_ > 0);
    seq_.fetch_add(1, std::memory_order_release);
    --in_progress_;
  }

  uint64_t seq() const { return seq_.load(std::memory_order_acquire); }
  uint64_t in_progress() const { return in_progress_; }
  // mmu_invalidate_retry_gfn, called with mmu_lock held, for a fault about to install a
  // leaf over [start, end): the whole leaf, not just the faulting GFN, since a huge leaf
  // sized before an invalidation began may reach into its range (a conversion of part of
  // a huge folio, between its zap and its end, must not get a 2M leaf over that part).
  bool Retry(uint64_t snapshot, Gfn start, Gfn end) const {
    if (in_progress_ && range_valid_ && start < end_ && start_ < end) return true;
    return seq_.load(std::memory_order_relaxed) != snapshot;
  }

 private:
  std::atomic<uint64_t> seq_{0};
  uint64_t in_progress_ = 0;
  bool range_valid_ = false;
  Gfn start_, end_;
};

}  // namespace cocomem::kvm
