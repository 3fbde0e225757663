// `cocomem measure`: the MRTD a scenario's TD image would get, computed without running
// anything — the same pages in the same order KVM_TDX_INIT_MEM_REGION adds them, hashed
// by tdx::Measurement (TDH.MEM.PAGE.ADD, 16 x TDH.MR.EXTEND for measured pages, and
// TDH.MR.FINALIZE).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "cli/scenario.h"

namespace cocomem::cli {

// The bytes of an image region (its pattern at its GPAs, or its file zero-padded).
bool ImageRegionBytes(const ImageRegion& r, std::byte* buf, std::string* error);

struct MeasureResult {
  std::string mrtd;  // 96 hex digits
  uint64_t pages_added = 0, pages_measured = 0;
  std::string error;  // set instead on failure
};

MeasureResult MeasureScenario(const Scenario& s);

}  // namespace cocomem::cli
