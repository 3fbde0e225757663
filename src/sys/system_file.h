// SystemFile: an open "/dev/kvm" (the system ioctls of kvm_dev_ioctl).
#pragma once

#include <memory>

#include "base/file.h"
#include "kvm/kvm.h"
#include "sys/fd_table.h"

namespace cocomem::sys {

class SystemFile final : public File {
 public:
  SystemFile(std::shared_ptr<kvm::Kvm> kvm, FdTable& fds) : kvm_(std::move(kvm)), fds_(fds) {}

  std::string_view name() const override { return "kvm"; }
  Result<long> Ioctl(unsigned long request, uintptr_t arg) override;
  // A character device has FMODE_PREAD, so pread reaches vfs_read: EINVAL.
  Result<size_t> Pread(void*, size_t, off_t) override { return Error(EINVAL); }
  Result<size_t> Pwrite(const void*, size_t, off_t) override { return Error(EINVAL); }
  // crw------- 10:232, like the device node.
  Status Stat(struct stat* st) const override;

 private:
  const std::shared_ptr<kvm::Kvm> kvm_;
  FdTable& fds_;  // the backend's table, which outlives every file in it
};

}  // namespace cocomem::sys
