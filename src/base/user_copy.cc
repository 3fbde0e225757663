#include "base/user_copy.h"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cocomem {
Status CopyFromUser(void* dst, uintptr_t user_src, size_t len) {
  if (len == 0) return Ok();
  if (user_src == 0) return Error(EFAULT);
  iovec local{dst, len};
  iovec remote{reinterpret_cast<void*>(user_src), len};
  ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
  if (n == static_cast<ssize_t>(len)) return Ok();
  if (n < 0 && errno == EPERM) {  // ptrace restrictions: fall back to a plain copy
    std::memcpy(dst, reinterpret_cast<const void*>(user_src), len);
    return Ok();
  }
  return Error(EFAULT);
}

Status CopyToUser(uintptr_t user_dst, const void* src, size_t len) {
  if (len == 0) return Ok();
  if (user_dst == 0) return Error(EFAULT);
  iovec local{const_cast<void*>(src), len};
  iovec remote{reinterpret_cast<void*>(user_dst), len};
  ssize_t n = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
  if (n == static_cast<ssize_t>(len)) return Ok();
  if (n < 0 && errno == EPERM) {
    std::memcpy(reinterpret_cast<void*>(user_dst), src, len);
    return Ok();
  }
  return Error(EFAULT);
}

}  // namespace cocomem
