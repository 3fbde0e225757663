// The run's data for machines (`cocomem run --json FILE`): the same facts as the text
// report, under a versioned schema ("schema": "cocomem-run/1").
#pragma once

#include <nlohmann/json.hpp>

#include "cli/run_result.h"

namespace cocomem::cli {

inline constexpr const char* kRunSchema = "cocomem-run/1";

nlohmann::json RunJson(const RunResult& r);

}  // namespace cocomem::cli
