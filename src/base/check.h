// CHECK/DCHECK: broken invariants crash loudly; they are never turned into errors.
#pragma once

namespace cocomem::base {
[[noreturn]] void CheckFailed(const char* file, int line, const char* expr, const char* msg);
}  // namespace cocomem::base

#define CHECK(cond)                                                                \
  do {                                                                             \
    if (__builtin_expect(!(cond), 0))                                              \
      ::cocomem::base::CheckFailed(__FILE__, __LINE__, #cond, nullptr);            \
  } while (0)

#define CHECK_MSG(cond, msg)                                                       \
  do {                                                                             \
    if (__builtin_expect(!(cond), 0))                                              \
      ::cocomem::base::CheckFailed(__FILE__, __LINE__, #cond, (msg));              \
  } while (0)

#ifdef NDEBUG
#define DCHECK(cond) \
  do {               \
    (void)sizeof(!(cond)); \
  } while (0)
#else
#define DCHECK(cond) CHECK(cond)
#endif
