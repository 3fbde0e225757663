// The readable summary of a run (stdout of `cocomem run`).
#pragma once

#include <string>

#include "cli/run_result.h"

namespace cocomem::cli {

enum class ReportStyle {
  kFull,    // everything
  kStable,  // without timings and host-dependent numbers (golden files)
};

std::string FormatReport(const RunResult& r, ReportStyle style);
// "1.5M", "64K", "3 bytes": a byte count for humans.
std::string HumanBytes(uint64_t bytes);

}  // namespace cocomem::cli
