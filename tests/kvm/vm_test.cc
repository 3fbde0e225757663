// VM memory state on the emulator: VM-level attributes, guest_memfd bindings and the
// invalidation protocol they drive.
#include <cocomem/cocomem.hpp>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>

#include <cstring>
#include <tuple>

#include "gmem/gmem_file.h"
#include "kvm/vm.h"
#include "sys/emu_backend.h"
#include "sys/vm_file.h"

namespace cocomem::kvm {
namespace {

constexpr uint64_t kGpa = 1ull << 32;
constexpr uint64_t kSize = 2 << 20;

sys::EmuBackend& Emu() {
  return static_cast<sys::EmuBackend&>(sys::GetBackend(sys::BackendKind::kEmu));
}

class VmTest : public ::testing::Test {
 protected:
  void Create(unsigned long type, const char* in_place) {
    ASSERT_EQ(ccm_set_param("gmem_in_place_conversion", in_place), 0);
    kvm_.reset(ccm_open("/dev/kvm", O_RDWR));
    ASSERT_TRUE(kvm_.valid());
    vm_fd_.reset(ccm_ioctl(kvm_.get(), KVM_CREATE_VM, type));
    ASSERT_TRUE(vm_fd_.valid());
    ASSERT_EQ(ccm_set_param("gmem_in_place_conversion", "1"), 0);
    vm_ = &Emu().fds().GetAs<sys::VmFile>(vm_fd_.get())->vm();
  }
  int CreateGmem(uint64_t flags) {
    kvm_create_guest_memfd g{};
    g.size = 2 * kSize;
    g.flags = flags;
    return ccm_ioctl(vm_fd_.get(), KVM_CREATE_GUEST_MEMFD, &g);
  }
  int Bind(uint32_t slot, int gmem, uint64_t gpa, uint64_t offset, uint64_t size = kSize) {
    kvm_userspace_memory_region2 r{};
    r.slot = slot;
    r.flags = KVM_MEM_GUEST_MEMFD;
    r.guest_phys_addr = gpa;
    r.memory_size = size;
    r.guest_memfd = static_cast<uint32_t>(gmem);
    r.guest_memfd_offset = offset;
    return ccm_ioctl(vm_fd_.get(), KVM_SET_USER_MEMORY_REGION2, &r);
  }
  int SetAttrs(uint64_t gpa, uint64_t size, uint64_t attrs) {
    kvm_memory_attributes a{};
    a.address = gpa;
    a.size = size;
    a.attributes = attrs;
    return ccm_ioctl(vm_fd_.get(), KVM_SET_MEMORY_ATTRIBUTES, &a);
  }

  UniqueFd kvm_, vm_fd_;
  Vm* vm_ = nullptr;
};

TEST_F(VmTest, VmAttributesWithoutInPlaceConversion) {
  Create(KVM_X86_SW_PROTECTED_VM, "0");
  EXPECT_EQ(ccm_ioctl(vm_fd_.get(), KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES),
            static_cast<int>(KVM_MEMORY_ATTRIBUTE_PRIVATE));
  EXPECT_EQ(ccm_ioctl(vm_fd_.get(), KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES), 0);
  EXPECT_FALSE(vm_->MemIsPrivate(0, GfnOf(Gpa(kGpa))));
  ASSERT_EQ(SetAttrs(kGpa, kSize, KVM_MEMORY_ATTRIBUTE_PRIVATE), 0) << std::strerror(errno);
  EXPECT_TRUE(vm_->MemIsPrivate(0, GfnOf(Gpa(kGpa))));
  EXPECT_TRUE(vm_->MemIsPrivate(0, GfnOf(Gpa(kGpa + kSize - 4096))));
  EXPECT_FALSE(vm_->MemIsPrivate(0, GfnOf(Gpa(kGpa + kSize))));
  ASSERT_EQ(SetAttrs(kGpa + 4096, 4096, 0), 0);
  EXPECT_FALSE(vm_->MemIsPrivate(0, GfnOf(Gpa(kGpa + 4096))));
  EXPECT_TRUE(vm_->MemIsPrivate(0, GfnOf(Gpa(kGpa + 8192))));
  // The validation table of §1.6.
  kvm_memory_attributes a{};
  a.address = kGpa;
  a.size = 4096;
  a.flags = 1;
  errno = 0;
  EXPECT_EQ(ccm_ioctl(vm_fd_.get(), KVM_SET_MEMORY_ATTRIBUTES, &a), -1);
  EXPECT_EQ(errno, EINVAL);
  for (auto [gpa, size, attrs] : std::initializer_list<std::tuple<uint64_t, uint64_t, uint64_t>>{
           {kGpa, 4096, 1ull << 0},  // unsupported attribute
           {kGpa, 0, 0},             // size 0
           {~0ull & ~4095ull, 8192, 0},  // overflow
           {kGpa + 1, 4096, 0},      // unaligned address
           {kGpa, 4097, 0}}) {       // unaligned size
    errno = 0;
    EXPECT_EQ(SetAttrs(gpa, size, attrs), -1);
    EXPECT_EQ(errno, EINVAL) << gpa << " " << size << " " << attrs;
  }
  EXPECT_EQ(SetAttrs(kGpa, 4096, KVM_MEMORY_ATTRIBUTE_PRIVATE), 0);
  const uint64_t changes = vm_->stats().Get("attribute_changes");
  EXPECT_EQ(SetAttrs(kGpa, 4096, KVM_MEMORY_ATTRIBUTE_PRIVATE), 0);  // nothing changes
  EXPECT_EQ(vm_->stats().Get("attribute_changes"), changes);
}

TEST_F(VmTest, VmAttributesRefusePrivateWithInPlaceConversion) {
  Create(KVM_X86_SW_PROTECTED_VM, "1");
  EXPECT_EQ(ccm_ioctl(vm_fd_.get(), KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES), 0);
  errno = 0;
  EXPECT_EQ(SetAttrs(kGpa, kSize, KVM_MEMORY_ATTRIBUTE_PRIVATE), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(VmTest, InPlaceAttributesComeFromTheBoundGuestMemfd) {
  Create(KVM_X86_SW_PROTECTED_VM, "1");
  UniqueFd gmem(CreateGmem(GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED));
  ASSERT_TRUE(gmem.valid());
  ASSERT_EQ(Bind(0, gmem.get(), kGpa, kSize), 0) << std::strerror(errno);
  const Gfn gfn = GfnOf(Gpa(kGpa + 4096));
  EXPECT_FALSE(vm_->MemIsPrivate(0, gfn));
  kvm_memory_attributes2 a{};
  a.offset = kSize + 4096;  // the slot maps file offset kSize at kGpa
  a.size = 4096;
  a.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE;
  const uint64_t seq = vm_->mmu_invalidate_seq();
  ASSERT_EQ(ccm_ioctl(gmem.get(), KVM_SET_MEMORY_ATTRIBUTES2, &a), 0) << std::strerror(errno);
  EXPECT_TRUE(vm_->MemIsPrivate(0, gfn));
  EXPECT_FALSE(vm_->MemIsPrivate(0, gfn + 1));
  EXPECT_EQ(vm_->mmu_invalidate_seq(), seq + 1);  // the bound VM saw begin/end
  EXPECT_EQ(vm_->mmu_invalidate_in_progress(), 0u);
  // A conversion outside the bound range does not concern the VM.
  a.offset = 0;
  ASSERT_EQ(ccm_ioctl(gmem.get(), KVM_SET_MEMORY_ATTRIBUTES2, &a), 0);
  EXPECT_EQ(vm_->mmu_invalidate_seq(), seq + 1);
  // Punching the bound range does.
  ASSERT_EQ(ccm_fallocate(gmem.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, kSize, 4096), 0);
  EXPECT_EQ(vm_->mmu_invalidate_seq(), seq + 2);
  // Closing the file unbinds it: the whole file is invalidated and the GFNs read shared.
  gmem.reset();
  EXPECT_EQ(vm_->mmu_invalidate_seq(), seq + 3);
  EXPECT_FALSE(vm_->MemIsPrivate(0, gfn));
  // The slot is still there (deleting it works), the file is gone.
  EXPECT_NE(vm_->memslots()->Find(0, gfn), nullptr);
  EXPECT_TRUE(vm_->memslots()->Find(0, gfn)->gmem.expired());
  EXPECT_EQ(Bind(0, -1, kGpa, 0, 0), 0);
  EXPECT_EQ(vm_->memslots()->Find(0, gfn), nullptr);
}

TEST_F(VmTest, DeletingASlotUnbindsItsGuestMemfdRange) {
  Create(KVM_X86_SW_PROTECTED_VM, "1");
  UniqueFd gmem(CreateGmem(GUEST_MEMFD_FLAG_MMAP));
  ASSERT_TRUE(gmem.valid());
  ASSERT_EQ(Bind(0, gmem.get(), kGpa, 0), 0);
  errno = 0;
  EXPECT_EQ(Bind(1, gmem.get(), kGpa + kSize, 0), -1);  // same file range
  EXPECT_EQ(errno, EINVAL);
  ASSERT_EQ(Bind(0, gmem.get(), kGpa, 0, 0), 0);        // delete
  EXPECT_EQ(Bind(1, gmem.get(), kGpa + kSize, 0), 0) << std::strerror(errno);  // now free
  const uint64_t seq = vm_->mmu_invalidate_seq();
  ASSERT_EQ(ccm_fallocate(gmem.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096), 0);
  EXPECT_EQ(vm_->mmu_invalidate_seq(), seq + 1);  // slot 1 covers file page 0
  EXPECT_TRUE(vm_->memslots()->Find(0, GfnOf(Gpa(kGpa + kSize)))->gmem_only);
}

}  // namespace
}  // namespace cocomem::kvm
