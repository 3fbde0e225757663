// /dev/kvm and VM-fd basics, checked against the kernel's behaviour: the same assertions
// pass on the emulator and on the running kernel.
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance/kvm_util.h"

namespace {

using kvm_util::CheckCap;
using kvm_util::VmTypeSupported;

TEST(KvmSystem, ApiVersion) {
  OPEN_KVM_OR_SKIP(kvm);
  EXPECT_EQ(ccm_ioctl(kvm, KVM_GET_API_VERSION, 0), KVM_API_VERSION);
  TEST_ASSERT_ERRNO(ccm_ioctl(kvm, KVM_GET_API_VERSION, 1), EINVAL);
  ccm_close(kvm);
}

TEST(KvmSystem, UnknownIoctls) {
  OPEN_KVM_OR_SKIP(kvm);
  // x86 answers unknown /dev/kvm ioctls with EINVAL, unknown VM ioctls with ENOTTY.
  TEST_ASSERT_ERRNO(ccm_ioctl(kvm, _IO(KVMIO, 0x7f), 0), EINVAL);
  TEST_ASSERT_ERRNO(ccm_ioctl(kvm, _IO(0xAF, 0x01), 0), EINVAL);
  TEST_ASSERT_ERRNO(ccm_ioctl(kvm, KVM_CREATE_VCPU, 0), EINVAL);  // a VM ioctl on /dev/kvm
  int vm = ccm_ioctl(kvm, KVM_CREATE_VM, KVM_X86_DEFAULT_VM);
  ASSERT_GE(vm, 0) << std::strerror(errno);
  TEST_ASSERT_ERRNO(ccm_ioctl(vm, _IO(KVMIO, 0x7f), 0), ENOTTY);
  TEST_ASSERT_ERRNO(ccm_ioctl(vm, KVM_GET_API_VERSION, 0), ENOTTY);
  TEST_ASSERT_ERRNO(ccm_ioctl(vm, KVM_CREATE_VM, 0), ENOTTY);
  ccm_close(vm);
  ccm_close(kvm);
}

TEST(KvmSystem, BadFds) {
  TEST_ASSERT_ERRNO(ccm_ioctl(-1, KVM_GET_API_VERSION, 0), EBADF);
  OPEN_KVM_OR_SKIP(kvm);
  ASSERT_EQ(ccm_close(kvm), 0);
  TEST_ASSERT_ERRNO(ccm_ioctl(kvm, KVM_GET_API_VERSION, 0), EBADF);
  TEST_ASSERT_ERRNO(ccm_close(kvm), EBADF);
  struct stat st {};
  TEST_ASSERT_ERRNO(ccm_fstat(kvm, &st), EBADF);
}

TEST(KvmSystem, UnknownCapabilitiesAreZero) {
  OPEN_KVM_OR_SKIP(kvm);
  EXPECT_EQ(CheckCap(kvm, 100000), 0);
  EXPECT_EQ(CheckCap(kvm, -1), 0);
  ccm_close(kvm);
}

TEST(KvmSystem, VmTypes) {
  OPEN_KVM_OR_SKIP(kvm);
  const int types = CheckCap(kvm, KVM_CAP_VM_TYPES);
  TEST_REQUIRE(types > 0);
  EXPECT_TRUE(types & (1 << KVM_X86_DEFAULT_VM));
  for (unsigned long t = 0; t < 40; t++) {
    int vm = ccm_ioctl(kvm, KVM_CREATE_VM, t);
    if (VmTypeSupported(kvm, t)) {
      EXPECT_GE(vm, 0) << "type " << t << ": " << std::strerror(errno);
      if (vm >= 0) {
        EXPECT_EQ(CheckCap(vm, KVM_CAP_VM_TYPES), types);
        ccm_close(vm);
      }
    } else {
      EXPECT_EQ(vm, -1) << "type " << t;
      EXPECT_EQ(errno, EINVAL) << "type " << t;
    }
  }
  TEST_ASSERT_ERRNO(ccm_ioctl(kvm, KVM_CREATE_VM, 1UL << 32), EINVAL);
  TEST_ASSERT_ERRNO(ccm_ioctl(kvm, KVM_CREATE_VM, ~0UL), EINVAL);
  ccm_close(kvm);
}

TEST(KvmSystem, FdFlags) {
  int kvm = ccm_open("/dev/kvm", O_RDWR);
  if (kvm < 0) GTEST_SKIP() << "/dev/kvm: " << std::strerror(errno);
  EXPECT_EQ(fcntl(kvm, F_GETFD) & FD_CLOEXEC, 0);  // as opened
  int vm = ccm_ioctl(kvm, KVM_CREATE_VM, 0);
  ASSERT_GE(vm, 0);
  EXPECT_NE(fcntl(vm, F_GETFD) & FD_CLOEXEC, 0);  // KVM makes VM fds O_CLOEXEC
  EXPECT_NE(vm, kvm);
  ccm_close(vm);
  ccm_close(kvm);
}

TEST(KvmSystem, FileOperationsOfTheDevice) {
  OPEN_KVM_OR_SKIP(kvm);
  char buf[8];
  TEST_ASSERT_ERRNO(ccm_read(kvm, buf, sizeof buf), EINVAL);
  TEST_ASSERT_ERRNO(ccm_write(kvm, buf, sizeof buf), EINVAL);
  TEST_ASSERT_ERRNO(ccm_pread(kvm, buf, sizeof buf, 0), EINVAL);
  TEST_ASSERT_ERRNO(ccm_pwrite(kvm, buf, sizeof buf, 0), EINVAL);
  TEST_ASSERT_ERRNO(ccm_ftruncate(kvm, 4096), EINVAL);
  TEST_ASSERT_ERRNO(ccm_fallocate(kvm, 0, 0, 4096), ENODEV);
  EXPECT_EQ(ccm_mmap(nullptr, 4096, PROT_READ, MAP_SHARED, kvm, 0), MAP_FAILED);
  EXPECT_EQ(errno, ENODEV);
  struct stat st {};
  ASSERT_EQ(ccm_fstat(kvm, &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(major(st.st_rdev), 10u);
  EXPECT_EQ(minor(st.st_rdev), 232u);
  ccm_close(kvm);
}

TEST(KvmSystem, FileOperationsOfAVm) {
  OPEN_KVM_OR_SKIP(kvm);
  int vm = ccm_ioctl(kvm, KVM_CREATE_VM, 0);
  ASSERT_GE(vm, 0);
  char buf[8];
  TEST_ASSERT_ERRNO(ccm_read(vm, buf, sizeof buf), EINVAL);
  TEST_ASSERT_ERRNO(ccm_write(vm, buf, sizeof buf), EINVAL);
  TEST_ASSERT_ERRNO(ccm_pread(vm, buf, sizeof buf, 0), ESPIPE);
  TEST_ASSERT_ERRNO(ccm_pwrite(vm, buf, sizeof buf, 0), ESPIPE);
  TEST_ASSERT_ERRNO(ccm_ftruncate(vm, 4096), EINVAL);
  TEST_ASSERT_ERRNO(ccm_fallocate(vm, 0, 0, 4096), ENODEV);
  EXPECT_EQ(ccm_mmap(nullptr, 4096, PROT_READ, MAP_SHARED, vm, 0), MAP_FAILED);
  EXPECT_EQ(errno, ENODEV);
  struct stat st {};
  ASSERT_EQ(ccm_fstat(vm, &st), 0);
  EXPECT_EQ(st.st_mode & S_IFMT, 0u);  // anon inode: no type bits
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_blksize, 4096);
  ccm_close(vm);
  ccm_close(kvm);
}

TEST(KvmSystem, VmOutlivesTheSystemFd) {
  OPEN_KVM_OR_SKIP(kvm);
  int vm = ccm_ioctl(kvm, KVM_CREATE_VM, 0);
  ASSERT_GE(vm, 0);
  const int types = CheckCap(vm, KVM_CAP_VM_TYPES);
  ccm_close(kvm);
  EXPECT_EQ(CheckCap(vm, KVM_CAP_VM_TYPES), types);
  ccm_close(vm);
}

// kvm_vm_ioctl refuses callers whose mm is not the VM's creator's (EIO); /dev/kvm itself
// serves any process.
TEST(KvmSystem, ForkedChildGetsEIOOnVmIoctls) {
  OPEN_KVM_OR_SKIP(kvm);
  int vm = ccm_ioctl(kvm, KVM_CREATE_VM, 0);
  ASSERT_GE(vm, 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = 0;
    errno = 0;
    if (ccm_ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES) != -1 || errno != EIO) code |= 1;
    if (ccm_ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) code |= 2;
    int child_vm = ccm_ioctl(kvm, KVM_CREATE_VM, 0);
    if (child_vm < 0) code |= 4;
    else if (ccm_ioctl(child_vm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES) <= 0) code |= 8;
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "bit 1: VM ioctl not EIO; 2: API version; "
                                       "4: child cannot create a VM; 8: its VM unusable";
  EXPECT_GT(CheckCap(vm, KVM_CAP_VM_TYPES), 0);  // still fine in the parent
  ccm_close(vm);
  ccm_close(kvm);
}

TEST(KvmSystem, ModuleParameters) {
  TEST_ASSERT_ERRNO(ccm_set_param("no_such_parameter_at_all", "1"), ENOENT);
  TEST_ASSERT_ERRNO(ccm_set_param("../../../etc/passwd", "1"), ENOENT);
  if (kvm_util::OnHost()) {
    // A read-only parameter set to the value it already has is a no-op; this kernel's
    // tdp_mmu is 0444.
    struct stat st {};
    TEST_REQUIRE(stat("/sys/module/kvm/parameters/tdp_mmu", &st) == 0);
    FILE* f = fopen("/sys/module/kvm/parameters/tdp_mmu", "r");
    ASSERT_NE(f, nullptr);
    char cur[8] = {};
    ASSERT_NE(fgets(cur, sizeof cur, f), nullptr);
    fclose(f);
    cur[1] = '\0';
    EXPECT_EQ(ccm_set_param("tdp_mmu", cur), 0);
  } else {
    EXPECT_EQ(ccm_set_param("gmem_in_place_conversion", "0"), 0);
    EXPECT_EQ(ccm_set_param("gmem_in_place_conversion", "Y"), 0);
    TEST_ASSERT_ERRNO(ccm_set_param("gmem_in_place_conversion", "maybe"), EINVAL);
  }
}

TEST(KvmSystem, MemoryFailureInjectionNeedsAGuestMemfd) {
  TEST_ASSERT_ERRNO(ccm_inject_memory_failure(-1, 0), EBADF);
  OPEN_KVM_OR_SKIP(kvm);
  int vm = ccm_ioctl(kvm, KVM_CREATE_VM, 0);
  ASSERT_GE(vm, 0);
  // Not a guest_memfd: the emulator says EINVAL; the host's mmap of a VM fd says ENODEV.
  errno = 0;
  EXPECT_EQ(ccm_inject_memory_failure(vm, 0), -1);
  EXPECT_EQ(errno, kvm_util::OnHost() ? ENODEV : EINVAL);
  ccm_close(vm);
  ccm_close(kvm);
}

}  // namespace
