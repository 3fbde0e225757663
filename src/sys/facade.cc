// The C facade of include/cocomem/sys.h: each call goes to the current backend.
#include <cocomem/kvm.h>
#include <cocomem/sys.h>
#include <fcntl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdarg>
#include <cstdint>

#include "base/trace.h"
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
  if (!cocomem::trace::Enabled()) return b ? b->Ioctl(fd, request, arg) : -1;
  // Traced: one complete event per ioctl, named after it, with the fd and the result.
  const char* name = [request]() -> const char* {
    switch (request) {
      case KVM_CREATE_VM: return "KVM_CREATE_VM";
      case KVM_CHECK_EXTENSION: return "KVM_CHECK_EXTENSION";
      case KVM_GET_VCPU_MMAP_SIZE: return "KVM_GET_VCPU_MMAP_SIZE";
      case KVM_CREATE_VCPU: return "KVM_CREATE_VCPU";
      case KVM_RUN: return "KVM_RUN";
      case KVM_SET_USER_MEMORY_REGION: return "KVM_SET_USER_MEMORY_REGION";
      case KVM_SET_USER_MEMORY_REGION2: return "KVM_SET_USER_MEMORY_REGION2";
      case KVM_SET_MEMORY_ATTRIBUTES: return "KVM_SET_MEMORY_ATTRIBUTES";
      case KVM_SET_MEMORY_ATTRIBUTES2: return "KVM_SET_MEMORY_ATTRIBUTES2";
      case KVM_CREATE_GUEST_MEMFD: return "KVM_CREATE_GUEST_MEMFD";
      case KVM_PRE_FAULT_MEMORY: return "KVM_PRE_FAULT_MEMORY";
      case KVM_ENABLE_CAP: return "KVM_ENABLE_CAP";
      case KVM_MEMORY_ENCRYPT_OP: return "KVM_MEMORY_ENCRYPT_OP";
      case CCM_VCPU_SET_GUEST: return "CCM_VCPU_SET_GUEST";
      default: return "ioctl";
    }
  }();
  cocomem::trace::Scope scope("ioctl", name);
  scope.Arg("fd", static_cast<uint64_t>(fd));
  const int rc = b ? b->Ioctl(fd, request, arg) : -1;
  const int saved = errno;
  scope.Arg("ret", std::to_string(rc));
  if (rc < 0) scope.Arg("errno", static_cast<uint64_t>(saved));
  errno = saved;
  return rc;
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
