#include "cli/progress.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace cocomem::cli {

Progress::Progress(bool enabled, std::string title) : enabled_(enabled), title_(std::move(title)) {
  if (enabled_) thread_ = std::thread([this] { Loop(); });
}

Progress::~Progress() {
  if (!enabled_) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
}

void Progress::SetPhase(const std::string& phase) {
  if (!enabled_) return;
  std::lock_guard<std::mutex> l(mu_);
  phase_ = phase;
}

void Progress::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    cv_.wait_for(l, std::chrono::milliseconds(100));
    if (stop_) break;
    l.unlock();
    Draw();
    l.lock();
  }
}

void Progress::Draw() {
  std::string phase;
  {
    std::lock_guard<std::mutex> l(mu_);
    phase = phase_;
  }
  const uint64_t total = total_.load(std::memory_order_relaxed);
  const uint64_t done = std::min(done_.load(std::memory_order_relaxed), total);
  constexpr int kWidth = 30;
  const int filled = total ? static_cast<int>(done * kWidth / total) : 0;
  const std::string bar = std::string(static_cast<size_t>(filled), '#') +
                          std::string(static_cast<size_t>(kWidth - filled), '.');
  const unsigned pct = total ? static_cast<unsigned>(done * 100 / total) : 0;
  std::fputs(fmt::format("\r\033[K{} [{}] {:3}% {}", title_, bar, pct, phase).c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace cocomem::cli
