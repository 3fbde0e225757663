// PfnAllocator: hands out aligned, contiguous PFN ranges from [0, capacity).
//
// First fit over an ordered map of free extents; releases coalesce with their neighbours,
// so a fully released allocator is one extent again. Not thread-safe: Arena locks it.
#pragma once

#include <cstdint>
#include <map>

#include "base/memory_types.h"
#include "base/result.h"
#include "host/pfn_range.h"

namespace cocomem::host {

class PfnAllocator {
 public:
  explicit PfnAllocator(uint64_t capacity_pages);

  // ENOMEM when no free extent holds `npages` at the alignment. npages must be > 0.
  Result<PfnRange> Allocate(uint64_t npages, PageOrder align);
  // `range` must be exactly a range returned by Allocate and not yet freed (CHECKed).
  void Free(PfnRange range);

  bool IsAllocated(PfnRange range) const;
  uint64_t capacity_pages() const { return capacity_; }
  uint64_t allocated_pages() const { return allocated_pages_; }
  size_t free_extent_count() const { return free_.size(); }

 private:
  uint64_t capacity_;
  uint64_t allocated_pages_ = 0;
  std::map<uint64_t, uint64_t> free_;       // start pfn -> npages; disjoint, never touching
  std::map<uint64_t, uint64_t> allocated_;  // start pfn -> npages
};

}  // namespace cocomem::host
