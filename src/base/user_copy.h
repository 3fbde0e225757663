// copy_from_user / copy_to_user for ioctl arguments: a bad pointer is EFAULT, never a crash.
//
// Like the kernel's exception-table fixups: the copy is a plain memcpy under a per-thread
// recovery point, and a SIGSEGV/SIGBUS during it resumes at that point and returns EFAULT.
// The handlers are installed on first use in front of the process's handlers, which still
// get every other fault. A program that installs its own SIGSEGV handler afterwards turns
// a bad ioctl pointer into that handler's business instead of EFAULT.
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
