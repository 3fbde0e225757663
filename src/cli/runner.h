// Runner: runs a validated scenario the way a VMM would — every step through the C facade
// (ccm_open("/dev/kvm"), ccm_ioctl, ccm_mmap, ccm_fallocate, ...), one host thread per
// vCPU looping on KVM_RUN and handling its exits — and collects a RunResult. Only the
// checks and the report look behind the fds (sys/introspect).
#pragma once

#include "cli/chrome_trace.h"
#include "cli/progress.h"
#include "cli/run_result.h"
#include "cli/scenario.h"

namespace cocomem::cli {

struct RunOptions {
  Progress* progress = nullptr;      // may be null
  ChromeTraceSink* trace = nullptr;  // may be null: names the runner's threads
};

// Forces the emulator backend for this process (the host kernel has no TDX, no guest
// functions). Must run before the first ccm_ call; false if another backend was forced.
bool UseEmulatorBackend();

RunResult RunScenario(const Scenario& s, const RunOptions& options);

}  // namespace cocomem::cli
