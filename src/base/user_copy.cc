#include "base/user_copy.h"

#include <setjmp.h>
#include <signal.h>

#include <cerrno>
#include <cstring>
#include <mutex>

namespace cocomem {
namespace {

thread_local sigjmp_buf* t_fixup = nullptr;
struct sigaction g_previous[2];  // SIGSEGV, SIGBUS

void Chain(const struct sigaction& prev, int sig, siginfo_t* info, void* ctx) {
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction) prev.sa_sigaction(sig, info, ctx);
    return;
  }
  if (prev.sa_handler == SIG_IGN) return;
  if (prev.sa_handler != SIG_DFL && prev.sa_handler != nullptr) {
    prev.sa_handler(sig);
    return;
  }
  signal(sig, SIG_DFL);  // returning re-faults into the default action
}

void OnFault(int sig, siginfo_t* info, void* ctx) {
  if (sigjmp_buf* fixup = t_fixup) {
    t_fixup = nullptr;
    siglongjmp(*fixup, 1);
  }
  Chain(g_previous[sig == SIGBUS ? 1 : 0], sig, info, ctx);
}

void InstallFixupHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = OnFault;
    // NODEFER: the jump out of the handler skips sigreturn, so the signal must not be
    // left blocked.
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &g_previous[0]);
    sigaction(SIGBUS, &sa, &g_previous[1]);
  });
}

// memcpy that reports a fault instead of taking it. `volatile` keeps the compiler from
// caching anything across the jump.
Status GuardedCopy(void* dst, const void* src, size_t len) {
  InstallFixupHandlers();
  sigjmp_buf jb;
  if (sigsetjmp(jb, 0) != 0) return Error(EFAULT);
  t_fixup = &jb;
  std::memcpy(dst, src, len);
  t_fixup = nullptr;
  return Ok();
}

}  // namespace

Status CopyFromUser(void* dst, uintptr_t user_src, size_t len) {
  if (len == 0) return Ok();
  if (user_src < 4096) return Error(EFAULT);  // the zero page is never mapped
  return GuardedCopy(dst, reinterpret_cast<const void*>(user_src), len);
}

Status CopyToUser(uintptr_t user_dst, const void* src, size_t len) {
  if (len == 0) return Ok();
  if (user_dst < 4096) return Error(EFAULT);
  return GuardedCopy(reinterpret_cast<void*>(user_dst), src, len);
}

}  // namespace cocomem
