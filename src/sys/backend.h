// Backend: one implementation of the C facade. Two exist: the emulator and the host's
// real syscalls. Both are process-wide singletons; the facade uses the one named by
// COCOMEM_BACKEND, and C++ callers (cocomem caps, tests) may use both side by side.
//
// Every method has its libc namesake's contract: -1 (MAP_FAILED) and errno on failure.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "base/result.h"

namespace cocomem::sys {

enum class BackendKind { kEmu, kHost };

const char* BackendName(BackendKind kind);
// EINVAL if COCOMEM_BACKEND is set to something other than "emu" or "host".
Result<BackendKind> BackendKindFromEnvironment();

class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendKind kind() const = 0;

  virtual int Open(const char* path, int flags, mode_t mode) = 0;
  virtual int Close(int fd) = 0;
  virtual int Ioctl(int fd, unsigned long request, uintptr_t arg) = 0;
  virtual int Fallocate(int fd, int mode, off_t offset, off_t len) = 0;
  virtual void* Mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) = 0;
  virtual int Munmap(void* addr, size_t len) = 0;
  virtual int Madvise(void* addr, size_t len, int advice) = 0;
  virtual ssize_t Read(int fd, void* buf, size_t count) = 0;
  virtual ssize_t Write(int fd, const void* buf, size_t count) = 0;
  virtual ssize_t Pread(int fd, void* buf, size_t count, off_t offset) = 0;
  virtual ssize_t Pwrite(int fd, const void* buf, size_t count, off_t offset) = 0;
  virtual int Ftruncate(int fd, off_t len) = 0;
  virtual int Fstat(int fd, struct stat* st) = 0;
  virtual int SetParam(const char* name, const char* value) = 0;
  virtual int PinUserPages(void* addr, size_t npages) = 0;
  virtual int UnpinUserPages(void* addr, size_t npages) = 0;
  virtual int InjectMemoryFailure(int gmem_fd, off_t offset) = 0;
};

Backend& GetBackend(BackendKind kind);
// The backend COCOMEM_BACKEND names, or nullptr if the variable is invalid.
Backend* CurrentBackend();

}  // namespace cocomem::sys
