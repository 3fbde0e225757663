// KVM_SET_USER_MEMORY_REGION(2) with guest_memfd, after the kernel's
// set_memory_region_test (add_private_memory_region, overlapping regions) plus the
// validation order of §1.5; runs on both backends.
#include <sys/mman.h>
#include <unistd.h>

#include "conformance/guest_memfd_util.h"
#include "conformance/kvm_util.h"

namespace {

constexpr uint64_t kPs = 4096;
constexpr uint64_t kSlotSize = 2 << 20;

class SetMemoryRegionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kvm_ = ccm_open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm_ < 0) GTEST_SKIP() << "/dev/kvm: " << std::strerror(errno);
    if (kvm_util::CheckCap(kvm_, KVM_CAP_USER_MEMORY2) <= 0 ||
        kvm_util::CheckCap(kvm_, KVM_CAP_GUEST_MEMFD) <= 0) {
      GTEST_SKIP() << "the " << ccm_backend_name()
                   << " backend lacks KVM_CAP_USER_MEMORY2 or KVM_CAP_GUEST_MEMFD";
    }
    vm_ = ccm_ioctl(kvm_, KVM_CREATE_VM, KVM_X86_DEFAULT_VM);
    ASSERT_GE(vm_, 0) << std::strerror(errno);
    gmem_ = CreateGmem(vm_, 4 * kSlotSize);
    ASSERT_GE(gmem_, 0) << std::strerror(errno);
    // A legal userspace_addr, even though guest_memfd slots do not use it.
    hva_ = mmap(nullptr, 4 * kSlotSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(hva_, MAP_FAILED);
  }
  void TearDown() override {
    if (hva_ && hva_ != MAP_FAILED) munmap(hva_, 4 * kSlotSize);
    for (int fd : {gmem_, vm_, kvm_}) {
      if (fd >= 0) ccm_close(fd);
    }
  }
  static int CreateGmem(int vm, uint64_t size, uint64_t flags = 0) {
    kvm_create_guest_memfd g{};
    g.size = size;
    g.flags = flags;
    return ccm_ioctl(vm, KVM_CREATE_GUEST_MEMFD, &g);
  }
  int SetRegion2(uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size, int gmem_fd,
                 uint64_t offset, uint64_t uaddr = 0) {
    kvm_userspace_memory_region2 r{};
    r.slot = slot;
    r.flags = flags;
    r.guest_phys_addr = gpa;
    r.memory_size = size;
    r.userspace_addr = uaddr ? uaddr : reinterpret_cast<uint64_t>(hva_);
    r.guest_memfd = static_cast<uint32_t>(gmem_fd);
    r.guest_memfd_offset = offset;
    return ccm_ioctl(vm_, KVM_SET_USER_MEMORY_REGION2, &r);
  }
  int SetGmemRegion(uint32_t slot, uint64_t gpa, uint64_t size, uint64_t offset, int fd = -2) {
    return SetRegion2(slot, KVM_MEM_GUEST_MEMFD, gpa, size, fd == -2 ? gmem_ : fd, offset);
  }

  int kvm_ = -1, vm_ = -1, gmem_ = -1;
  void* hva_ = nullptr;
};

TEST_F(SetMemoryRegionTest, AddPrivateMemoryRegionRejectsNonGuestMemfdFds) {
  TEST_ASSERT_ERRNO(SetGmemRegion(0, 1ull << 32, kSlotSize, 0, kvm_), EINVAL);
  TEST_ASSERT_ERRNO(SetGmemRegion(0, 1ull << 32, kSlotSize, 0, vm_), EINVAL);
  int memfd = memfd_create("not-gmem", MFD_CLOEXEC);
  ASSERT_GE(memfd, 0);
  ASSERT_EQ(ftruncate(memfd, kSlotSize), 0);
  TEST_ASSERT_ERRNO(SetGmemRegion(0, 1ull << 32, kSlotSize, 0, memfd), EINVAL);
  close(memfd);
  // Another VM's guest_memfd.
  int vm2 = ccm_ioctl(kvm_, KVM_CREATE_VM, KVM_X86_DEFAULT_VM);
  ASSERT_GE(vm2, 0);
  int other = CreateGmem(vm2, kSlotSize);
  ASSERT_GE(other, 0);
  TEST_ASSERT_ERRNO(SetGmemRegion(0, 1ull << 32, kSlotSize, 0, other), EINVAL);
  ccm_close(other);
  ccm_close(vm2);
  // A closed fd.
  TEST_ASSERT_ERRNO(SetGmemRegion(0, 1ull << 32, kSlotSize, 0, 1000000), EBADF);
}

TEST_F(SetMemoryRegionTest, AddPrivateMemoryRegionRejectsUnalignedOffsets) {
  for (uint64_t off = 1; off < kPs; off += (off < 16 ? 1 : 509)) {
    TEST_ASSERT_ERRNO(SetGmemRegion(0, 1ull << 32, kSlotSize, off), EINVAL);
  }
  EXPECT_EQ(SetGmemRegion(0, 1ull << 32, kSlotSize, 0), 0) << std::strerror(errno);
}

TEST_F(SetMemoryRegionTest, OverlappingPrivateMemoryRegions) {
  const uint64_t gpa = 4ull << 30, s = kSlotSize;
  ASSERT_EQ(SetGmemRegion(0, gpa, 2 * s, 0), 0) << std::strerror(errno);
  ASSERT_EQ(SetGmemRegion(1, 2 * gpa, 2 * s, 2 * s), 0) << std::strerror(errno);
  ASSERT_EQ(SetGmemRegion(0, gpa, 0, 0), 0);  // delete A
  // GPA ranges overlapping B: EEXIST from the memslot overlap check.
  TEST_ASSERT_ERRNO(SetGmemRegion(0, 2 * gpa - s, 2 * s, 0), EEXIST);
  TEST_ASSERT_ERRNO(SetGmemRegion(0, 2 * gpa + s, 2 * s, 0), EEXIST);
  // Disjoint GPAs but overlapping guest_memfd ranges: EINVAL from kvm_gmem_bind.
  TEST_ASSERT_ERRNO(SetGmemRegion(0, gpa, 2 * s, s), EINVAL);
  TEST_ASSERT_ERRNO(SetGmemRegion(0, gpa, 2 * s, 3 * s), EINVAL);  // also past i_size
  EXPECT_EQ(SetGmemRegion(0, gpa, 2 * s, 0), 0) << std::strerror(errno);
}

TEST_F(SetMemoryRegionTest, OffsetAndSizeMustFitTheFile) {
  TEST_ASSERT_ERRNO(SetGmemRegion(0, 1ull << 32, 4 * kSlotSize + kPs, 0), EINVAL);
  TEST_ASSERT_ERRNO(SetGmemRegion(0, 1ull << 32, kSlotSize, 4 * kSlotSize), EINVAL);
  TEST_ASSERT_ERRNO(SetGmemRegion(0, 1ull << 32, kSlotSize, ~0ull & ~(kPs - 1)), EINVAL);
  EXPECT_EQ(SetGmemRegion(0, 1ull << 32, kSlotSize, 3 * kSlotSize), 0) << std::strerror(errno);
}

TEST_F(SetMemoryRegionTest, Flags) {
  TEST_ASSERT_ERRNO(SetRegion2(0, KVM_MEM_GUEST_MEMFD | KVM_MEM_LOG_DIRTY_PAGES, 1ull << 32,
                               kSlotSize, gmem_, 0),
                    EINVAL);
  TEST_ASSERT_ERRNO(
      SetRegion2(0, KVM_MEM_GUEST_MEMFD | KVM_MEM_READONLY, 1ull << 32, kSlotSize, gmem_, 0),
      EINVAL);
  TEST_ASSERT_ERRNO(SetRegion2(0, 1u << 7, 1ull << 32, kSlotSize, -1, 0), EINVAL);
  // The v1 ioctl knows nothing of guest_memfd.
  kvm_userspace_memory_region r{};
  r.slot = 0;
  r.flags = KVM_MEM_GUEST_MEMFD;
  r.guest_phys_addr = 1ull << 32;
  r.memory_size = kSlotSize;
  r.userspace_addr = reinterpret_cast<uint64_t>(hva_);
  TEST_ASSERT_ERRNO(ccm_ioctl(vm_, KVM_SET_USER_MEMORY_REGION, &r), EINVAL);
  r.flags = KVM_MEM_READONLY;
  EXPECT_EQ(ccm_ioctl(vm_, KVM_SET_USER_MEMORY_REGION, &r), 0) << std::strerror(errno);
}

TEST_F(SetMemoryRegionTest, GeneralSanityChecks) {
  const uint64_t hva = reinterpret_cast<uint64_t>(hva_);
  TEST_ASSERT_ERRNO(SetRegion2(0, 0, 1ull << 32, kSlotSize + 1, -1, 0), EINVAL);
  TEST_ASSERT_ERRNO(SetRegion2(0, 0, (1ull << 32) + 1, kSlotSize, -1, 0), EINVAL);
  TEST_ASSERT_ERRNO(SetRegion2(0, 0, 1ull << 32, kSlotSize, -1, 0, hva + 1), EINVAL);
  TEST_ASSERT_ERRNO(SetRegion2(0, 0, 1ull << 32, kSlotSize, -1, 0, 1ull << 47), EINVAL);
  TEST_ASSERT_ERRNO(SetRegion2(0, 0, ~0ull & ~(kPs - 1), 2 * kPs, -1, 0), EINVAL);
  TEST_ASSERT_ERRNO(SetRegion2(32764, 0, 1ull << 32, kSlotSize, -1, 0), EINVAL);
  TEST_ASSERT_ERRNO(SetRegion2(2u << 16, 0, 1ull << 32, kSlotSize, -1, 0), EINVAL);
  TEST_ASSERT_ERRNO(SetRegion2(5, 0, 1ull << 32, 0, -1, 0), EINVAL);  // delete: no such slot
  EXPECT_EQ(kvm_util::CheckCap(vm_, KVM_CAP_NR_MEMSLOTS), 32764);
}

TEST_F(SetMemoryRegionTest, GuestMemfdSlotsAreImmutable) {
  ASSERT_EQ(SetGmemRegion(3, 1ull << 32, kSlotSize, 0), 0) << std::strerror(errno);
  TEST_ASSERT_ERRNO(SetGmemRegion(3, 2ull << 32, kSlotSize, 0), EINVAL);  // move
  TEST_ASSERT_ERRNO(SetRegion2(3, 0, 1ull << 32, kSlotSize, -1, 0), EINVAL);  // drop the flag
  EXPECT_EQ(SetGmemRegion(3, 1ull << 32, 0, 0), 0);  // delete is fine
  EXPECT_EQ(SetGmemRegion(3, 1ull << 32, kSlotSize, 0), 0) << std::strerror(errno);
}

TEST_F(SetMemoryRegionTest, OrdinarySlotsMoveAndChangeFlags) {
  ASSERT_EQ(SetRegion2(4, 0, 1ull << 32, kSlotSize, -1, 0), 0) << std::strerror(errno);
  EXPECT_EQ(SetRegion2(4, 0, 1ull << 32, kSlotSize, -1, 0), 0);  // no change
  EXPECT_EQ(SetRegion2(4, 0, 3ull << 32, kSlotSize, -1, 0), 0) << std::strerror(errno);  // move
  EXPECT_EQ(SetRegion2(4, KVM_MEM_LOG_DIRTY_PAGES, 3ull << 32, kSlotSize, -1, 0), 0);
  TEST_ASSERT_ERRNO(SetRegion2(4, KVM_MEM_READONLY, 3ull << 32, kSlotSize, -1, 0), EINVAL);
  TEST_ASSERT_ERRNO(SetRegion2(4, 0, 3ull << 32, 2 * kSlotSize, -1, 0), EINVAL);  // resize
  ASSERT_EQ(SetRegion2(5, 0, 1ull << 32, kSlotSize, -1, 0), 0);
  TEST_ASSERT_ERRNO(SetRegion2(4, 0, (1ull << 32) + kSlotSize / 2, kSlotSize, -1, 0), EEXIST);
}

TEST_F(SetMemoryRegionTest, ClosingTheGuestMemfdKeepsTheSlot) {
  ASSERT_EQ(SetGmemRegion(0, 1ull << 32, kSlotSize, 0), 0) << std::strerror(errno);
  ccm_close(gmem_);
  gmem_ = -1;
  // The slot still exists: re-adding it at another GPA is EEXIST-free only after delete.
  EXPECT_EQ(SetGmemRegion(0, 1ull << 32, 0, 0), 0);
}

TEST_F(SetMemoryRegionTest, MemoryAttributesOnAVmWithoutPrivateMemory) {
  const int cap = kvm_util::CheckCap(vm_, KVM_CAP_MEMORY_ATTRIBUTES);
  TEST_REQUIRE(cap >= 0);
  EXPECT_EQ(cap & KVM_MEMORY_ATTRIBUTE_PRIVATE, 0);  // a default VM has no private memory
  kvm_memory_attributes a{};
  a.address = 1ull << 32;
  a.size = kSlotSize;
  a.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE;
  errno = 0;
  EXPECT_EQ(ccm_ioctl(vm_, KVM_SET_MEMORY_ATTRIBUTES, &a), -1);
  // EINVAL (unsupported attribute) where the ioctl exists; kernels built without VM
  // memory attributes do not know the ioctl at all.
  EXPECT_TRUE(errno == EINVAL || errno == ENOTTY) << std::strerror(errno);
}

}  // namespace
