#include "gmem/poison_signal.h"

#include <signal.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>

namespace cocomem::gmem {
namespace {

// Lock-free so the signal handler can read it. 0 = free slot.
std::array<std::atomic<uintptr_t>, 4096> g_poisoned;
// How many slots are in use: conversions call UnregisterPoisonedRange on every host
// mapping change, and almost always nothing is poisoned.
std::atomic<int> g_poisoned_count{0};
std::mutex g_install_mu;
struct sigaction g_previous;

bool IsPoisoned(uintptr_t page) {
  for (const auto& slot : g_poisoned) {
    if (slot.load(std::memory_order_acquire) == page) return true;
  }
  return false;
}

void OnSigbus(int sig, siginfo_t* info, void* ctx) {
  siginfo_t copy;
  const auto page = reinterpret_cast<uintptr_t>(info->si_addr) & ~uintptr_t{4095};
  if (info->si_code == BUS_ADRERR && IsPoisoned(page)) {
    copy = *info;
    copy.si_code = BUS_MCEERR_AR;
    copy.si_addr_lsb = 12;
    info = &copy;
  }
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction) g_previous.sa_sigaction(sig, info, ctx);
    return;
  }
  if (g_previous.sa_handler == SIG_IGN) return;
  if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != nullptr) {
    g_previous.sa_handler(sig);
    return;
  }
  signal(SIGBUS, SIG_DFL);  // returning re-faults into the default action
}

}  // namespace

void RegisterPoisonedPage(const void* page) {
  const auto p = reinterpret_cast<uintptr_t>(page);
  if (IsPoisoned(p)) return;
  for (auto& slot : g_poisoned) {
    uintptr_t expected = 0;
    if (slot.compare_exchange_strong(expected, p)) {
      g_poisoned_count.fetch_add(1);
      return;
    }
  }
  // Table full: the page still SIGBUSes, with BUS_ADRERR.
}

void UnregisterPoisonedRange(const void* start, size_t len) {
  if (g_poisoned_count.load(std::memory_order_acquire) == 0) return;
  const auto s = reinterpret_cast<uintptr_t>(start);
  for (auto& slot : g_poisoned) {
    uintptr_t v = slot.load(std::memory_order_relaxed);
    if (v != 0 && v >= s && v - s < len && slot.compare_exchange_strong(v, 0)) {
      g_poisoned_count.fetch_sub(1);
    }
  }
}

void InstallMceSigbusHandler() {
  std::lock_guard<std::mutex> l(g_install_mu);
  struct sigaction current {};
  sigaction(SIGBUS, nullptr, &current);
  if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == OnSigbus) return;
  struct sigaction sa {};
  sa.sa_sigaction = OnSigbus;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &g_previous);
}

}  // namespace cocomem::gmem
