// The scenario subcommands of `cocomem`: run, check, measure. Each returns the process
// exit code: 0 success, 1 a failed expectation (or run failure), 2 a malformed scenario.
#pragma once

#include <string>

namespace cocomem::cli {

inline constexpr int kExitOk = 0, kExitFailed = 1, kExitMalformed = 2;

struct RunCommandOptions {
  std::string file;
  std::string json, svg, html, trace;  // output files; empty = none
  bool stable = false;                 // report without timings (golden files)
  bool quiet = false;                  // no report on stdout (only failures on stderr)
  bool progress = true;                // draw a progress bar when stderr is a terminal
};

int RunCommand(const RunCommandOptions& o);
int CheckCommand(const std::string& file);
int MeasureCommand(const std::string& file, bool json);

}  // namespace cocomem::cli
