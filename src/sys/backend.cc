#include "sys/backend.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "sys/emu_backend.h"
#include "sys/host_backend.h"

namespace cocomem::sys {

const char* BackendName(BackendKind kind) {
  return kind == BackendKind::kHost ? "host" : "emu";
}

Result<BackendKind> BackendKindFromEnvironment() {
  const char* s = std::getenv("COCOMEM_BACKEND");
  if (s == nullptr || *s == '\0' || std::string_view(s) == "emu") return BackendKind::kEmu;
  if (std::string_view(s) == "host") return BackendKind::kHost;
  return Error(EINVAL);
}

Backend& GetBackend(BackendKind kind) {
  // Never destroyed: objects may still be closed from static destructors of users.
  static EmuBackend* emu = new EmuBackend();
  static HostBackend* host = new HostBackend();
  return kind == BackendKind::kHost ? static_cast<Backend&>(*host) : *emu;
}

Backend* CurrentBackend() {
  static Backend* const current = []() -> Backend* {
    auto kind = BackendKindFromEnvironment();
    if (!kind.ok()) {
      std::fprintf(stderr,
                   "cocomem: COCOMEM_BACKEND=%s is neither \"emu\" nor \"host\"; every ccm_ "
                   "call fails with EINVAL\n",
                   std::getenv("COCOMEM_BACKEND"));
      return nullptr;
    }
    return &GetBackend(*kind);
  }();
  return current;
}

}  // namespace cocomem::sys
