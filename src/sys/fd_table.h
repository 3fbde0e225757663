// FdTable: which file descriptors are emulated objects, and which object each one is.
//
// Every emulated object gets a real fd (a small memfd named after the object, so
// /proc/self/fd reads "memfd:kvm-vm") so its number never collides with the process's
// other files. Lookups hand out shared references, like fget(): an object closed while
// another thread is inside one of its ioctls lives until that ioctl returns.
//
// Thread-safe. An emulated fd must be closed with ccm_close (a plain close() would leave
// a stale entry that a later real file could be mistaken for).
#pragma once

#include <memory>
#include <vector>

#include "base/file.h"
#include "base/mutex.h"
#include "base/result.h"

namespace cocomem::sys {

class FdTable {
 public:
  enum class CloseOnExec { kNo, kYes };

  // The new fd; EMFILE/ENFILE/ENOMEM from the host when no fd can be made.
  Result<int> Install(std::shared_ptr<File> file, CloseOnExec cloexec) EXCLUDES(mu_);
  std::shared_ptr<File> Get(int fd) const EXCLUDES(mu_);
  template <typename T>
  std::shared_ptr<T> GetAs(int fd) const {
    return std::dynamic_pointer_cast<T>(Get(fd));
  }
  // Forgets `fd` and closes the real fd; the object is released when the last reference
  // goes. nullptr if `fd` is not emulated.
  std::shared_ptr<File> Close(int fd) EXCLUDES(mu_);
  size_t count() const EXCLUDES(mu_);

 private:
  mutable SharedMutex mu_;
  std::vector<std::shared_ptr<File>> files_ GUARDED_BY(mu_);  // indexed by fd
  size_t count_ GUARDED_BY(mu_) = 0;
};

}  // namespace cocomem::sys
