// Selftest-style helpers for the conformance suite (after tools/testing/selftests/kvm's
// kvm_util): every call goes through the cocomem facade, so the same test runs on the
// emulator (COCOMEM_BACKEND=emu) and on the running kernel (COCOMEM_BACKEND=host).
// Whatever the running kernel lacks is a skip that says what is missing, never a failure.
#pragma once

#include <cocomem/kvm.h>
#include <cocomem/sys.h>
#include <fcntl.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace kvm_util {

inline bool OnHost() {
  const char* b = ccm_backend_name();
  return b && std::string(b) == "host";
}

// Skips the test (with the reason) unless `cond` holds: the selftests' TEST_REQUIRE.
#define TEST_REQUIRE(cond)                                                           \
  do {                                                                               \
    if (!(cond)) GTEST_SKIP() << "requirement not met on the " << ccm_backend_name() \
                              << " backend: " #cond;                                 \
  } while (0)

// Asserts that `call` failed with `err` (and printed errno's name when not).
#define TEST_ASSERT_ERRNO(call, err)                                                \
  do {                                                                              \
    errno = 0;                                                                      \
    const long ccm_r_ = static_cast<long>(call);                                    \
    const int ccm_e_ = errno;                                                       \
    EXPECT_EQ(ccm_r_, -1) << #call " should fail with " #err;                       \
    EXPECT_EQ(ccm_e_, err) << #call ": got " << std::strerror(ccm_e_) << ", want " \
                           << std::strerror(err);                                   \
  } while (0)

// /dev/kvm, or a skip saying why it cannot be used.
inline int OpenKvmOrSkip(int* fd) {
  *fd = ccm_open("/dev/kvm", O_RDWR | O_CLOEXEC);
  return *fd >= 0 ? 0 : errno;
}

#define OPEN_KVM_OR_SKIP(fd_var)                                                         \
  int fd_var = -1;                                                                       \
  if (int e_ = ::kvm_util::OpenKvmOrSkip(&fd_var); e_ != 0)                              \
    GTEST_SKIP() << "/dev/kvm is not usable on the " << ccm_backend_name()              \
                 << " backend: " << std::strerror(e_)

inline int CheckCap(int kvm_fd, long cap) { return ccm_ioctl(kvm_fd, KVM_CHECK_EXTENSION, cap); }

inline bool VmTypeSupported(int kvm_fd, unsigned long type) {
  const int types = CheckCap(kvm_fd, KVM_CAP_VM_TYPES);
  return types > 0 && type < 32 && (types & (1 << type));
}

}  // namespace kvm_util
