// Many threads opening, using and closing emulated fds at once, with ordinary files mixed
// in: numbers must never be confused (also run under ThreadSanitizer).
#include <cocomem/cocomem.hpp>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

TEST(FacadeConcurrency, OpenIoctlCloseRace) {
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; i++) {
        int kvm = ccm_open("/dev/kvm", O_RDWR | O_CLOEXEC);
        int real = ccm_open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (kvm < 0 || real < 0) {
          errors++;
          continue;
        }
        int vm = ccm_ioctl(kvm, KVM_CREATE_VM, i % 2 ? KVM_X86_TDX_VM : KVM_X86_DEFAULT_VM);
        if (ccm_ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) errors++;
        if (vm < 0 || ccm_ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES) <= 0) errors++;
        // An ordinary fd keeps its host behaviour even while KVM fds come and go.
        errno = 0;
        if (ccm_ioctl(real, KVM_GET_API_VERSION, 0) != -1 || errno != ENOTTY) errors++;
        if (vm >= 0) ccm_close(vm);
        ccm_close(kvm);
        ccm_close(real);
      }
    });
  }
  // Meanwhile, a thread hammers a VM fd that another thread closes.
  int kvm = ccm_open("/dev/kvm", O_RDWR);
  ASSERT_GE(kvm, 0);
  int vm = ccm_ioctl(kvm, KVM_CREATE_VM, 0);
  ASSERT_GE(vm, 0);
  std::atomic<bool> closed{false};
  std::thread user([&] {
    while (!closed.load()) {
      int r = ccm_ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES);
      // Either the VM answers, or the fd is gone (EBADF) or reused by another thread's
      // object (which answers ENOTTY/EINVAL or a cap value): never a crash.
      (void)r;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ccm_close(vm);
  closed = true;
  user.join();
  for (auto& th : threads) th.join();
  ccm_close(kvm);
  EXPECT_EQ(errors.load(), 0);
}

}  // namespace
