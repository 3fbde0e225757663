// A contiguous run of host pages.
#pragma once

#include <cstdint>

#include "base/memory_types.h"

namespace cocomem::host {

struct PfnRange {
  Pfn start;
  uint64_t npages = 0;

  Pfn end() const { return start + npages; }
  uint64_t bytes() const { return npages << kPageShift; }
  bool Contains(Pfn p) const { return !(p < start) && p < end(); }
  bool Contains(const PfnRange& r) const {
    return !(r.start < start) && !(end() < r.end());
  }
  friend bool operator==(const PfnRange&, const PfnRange&) = default;
};

}  // namespace cocomem::host
