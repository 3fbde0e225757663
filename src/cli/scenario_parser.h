// ScenarioParser: a scenario YAML file (yaml-cpp) into the Scenario model.
//
// Only the shape is checked here: known keys, value types, number syntax. Meaning
// (ranges inside memslots, alignment, TDX-only fields...) is the validator's job. The
// first error stops parsing and is reported at its exact `line:column`.
#pragma once

#include <string>
#include <variant>

#include "cli/scenario.h"

namespace cocomem::cli {

// The scenario, or the first problem found (with its position).
std::variant<Scenario, Diagnostic> ParseScenarioFile(const std::string& path);
std::variant<Scenario, Diagnostic> ParseScenarioText(const std::string& text,
                                                     const std::string& path);

// "4096", "0x1000", "4K", "2M", "1G", "4G + 2M", "3 * 4K": the value, or nullopt.
std::optional<uint64_t> ParseSizeExpression(const std::string& text);

}  // namespace cocomem::cli
