// The guest program interpreter: the guest function every vCPU of a scenario runs. It
// walks the vCPU's steps (write/read/verify patterns, accept, MapGPA, sync points, loops,
// seeded random access/convert mixes) using only <cocomem/guest.h>, as a guest kernel
// would, and reports what went wrong to the runner through GuestShared.
#pragma once

#include <cocomem/guest.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cli/progress.h"
#include "cli/run_result.h"
#include "cli/scenario.h"

namespace cocomem::cli {

// State the guests of one run share with the runner. Thread-safe.
class GuestShared {
 public:
  explicit GuestShared(Progress* progress) : progress_(progress) {}

  void Failure(std::string message);
  void SetMrtd(std::string hex);
  std::optional<std::string> mrtd() const;
  std::vector<std::string> failures() const;
  GuestCounters counters() const;
  void Advance(uint64_t units) {
    if (progress_) progress_->Advance(units);
  }

  std::atomic<uint64_t> steps{0}, bytes_written{0}, bytes_read{0}, bytes_verified{0}, accepts{0},
      map_gpa{0}, random_ops{0}, syncs{0};

 private:
  Progress* const progress_;
  mutable std::mutex mu_;
  std::vector<std::string> failures_;
  uint64_t dropped_ = 0;
  std::optional<std::string> mrtd_;
};

// What the guest believes about one page when it starts (for random mixes): private or
// shared, and for TDs whether it is accepted already (image pages are).
struct GuestPageView {
  bool is_private = false;
  bool accepted = false;
};

struct GuestContext {
  const VcpuProgram* program = nullptr;
  VmKind vm = VmKind::kDefault;
  GuestShared* shared = nullptr;
  std::function<GuestPageView(uint64_t gpa)> initial_view;
  std::atomic<bool> finished{false};  // the program ran to its end
};

// The guest function (attach with CCM_VCPU_SET_GUEST, arg = GuestContext*).
void RunGuestProgram(ccm_guest* g, void* arg);

// Progress units a program takes (one per step, random op and 2M of data touched).
uint64_t ProgramWork(const Steps& steps);

}  // namespace cocomem::cli
