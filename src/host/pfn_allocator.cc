#include "host/pfn_allocator.h"

#include <cerrno>
#include <iterator>

#include "base/check.h"

namespace cocomem::host {

PfnAllocator::PfnAllocator(uint64_t capacity_pages) : capacity_(capacity_pages) {
  if (capacity_ > 0) free_.emplace(0, capacity_);
}

Result<PfnRange> PfnAllocator::Allocate(uint64_t npages, PageOrder align) {
  CHECK(npages > 0);
  const uint64_t mask = PagesIn(align) - 1;
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    const uint64_t ext_start = it->first;
    const uint64_t ext_end = it->first + it->second;
    const uint64_t start = (ext_start + mask) & ~mask;
    if (start < ext_start || start >= ext_end || ext_end - start < npages) continue;
    // Carve [start, start + npages) out of the extent: up to two pieces stay free.
    free_.erase(it);
    if (start > ext_start) free_.emplace(ext_start, start - ext_start);
    if (start + npages < ext_end) free_.emplace(start + npages, ext_end - (start + npages));
    allocated_.emplace(start, npages);
    allocated_pages_ += npages;
    return PfnRange{Pfn(start), npages};
  }
  return Error(ENOMEM);
}

void PfnAllocator::Free(PfnRange range) {
  auto a = allocated_.find(range.start.value());
  CHECK_MSG(a != allocated_.end() && a->second == range.npages,
            "freeing a PFN range that was not allocated");
  allocated_.erase(a);
  allocated_pages_ -= range.npages;

  uint64_t start = range.start.value();
  uint64_t end = start + range.npages;
  auto next = free_.lower_bound(start);
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    CHECK(prev->first + prev->second <= start);
    if (prev->first + prev->second == start) {
      start = prev->first;
      free_.erase(prev);
    }
  }
  if (next != free_.end()) {
    CHECK(end <= next->first);
    if (next->first == end) {
      end = next->first + next->second;
      free_.erase(next);
    }
  }
  free_.emplace(start, end - start);
}

bool PfnAllocator::IsAllocated(PfnRange range) const {
  auto a = allocated_.find(range.start.value());
  return a != allocated_.end() && a->second == range.npages;
}

}  // namespace cocomem::host
