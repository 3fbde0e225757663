// Progress: a one-line progress bar on stderr, redrawn by a background thread, shown only
// when stderr is a terminal (quiet in pipes, CI logs and tests).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace cocomem::cli {

class Progress {
 public:
  // enabled: draw at all (the caller passes isatty(2) and any --no-progress).
  Progress(bool enabled, std::string title);
  ~Progress();  // clears the line
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void SetPhase(const std::string& phase);
  void SetTotal(uint64_t units) { total_.store(units, std::memory_order_relaxed); }
  void Advance(uint64_t units = 1) { done_.fetch_add(units, std::memory_order_relaxed); }
  bool enabled() const { return enabled_; }

 private:
  void Loop();
  void Draw();

  const bool enabled_;
  const std::string title_;
  std::atomic<uint64_t> total_{0}, done_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::string phase_;  // guarded by mu_
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace cocomem::cli
