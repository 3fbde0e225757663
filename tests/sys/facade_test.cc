// Facade behaviour specific to the emulator backend (the kernel-visible behaviour is in
// tests/conformance, which runs on both backends).
#include <cocomem/cocomem.hpp>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "sys/backend.h"
#include "sys/emu_backend.h"

namespace {

TEST(Facade, BackendIsTheEmulator) { EXPECT_STREQ(ccm_backend_name(), "emu"); }

TEST(Facade, OtherPathsAndFdsPassThroughToTheHost) {
  int fd = ccm_open("/proc/self/stat", O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[16];
  EXPECT_GT(ccm_read(fd, buf, sizeof buf), 0);
  EXPECT_GT(ccm_pread(fd, buf, sizeof buf, 0), 0);
  struct stat st {};
  EXPECT_EQ(ccm_fstat(fd, &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(ccm_close(fd), 0);
  errno = 0;
  EXPECT_EQ(ccm_open("/nonexistent/cocomem", O_RDONLY), -1);
  EXPECT_EQ(errno, ENOENT);

  int tmp = ccm_open("/tmp", O_TMPFILE | O_RDWR, 0600);
  ASSERT_GE(tmp, 0);
  EXPECT_EQ(ccm_ftruncate(tmp, 8192), 0);
  EXPECT_EQ(ccm_pwrite(tmp, "x", 1, 4096), 1);
  void* p = ccm_mmap(nullptr, 8192, PROT_READ, MAP_SHARED, tmp, 0);
  ASSERT_NE(p, MAP_FAILED);
  EXPECT_EQ(static_cast<char*>(p)[4096], 'x');
  EXPECT_EQ(ccm_madvise(p, 8192, MADV_DONTNEED), 0);
  EXPECT_EQ(ccm_munmap(p, 8192), 0);
  EXPECT_EQ(ccm_fallocate(tmp, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, 8192), 0);
  EXPECT_EQ(ccm_close(tmp), 0);

  void* anon = ccm_mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(anon, MAP_FAILED);
  EXPECT_EQ(ccm_munmap(anon, 4096), 0);
}

TEST(Facade, KvmFdsAreEmulatedObjectsBehindRealFds) {
  int kvm = ccm_open("/dev/kvm", O_RDWR | O_CLOEXEC);
  ASSERT_GE(kvm, 0);
  int vm = ccm_ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
  ASSERT_GE(vm, 0);
  char link[256] = {};
  const std::string path = "/proc/self/fd/" + std::to_string(vm);
  ASSERT_GT(readlink(path.c_str(), link, sizeof link - 1), 0);
  EXPECT_NE(std::string(link).find("kvm-vm"), std::string::npos) << link;
  auto& emu = static_cast<cocomem::sys::EmuBackend&>(
      cocomem::sys::GetBackend(cocomem::sys::BackendKind::kEmu));
  EXPECT_NE(emu.fds().Get(vm), nullptr);
  ccm_close(vm);
  EXPECT_EQ(emu.fds().Get(vm), nullptr);
  ccm_close(kvm);
}

TEST(Facade, EmulatorVmTypesAndCaps) {
  cocomem::UniqueFd kvm(ccm_open("/dev/kvm", O_RDWR));
  ASSERT_TRUE(kvm.valid());
  EXPECT_EQ(ccm_ioctl(kvm.get(), KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES),
            (1 << KVM_X86_DEFAULT_VM) | (1 << KVM_X86_SW_PROTECTED_VM) | (1 << KVM_X86_TDX_VM));
  for (unsigned long t : {KVM_X86_SEV_VM, KVM_X86_SEV_ES_VM, KVM_X86_SNP_VM}) {
    errno = 0;
    EXPECT_EQ(ccm_ioctl(kvm.get(), KVM_CREATE_VM, t), -1);
    EXPECT_EQ(errno, EINVAL);
  }
  for (unsigned long t : {KVM_X86_DEFAULT_VM, KVM_X86_SW_PROTECTED_VM, KVM_X86_TDX_VM}) {
    cocomem::UniqueFd vm(ccm_ioctl(kvm.get(), KVM_CREATE_VM, t));
    EXPECT_TRUE(vm.valid()) << t;
  }
}

TEST(Facade, UnpinnedOrUnmappedPagesAreRefused) {
  void* p = mmap(nullptr, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  auto* base = static_cast<char*>(p);
  EXPECT_EQ(ccm_pin_user_pages(base, 2), 0);
  EXPECT_EQ(ccm_pin_user_pages(base, 1), 0);  // pins nest
  EXPECT_EQ(ccm_unpin_user_pages(base, 2), 0);
  EXPECT_EQ(ccm_unpin_user_pages(base, 1), 0);
  errno = 0;
  EXPECT_EQ(ccm_unpin_user_pages(base, 1), -1);  // no pin left
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(ccm_pin_user_pages(base + 1, 1), -1);
  EXPECT_EQ(errno, EINVAL);
  // All or nothing: the unmapped third page fails the call and pins nothing.
  munmap(base + 2 * 4096, 4096);
  errno = 0;
  EXPECT_EQ(ccm_pin_user_pages(base, 3), -1);
  EXPECT_EQ(errno, EFAULT);
  errno = 0;
  EXPECT_EQ(ccm_unpin_user_pages(base, 1), -1);
  EXPECT_EQ(errno, EINVAL);
  munmap(base, 2 * 4096);
}

TEST(Facade, ParamsApplyToVmsCreatedLater) {
  auto& emu = static_cast<cocomem::sys::EmuBackend&>(
      cocomem::sys::GetBackend(cocomem::sys::BackendKind::kEmu));
  auto machine = emu.Machine();
  ASSERT_TRUE(machine.ok());
  ASSERT_EQ(ccm_set_param("gmem_in_place_conversion", "N"), 0);
  EXPECT_FALSE((*machine)->params().gmem_in_place_conversion);
  auto vm = (*machine)->CreateVm(KVM_X86_SW_PROTECTED_VM);
  ASSERT_TRUE(vm.ok());
  ASSERT_EQ(ccm_set_param("gmem_in_place_conversion", "on"), 0);
  EXPECT_FALSE((*vm)->params().gmem_in_place_conversion);  // the VM keeps its snapshot
  EXPECT_TRUE((*machine)->params().gmem_in_place_conversion);
  errno = 0;
  EXPECT_EQ(ccm_set_param(nullptr, "1"), -1);
  EXPECT_EQ(errno, EFAULT);
}

TEST(FacadeDeathTest, InvalidBackendNameFailsEveryCall) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // re-exec: fresh backend selection
  EXPECT_EXIT(
      {
        setenv("COCOMEM_BACKEND", "qemu", 1);
        const bool failed = ccm_open("/dev/kvm", O_RDWR) == -1 && errno == EINVAL &&
                            ccm_backend_name() == nullptr;
        _exit(failed ? 42 : 1);
      },
      testing::ExitedWithCode(42), "COCOMEM_BACKEND=qemu is neither");
}

}  // namespace
