#include "base/process.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>

namespace cocomem {
namespace {

std::atomic<pid_t> g_pid{0};

void ForgetPid() { g_pid.store(0, std::memory_order_relaxed); }

// Registered during static initialization, before any thread of ours can fork.
[[maybe_unused]] const bool g_atfork_registered =
    pthread_atfork(nullptr, nullptr, ForgetPid) == 0;

}  // namespace

pid_t CurrentPid() {
  pid_t p = g_pid.load(std::memory_order_relaxed);
  if (p != 0) return p;
  p = getpid();
  g_pid.store(p, std::memory_order_relaxed);
  return p;
}

}  // namespace cocomem
