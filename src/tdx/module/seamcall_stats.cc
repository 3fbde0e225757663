#include "tdx/module/seamcall_stats.h"

namespace cocomem::tdx {

const std::array<TdxStatus, SeamcallStats::kClasses - 1> kKnownStatusCodes = {
    TDX_SUCCESS,
    TDX_OPERAND_BUSY,
    TDX_EPT_ENTRY_STATE_INCORRECT,
    TDX_EPT_WALK_FAILED,
    TDX_GPA_RANGE_ALREADY_BLOCKED,
    TDX_PAGE_ALREADY_ACCEPTED,
    TDX_PREVIOUS_TLB_EPOCH_BUSY,
    TDX_TLB_TRACKING_NOT_DONE,
    TDX_GPA_RANGE_NOT_BLOCKED,
    TDX_OPERAND_INVALID,
    TDX_OPERAND_ADDR_RANGE_ERROR,
    TDX_PAGE_METADATA_INCORRECT,
    TDX_OP_STATE_INCORRECT,
    TDX_INTERRUPTED_RESUMABLE,
    TDX_INTERRUPTED_RESTARTABLE,
    TDX_OPERAND_BUSY_HOST_PRIORITY,
    TDX_TD_ASSOCIATED_PAGES_EXIST,
    TDX_TD_FATAL,
    TDX_TDCS_NOT_ALLOCATED,
    TDX_LIFECYCLE_STATE_INCORRECT,
    TDX_NO_VCPUS,
    TDX_TD_KEYS_NOT_CONFIGURED,
    TDX_EPT_ENTRY_FREE,
    TDX_EPT_ENTRY_NOT_FREE,
    TDX_EPT_ENTRY_NOT_PRESENT,
    TDX_EPT_ENTRY_NOT_LEAF,
    TDX_EPT_ENTRY_LEAF,
    TDX_EPT_INVALID_PROMOTE_CONDITIONS,
    TDX_PAGE_SIZE_MISMATCH,
    TDX_GPA_RANGE_BLOCKED,
    TDX_EPT_PAGE_NOT_FREE,
};

void SeamcallStats::Count(unsigned leaf, TdxStatus status) {
  TdxStatus code = StatusCode(status);
  unsigned cls = kClasses - 1;
  for (unsigned i = 0; i < kKnownStatusCodes.size(); ++i) {
    if (kKnownStatusCodes[i] == code) {
      cls = i;
      break;
    }
  }
  counts_[leaf % kLeaves][cls].fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::tuple<Leaf, TdxStatus, uint64_t>> SeamcallStats::Snapshot() const {
  std::vector<std::tuple<Leaf, TdxStatus, uint64_t>> out;
  for (unsigned leaf = 0; leaf < kLeaves; ++leaf) {
    for (unsigned c = 0; c < kClasses; ++c) {
      uint64_t n = counts_[leaf][c].load(std::memory_order_relaxed);
      if (n == 0) continue;
      // Unlisted codes are reported under ~0 ("other").
      TdxStatus code = c < kKnownStatusCodes.size() ? kKnownStatusCodes[c] : ~TdxStatus{0};
      out.emplace_back(static_cast<Leaf>(leaf), code, n);
    }
  }
  return out;
}

}  // namespace cocomem::tdx
