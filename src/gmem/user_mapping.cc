#include "gmem/user_mapping.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/check.h"

namespace cocomem::gmem {
namespace {

bool Clip(const UserMapping& m, PgOff* start, PgOff* end) {
  *start = std::max(*start, m.first);
  *end = std::min(*end, m.end());
  return *start < *end;
}

}  // namespace

int SigbusFd() {
  static const int fd = [] {
    int f = memfd_create("cocomem-sigbus", MFD_CLOEXEC);
    CHECK_MSG(f >= 0, "memfd_create for the SIGBUS file");
    return f;
  }();
  return fd;
}

Status MapShared(const UserMapping& m, PgOff start, PgOff end, int arena_fd,
                 uint64_t arena_byte_offset_of_page0) {
  if (!Clip(m, &start, &end)) return Ok();
  void* p = mmap(m.AddressOf(start), (end - start) << kPageShift, m.prot, MAP_SHARED | MAP_FIXED,
                 arena_fd, static_cast<off_t>(arena_byte_offset_of_page0 + ByteOf(start)));
  if (p == MAP_FAILED) return Error(errno);
  return Ok();
}

Status MapSigbus(const UserMapping& m, PgOff start, PgOff end) {
  if (!Clip(m, &start, &end)) return Ok();
  // The offset mirrors the file page, so neighbouring SIGBUS pages merge into one VMA.
  void* p = mmap(m.AddressOf(start), (end - start) << kPageShift, m.prot, MAP_SHARED | MAP_FIXED,
                 SigbusFd(), static_cast<off_t>(ByteOf(start)));
  if (p == MAP_FAILED) return Error(errno);
  return Ok();
}

}  // namespace cocomem::gmem
