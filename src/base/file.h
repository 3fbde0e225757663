// File: an emulated kernel object behind a file descriptor (system, VM, guest_memfd, vCPU).
//
// Each operation defaults to what the kernel does for a file that lacks the matching
// file_operation, so an object only overrides what it supports. Errors are errnos.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <string_view>

#include "base/result.h"

namespace cocomem {

class File {
 public:
  virtual ~File() = default;

  // anon-inode name, e.g. "kvm-vm", "[kvm-gmem]"; also names the backing real fd.
  virtual std::string_view name() const = 0;

  // `arg` is the untyped ioctl argument (often a user pointer): see base/user_copy.h.
  virtual Result<long> Ioctl(unsigned long request, uintptr_t arg) = 0;

  // No .read/.write: the VFS answers EINVAL (vfs_read: !FMODE_CAN_READ).
  virtual Result<size_t> Read(void*, size_t) { return Error(EINVAL); }
  virtual Result<size_t> Write(const void*, size_t) { return Error(EINVAL); }
  // Anon-inode files have no FMODE_PREAD/PWRITE: ESPIPE before anything else.
  virtual Result<size_t> Pread(void*, size_t, off_t) { return Error(ESPIPE); }
  virtual Result<size_t> Pwrite(const void*, size_t, off_t) { return Error(ESPIPE); }
  // vfs_fallocate refuses anything but regular files and block devices with ENODEV.
  virtual Status Fallocate(int, off_t, off_t) { return Error(ENODEV); }
  // Anon inodes refuse size changes.
  virtual Status Ftruncate(off_t) { return Error(EINVAL); }
  // No .mmap: ENODEV.
  virtual Result<void*> Mmap(void*, size_t, int, int, off_t) { return Error(ENODEV); }
  // Anon inode: mode 0600 without type bits, size 0, 4K blocks.
  virtual Status Stat(struct stat* st) const;
  // ccm_inject_memory_failure on something that is not a guest_memfd.
  virtual Status InjectMemoryFailure(off_t) { return Error(EINVAL); }

  // ---- host mappings made by Mmap; the backend routes calls on their addresses here ----
  // Forget and unmap [addr, addr + len) (part of a mapping of this file).
  virtual void Munmap(void*, size_t) {}
  // madvise on part of a mapping of this file.
  virtual Status Madvise(void*, size_t, int) { return Error(EINVAL); }
  // Long-term GUP pin of the page at `addr`; the token identifies the pinned page for
  // UnpinPage even after the mapping is gone.
  virtual Result<uint64_t> PinPage(void*) { return Error(EFAULT); }
  virtual void UnpinPage(uint64_t) {}
};

// The VFS's own fallocate checks, made before any file's: EINVAL for a negative offset or
// a non-positive length, EOPNOTSUPP for modes no filesystem knows or that contradict
// themselves (PUNCH_HOLE without KEEP_SIZE, ...).
Status VfsFallocateChecks(int mode, off_t offset, off_t len);

}  // namespace cocomem
