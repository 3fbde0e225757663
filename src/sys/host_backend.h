// HostBackend: every call goes to the running kernel unchanged.
#pragma once

#include "sys/backend.h"

namespace cocomem::sys {

class HostBackend final : public Backend {
 public:
  BackendKind kind() const override { return BackendKind::kHost; }
  int Open(const char* path, int flags, mode_t mode) override;
  int Close(int fd) override;
  int Ioctl(int fd, unsigned long request, uintptr_t arg) override;
  int Fallocate(int fd, int mode, off_t offset, off_t len) override;
  void* Mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) override;
  int Munmap(void* addr, size_t len) override;
  int Madvise(void* addr, size_t len, int advice) override;
  ssize_t Read(int fd, void* buf, size_t count) override;
  ssize_t Write(int fd, const void* buf, size_t count) override;
  ssize_t Pread(int fd, void* buf, size_t count, off_t offset) override;
  ssize_t Pwrite(int fd, const void* buf, size_t count, off_t offset) override;
  int Ftruncate(int fd, off_t len) override;
  int Fstat(int fd, struct stat* st) override;
  // Writes /sys/module/kvm/parameters/NAME; a read-only parameter that already has the
  // requested value succeeds, one that differs fails with EPERM.
  int SetParam(const char* name, const char* value) override;
  // The host needs CONFIG_GUP_TEST's debugfs file for long-term pins; without it ENOSYS.
  int PinUserPages(void* addr, size_t npages) override;
  int UnpinUserPages(void* addr, size_t npages) override;
  // Maps the page and MADV_HWPOISONs it (needs CAP_SYS_ADMIN and a mmap-able gmem).
  int InjectMemoryFailure(int gmem_fd, off_t offset) override;
};

}  // namespace cocomem::sys
