#include "sys/host_backend.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

#include "kvm/params.h"

namespace cocomem::sys {

int HostBackend::Open(const char* path, int flags, mode_t mode) { return ::open(path, flags, mode); }
int HostBackend::Close(int fd) { return ::close(fd); }
int HostBackend::Ioctl(int fd, unsigned long request, uintptr_t arg) {
  return ::ioctl(fd, request, arg);
}
int HostBackend::Fallocate(int fd, int mode, off_t offset, off_t len) {
  return ::fallocate(fd, mode, offset, len);
}
void* HostBackend::Mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) {
  return ::mmap(addr, len, prot, flags, fd, offset);
}
int HostBackend::Munmap(void* addr, size_t len) { return ::munmap(addr, len); }
int HostBackend::Madvise(void* addr, size_t len, int advice) { return ::madvise(addr, len, advice); }
ssize_t HostBackend::Read(int fd, void* buf, size_t count) { return ::read(fd, buf, count); }
ssize_t HostBackend::Write(int fd, const void* buf, size_t count) {
  return ::write(fd, buf, count);
}
ssize_t HostBackend::Pread(int fd, void* buf, size_t count, off_t offset) {
  return ::pread(fd, buf, count, offset);
}
ssize_t HostBackend::Pwrite(int fd, const void* buf, size_t count, off_t offset) {
  return ::pwrite(fd, buf, count, offset);
}
int HostBackend::Ftruncate(int fd, off_t len) { return ::ftruncate(fd, len); }
int HostBackend::Fstat(int fd, struct stat* st) { return ::fstat(fd, st); }

int HostBackend::SetParam(const char* name, const char* value) {
  const std::string n(name ? name : "");
  if (n.empty() || n.find('/') != std::string::npos || n[0] == '.') {
    errno = ENOENT;
    return -1;
  }
  const std::string path = "/sys/module/kvm/parameters/" + n;
  std::string current;
  {
    std::ifstream in(path);
    if (!in) {
      errno = ENOENT;
      return -1;
    }
    std::getline(in, current);
  }
  const std::string v(value ? value : "");
  if (current == v) return 0;
  // Booleans read back as Y/N: compare meanings, not spellings.
  auto want = kvm::ParseKernelBool(v);
  auto have = kvm::ParseKernelBool(current);
  if (want.ok() && have.ok() && *want == *have) return 0;
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == EACCES) errno = EPERM;  // 0444 parameter
    return -1;
  }
  ssize_t n_written = ::write(fd, v.data(), v.size());
  int saved = errno;
  ::close(fd);
  if (n_written < 0) {
    errno = saved;
    return -1;
  }
  return 0;
}

int HostBackend::PinUserPages(void*, size_t) {
  errno = ENOSYS;
  return -1;
}
int HostBackend::UnpinUserPages(void*, size_t) {
  errno = ENOSYS;
  return -1;
}

int HostBackend::InjectMemoryFailure(int gmem_fd, off_t offset) {
  const long page = sysconf(_SC_PAGESIZE);
  if (offset < 0 || offset % page != 0) {
    errno = EINVAL;
    return -1;
  }
  void* p = ::mmap(nullptr, static_cast<size_t>(page), PROT_READ | PROT_WRITE, MAP_SHARED, gmem_fd,
                   offset);
  if (p == MAP_FAILED) return -1;
  int r = ::madvise(p, static_cast<size_t>(page), MADV_HWPOISON);
  int saved = errno;
  ::munmap(p, static_cast<size_t>(page));
  errno = saved;
  return r;
}

}  // namespace cocomem::sys
