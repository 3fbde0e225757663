#include "sys/emu_backend.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "sys/system_file.h"

namespace cocomem::sys {
namespace {

constexpr char kKvmPath[] = "/dev/kvm";

// Converts a Result into the libc convention.
template <typename T>
auto ToLibc(const Result<T>& r) {
  if constexpr (std::is_void_v<T>) {
    if (!r.ok()) {
      errno = r.error();
      return -1;
    }
    return 0;
  } else {
    if (!r.ok()) {
      errno = r.error();
      return static_cast<T>(-1);
    }
    return r.value();
  }
}

ssize_t ToLibcSize(const Result<size_t>& r) {
  if (!r.ok()) {
    errno = r.error();
    return -1;
  }
  return static_cast<ssize_t>(*r);
}

bool PageReadable(uintptr_t addr) {
  char byte;
  iovec local{&byte, 1};
  iovec remote{reinterpret_cast<void*>(addr), 1};
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1;
}

}  // namespace

Result<std::shared_ptr<kvm::Kvm>> EmuBackend::Machine() {
  MutexLock l(&mu_);
  if (!machine_) {
    ASSIGN_OR_RETURN(auto options, host::ArenaOptions::FromEnvironment());
    ASSIGN_OR_RETURN(machine_, kvm::Kvm::Create(options));
  }
  return machine_;
}

int EmuBackend::Open(const char* path, int flags, mode_t mode) {
  if (path == nullptr || std::strcmp(path, kKvmPath) != 0) return ::open(path, flags, mode);
  auto machine = Machine();
  if (!machine.ok()) return ToLibc(Status(Error(machine.error())));
  auto fd = fds_.Install(std::make_shared<SystemFile>(*machine, fds_),
                         (flags & O_CLOEXEC) ? FdTable::CloseOnExec::kYes
                                             : FdTable::CloseOnExec::kNo);
  return ToLibc(fd);
}

int EmuBackend::Close(int fd) {
  if (fds_.Close(fd)) return 0;
  return ::close(fd);
}

int EmuBackend::Ioctl(int fd, unsigned long request, uintptr_t arg) {
  auto file = fds_.Get(fd);
  if (!file) return ::ioctl(fd, request, arg);
  Result<long> r = file->Ioctl(request, arg);
  if (!r.ok()) {
    errno = r.error();
    return -1;
  }
  return static_cast<int>(*r);
}

int EmuBackend::Fallocate(int fd, int mode, off_t offset, off_t len) {
  auto file = fds_.Get(fd);
  if (!file) return ::fallocate(fd, mode, offset, len);
  if (Status s = VfsFallocateChecks(mode, offset, len); !s.ok()) return ToLibc(s);
  return ToLibc(file->Fallocate(mode, offset, len));
}

void EmuBackend::DropMappings(void* addr, size_t len) {
  const auto start = reinterpret_cast<uintptr_t>(addr);
  const uintptr_t end = start + ((len + kPageSize - 1) & ~(kPageSize - 1));
  for (const MappingTable::Piece& p : mappings_.Remove(start, end)) {
    p.file->Munmap(reinterpret_cast<void*>(p.start), p.end - p.start);
  }
}

void* EmuBackend::Mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) {
  auto file = (flags & MAP_ANONYMOUS) ? nullptr : fds_.Get(fd);
  // MAP_FIXED replaces whatever was there, emulated mappings included.
  if ((flags & MAP_FIXED) && len > 0 && reinterpret_cast<uintptr_t>(addr) % kPageSize == 0) {
    DropMappings(addr, len);
  }
  if (!file) return ::mmap(addr, len, prot, flags, fd, offset);
  Result<void*> r = file->Mmap(addr, len, prot, flags, offset);
  if (!r.ok()) {
    errno = r.error();
    return MAP_FAILED;
  }
  const auto start = reinterpret_cast<uintptr_t>(*r);
  mappings_.Add(start, start + ((len + kPageSize - 1) & ~(kPageSize - 1)), file);
  return *r;
}

int EmuBackend::Munmap(void* addr, size_t len) {
  if (reinterpret_cast<uintptr_t>(addr) % kPageSize != 0 || len == 0) {
    errno = EINVAL;
    return -1;
  }
  DropMappings(addr, len);  // before the real munmap, so nothing remaps into freed space
  return ::munmap(addr, len);
}

int EmuBackend::Madvise(void* addr, size_t len, int advice) {
  const auto start = reinterpret_cast<uintptr_t>(addr);
  const uintptr_t end = start + ((len + kPageSize - 1) & ~(kPageSize - 1));
  auto pieces = mappings_.Overlapping(start, end);
  if (pieces.empty() || start % kPageSize != 0) return ::madvise(addr, len, advice);
  // Emulated pieces go to their file, the gaps between them to the host.
  uintptr_t at = start;
  for (const MappingTable::Piece& p : pieces) {
    if (at < p.start && ::madvise(reinterpret_cast<void*>(at), p.start - at, advice) != 0) return -1;
    if (Status s = p.file->Madvise(reinterpret_cast<void*>(p.start), p.end - p.start, advice);
        !s.ok()) {
      return ToLibc(s);
    }
    at = p.end;
  }
  if (at < end && ::madvise(reinterpret_cast<void*>(at), end - at, advice) != 0) return -1;
  return 0;
}

ssize_t EmuBackend::Read(int fd, void* buf, size_t count) {
  auto file = fds_.Get(fd);
  if (!file) return ::read(fd, buf, count);
  return ToLibcSize(file->Read(buf, count));
}

ssize_t EmuBackend::Write(int fd, const void* buf, size_t count) {
  auto file = fds_.Get(fd);
  if (!file) return ::write(fd, buf, count);
  return ToLibcSize(file->Write(buf, count));
}

ssize_t EmuBackend::Pread(int fd, void* buf, size_t count, off_t offset) {
  auto file = fds_.Get(fd);
  if (!file) return ::pread(fd, buf, count, offset);
  return ToLibcSize(file->Pread(buf, count, offset));
}

ssize_t EmuBackend::Pwrite(int fd, const void* buf, size_t count, off_t offset) {
  auto file = fds_.Get(fd);
  if (!file) return ::pwrite(fd, buf, count, offset);
  return ToLibcSize(file->Pwrite(buf, count, offset));
}

int EmuBackend::Ftruncate(int fd, off_t len) {
  auto file = fds_.Get(fd);
  if (!file) return ::ftruncate(fd, len);
  return ToLibc(file->Ftruncate(len));
}

int EmuBackend::Fstat(int fd, struct stat* st) {
  auto file = fds_.Get(fd);
  if (!file) return ::fstat(fd, st);
  if (st == nullptr) {
    errno = EFAULT;
    return -1;
  }
  return ToLibc(file->Stat(st));
}

int EmuBackend::SetParam(const char* name, const char* value) {
  if (name == nullptr || value == nullptr) {
    errno = EFAULT;
    return -1;
  }
  auto machine = Machine();
  if (!machine.ok()) return ToLibc(Status(Error(machine.error())));
  return ToLibc((*machine)->SetParam(name, value));
}

int EmuBackend::PinUserPages(void* addr, size_t npages) {
  const auto start = reinterpret_cast<uintptr_t>(addr);
  if (start % kPageSize != 0 || npages == 0) {
    errno = EINVAL;
    return -1;
  }
  // GUP faults every page in first; any failure undoes the pins taken (all or nothing).
  std::vector<std::pair<uintptr_t, PinRecord>> taken;
  auto undo = [&] {
    for (auto& [page, rec] : taken) {
      if (rec.file) rec.file->UnpinPage(rec.token);
    }
  };
  for (size_t i = 0; i < npages; i++) {
    const uintptr_t page = start + i * kPageSize;
    PinRecord rec{mappings_.Find(page), 0};
    if (rec.file) {
      Result<uint64_t> token = rec.file->PinPage(reinterpret_cast<void*>(page));
      if (!token.ok()) {
        undo();
        errno = token.error();
        return -1;
      }
      rec.token = *token;
    } else if (!PageReadable(page)) {
      undo();
      errno = EFAULT;
      return -1;
    }
    taken.emplace_back(page, std::move(rec));
  }
  MutexLock l(&pins_mu_);
  for (auto& [page, rec] : taken) pins_[page].push_back(std::move(rec));
  return 0;
}

int EmuBackend::UnpinUserPages(void* addr, size_t npages) {
  const auto start = reinterpret_cast<uintptr_t>(addr);
  if (start % kPageSize != 0 || npages == 0) {
    errno = EINVAL;
    return -1;
  }
  std::vector<PinRecord> dropped;
  {
    MutexLock l(&pins_mu_);
    for (size_t i = 0; i < npages; i++) {
      if (!pins_.count(start + i * kPageSize)) {
        errno = EINVAL;
        return -1;
      }
    }
    for (size_t i = 0; i < npages; i++) {
      auto it = pins_.find(start + i * kPageSize);
      dropped.push_back(std::move(it->second.back()));
      it->second.pop_back();
      if (it->second.empty()) pins_.erase(it);
    }
  }
  for (PinRecord& rec : dropped) {
    if (rec.file) rec.file->UnpinPage(rec.token);
  }
  return 0;
}

int EmuBackend::InjectMemoryFailure(int gmem_fd, off_t offset) {
  auto file = fds_.Get(gmem_fd);
  if (!file) {
    errno = fcntl(gmem_fd, F_GETFD) < 0 ? EBADF : EINVAL;
    return -1;
  }
  return ToLibc(file->InjectMemoryFailure(offset));
}

}  // namespace cocomem::sys
