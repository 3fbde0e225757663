#include "sys/fd_table.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace cocomem::sys {

Result<int> FdTable::Install(std::shared_ptr<File> file, CloseOnExec cloexec) {
  const std::string name(file->name());
  const int fd = memfd_create(name.c_str(), cloexec == CloseOnExec::kYes ? MFD_CLOEXEC : 0);
  if (fd < 0) return Error(errno);
  WriterLock l(&mu_);
  if (static_cast<size_t>(fd) >= files_.size()) files_.resize(static_cast<size_t>(fd) + 1);
  files_[static_cast<size_t>(fd)] = std::move(file);
  ++count_;
  return fd;
}

std::shared_ptr<File> FdTable::Get(int fd) const {
  ReaderLock l(&mu_);
  if (fd < 0 || static_cast<size_t>(fd) >= files_.size()) return nullptr;
  return files_[static_cast<size_t>(fd)];
}

std::shared_ptr<File> FdTable::Close(int fd) {
  std::shared_ptr<File> file;
  {
    WriterLock l(&mu_);
    if (fd < 0 || static_cast<size_t>(fd) >= files_.size()) return nullptr;
    file = std::move(files_[static_cast<size_t>(fd)]);
    if (!file) return nullptr;
    --count_;
  }
  // Only now may the number be reused by the host for some other file.
  ::close(fd);
  return file;
}

size_t FdTable::count() const {
  ReaderLock l(&mu_);
  return count_;
}

}  // namespace cocomem::sys
