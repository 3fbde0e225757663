// copy_from_user / copy_to_user for ioctl arguments: a bad pointer is EFAULT, never a crash.
//
// The copy goes through process_vm_readv/writev on our own process, so the host kernel
// validates the address exactly as it would for a real ioctl. Where a seccomp profile
// forbids those calls (EPERM), it falls back to a plain copy, and a bad pointer crashes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/result.h"

namespace cocomem {

Status CopyFromUser(void* dst, uintptr_t user_src, size_t len);
Status CopyToUser(uintptr_t user_dst, const void* src, size_t len);

template <typename T>
Status CopyFromUser(T* dst, uintptr_t user_src) {
  return CopyFromUser(static_cast<void*>(dst), user_src, sizeof(T));
}
template <typename T>
Status CopyToUser(uintptr_t user_dst, const T& src) {
  return CopyToUser(user_dst, static_cast<const void*>(&src), sizeof(T));
}

}  // namespace cocomem
