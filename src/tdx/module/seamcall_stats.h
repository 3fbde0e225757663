// Per-leaf, per-status-class SEAMCALL counters: relaxed atomics, no lock on the hot path.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <tuple>
#include <vector>

#include "tdx/module/tdx_module.h"

namespace cocomem::tdx {

class SeamcallStats {
 public:
  void Count(unsigned leaf, TdxStatus status);
  std::vector<std::tuple<Leaf, TdxStatus, uint64_t>> Snapshot() const;

  static constexpr unsigned kLeaves = 64;
  static constexpr unsigned kClasses = 40;  // the codes of status.h; the last is "other"

 private:
  std::array<std::array<std::atomic<uint64_t>, kClasses>, kLeaves> counts_{};
};

// The status codes this module returns, in SeamcallStats class order.
extern const std::array<TdxStatus, SeamcallStats::kClasses - 1> kKnownStatusCodes;

}  // namespace cocomem::tdx
