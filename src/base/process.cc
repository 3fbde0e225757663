#include "base/process.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>

namespace cocomem {
namespace {

std::atomic<pid_t> g_pid{0};

void ForgetPid() { g_pid.store(0, std::memory_order_relaxed); }

}  // namespace

pid_t CurrentPid() {
  pid_t p = g_pid.load(std::memory_order_relaxed);
  if (p != 0) return p;
  static const bool registered = [] { return pthread_atfork(nullptr, nullptr, ForgetPid) == 0; }();
  (void)registered;
  p = getpid();
  g_pid.store(p, std::memory_order_relaxed);
  return p;
}

}  // namespace cocomem
