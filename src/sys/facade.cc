// The C facade of include/cocomem/sys.h: each call goes to the current backend.
#include <cocomem/sys.h>
#include <fcntl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdarg>
#include <cstdint>

#include "sys/backend.h"

using cocomem::sys::Backend;
using cocomem::sys::CurrentBackend;

namespace {

Backend* BackendOrFail() {
  Backend* b = CurrentBackend();
  if (b == nullptr) errno = EINVAL;
  return b;
}

}  // namespace

extern "C" {

int ccm_open(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = static_cast<mode_t>(va_arg(ap, unsigned int));
    va_end(ap);
  }
  Backend* b = BackendOrFail();
  return b ? b->Open(path, flags, mode) : -1;
}

int ccm_close(int fd) {
  Backend* b = BackendOrFail();
  return b ? b->Close(fd) : -1;
}

int ccm_ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  const auto arg = static_cast<uintptr_t>(va_arg(ap, unsigned long));
  va_end(ap);
  Backend* b = BackendOrFail();
  return b ? b->Ioctl(fd, request, arg) : -1;
}

int ccm_fallocate(int fd, int mode, off_t offset, off_t len) {
  Backend* b = BackendOrFail();
  return b ? b->Fallocate(fd, mode, offset, len) : -1;
}

void* ccm_mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) {
  Backend* b = BackendOrFail();
  return b ? b->Mmap(addr, len, prot, flags, fd, offset) : MAP_FAILED;
}

int ccm_munmap(void* addr, size_t len) {
  Backend* b = BackendOrFail();
  return b ? b->Munmap(addr, len) : -1;
}

int ccm_madvise(void* addr, size_t len, int advice) {
  Backend* b = BackendOrFail();
  return b ? b->Madvise(addr, len, advice) : -1;
}

ssize_t ccm_read(int fd, void* buf, size_t count) {
  Backend* b = BackendOrFail();
  return b ? b->Read(fd, buf, count) : -1;
}

ssize_t ccm_write(int fd, const void* buf, size_t count) {
  Backend* b = BackendOrFail();
  return b ? b->Write(fd, buf, count) : -1;
}

ssize_t ccm_pread(int fd, void* buf, size_t count, off_t offset) {
  Backend* b = BackendOrFail();
  return b ? b->Pread(fd, buf, count, offset) : -1;
}

ssize_t ccm_pwrite(int fd, const void* buf, size_t count, off_t offset) {
  Backend* b = BackendOrFail();
  return b ? b->Pwrite(fd, buf, count, offset) : -1;
}

int ccm_ftruncate(int fd, off_t len) {
  Backend* b = BackendOrFail();
  return b ? b->Ftruncate(fd, len) : -1;
}

int ccm_fstat(int fd, struct stat* st) {
  Backend* b = BackendOrFail();
  return b ? b->Fstat(fd, st) : -1;
}

int ccm_set_param(const char* name, const char* value) {
  Backend* b = BackendOrFail();
  return b ? b->SetParam(name, value) : -1;
}

int ccm_pin_user_pages(void* addr, size_t npages) {
  Backend* b = BackendOrFail();
  return b ? b->PinUserPages(addr, npages) : -1;
}

int ccm_unpin_user_pages(void* addr, size_t npages) {
  Backend* b = BackendOrFail();
  return b ? b->UnpinUserPages(addr, npages) : -1;
}

int ccm_inject_memory_failure(int gmem_fd, off_t offset) {
  Backend* b = BackendOrFail();
  return b ? b->InjectMemoryFailure(gmem_fd, offset) : -1;
}

const char* ccm_backend_name(void) {
  Backend* b = CurrentBackend();
  return b ? cocomem::sys::BackendName(b->kind()) : nullptr;
}

}  // extern "C"
