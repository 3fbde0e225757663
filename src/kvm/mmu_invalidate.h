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
  // mmu_invalidate_retry_gfn, called with mmu_lock held.
  bool Retry(uint64_t snapshot, Gfn gfn) const {
    if (in_progress_ && range_valid_ && !(gfn < start_) && gfn < end_) return true;
    return seq_.load(std::memory_order_relaxed) != snapshot;
  }

 private:
  std::atomic<uint64_t> seq_{0};
  uint64_t in_progress_ = 0;
  bool range_valid_ = false;
  Gfn start_, end_;
};

}  // namespace cocomem::kvm
