// EmuBackend: "/dev/kvm" and everything made from it are emulated; every other path or
// fd goes to the host, so a VMM can send all of its calls through the facade.
#pragma once

#include <map>
#include <memory>

#include "base/mutex.h"
#include "kvm/kvm.h"
#include "sys/backend.h"
#include "sys/fd_table.h"
#include "sys/mapping_table.h"

namespace cocomem::sys {

class EmuBackend final : public Backend {
 public:
  BackendKind kind() const override { return BackendKind::kEmu; }
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
  int SetParam(const char* name, const char* value) override;
  int PinUserPages(void* addr, size_t npages) override;
  int UnpinUserPages(void* addr, size_t npages) override;
  int InjectMemoryFailure(int gmem_fd, off_t offset) override;

  // The emulated host, created on first use (its arena from ArenaOptions::FromEnvironment).
  Result<std::shared_ptr<kvm::Kvm>> Machine() EXCLUDES(mu_);
  FdTable& fds() { return fds_; }
  const MappingTable& mappings() const { return mappings_; }

 private:
  Mutex mu_;
  std::shared_ptr<kvm::Kvm> machine_ GUARDED_BY(mu_);
  FdTable fds_;
  MappingTable mappings_;
  // Forgets the emulated mappings in [addr, addr + len) (munmap, or MAP_FIXED over them).
  void DropMappings(void* addr, size_t len);

  // Long-term pins by page address; each pin remembers the file that took it (nullptr
  // for ordinary memory) so unpin reaches it even after the mapping is gone.
  struct PinRecord {
    std::shared_ptr<File> file;
    uint64_t token;
  };
  Mutex pins_mu_;
  std::map<uintptr_t, std::vector<PinRecord>> pins_ GUARDED_BY(pins_mu_);
};

}  // namespace cocomem::sys
