// The fault path (Vm::HandleFault) against guest_memfd, with in-place conversion and with
// VM-level attributes; mapping levels, exits, the retry protocol and decision 2's splits.
#include <cocomem/cocomem.hpp>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <sys/mman.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "gmem/gmem_file.h"
#include "kvm/vm.h"
#include "sys/emu_backend.h"
#include "sys/vm_file.h"

namespace cocomem::kvm {
namespace {

using tdp::Level;
constexpr uint64_t kGpa = 1ull << 32;
constexpr uint64_t k2M = 2 << 20;

sys::EmuBackend& Emu() {
  return static_cast<sys::EmuBackend&>(sys::GetBackend(sys::BackendKind::kEmu));
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUpVm(unsigned long type = KVM_X86_SW_PROTECTED_VM, const char* in_place = "1") {
    ASSERT_EQ(ccm_set_param("gmem_in_place_conversion", in_place), 0);
    kvm_.reset(ccm_open("/dev/kvm", O_RDWR));
    vm_fd_.reset(ccm_ioctl(kvm_.get(), KVM_CREATE_VM, type));
    ASSERT_EQ(ccm_set_param("gmem_in_place_conversion", "1"), 0);
    ASSERT_TRUE(vm_fd_.valid());
    vm_ = &Emu().fds().GetAs<sys::VmFile>(vm_fd_.get())->vm();
  }
  void SetUpGmem(uint64_t size, uint64_t flags, uint8_t order = 0) {
    kvm_create_guest_memfd g{};
    g.size = size;
    g.flags = flags;
    g.page_order = order;
    gmem_.reset(ccm_ioctl(vm_fd_.get(), KVM_CREATE_GUEST_MEMFD, &g));
    ASSERT_TRUE(gmem_.valid()) << std::strerror(errno);
    kvm_userspace_memory_region2 r{};
    r.slot = 0;
    r.flags = KVM_MEM_GUEST_MEMFD;
    r.guest_phys_addr = kGpa;
    r.memory_size = size;
    r.guest_memfd = static_cast<uint32_t>(gmem_.get());
    ASSERT_EQ(ccm_ioctl(vm_fd_.get(), KVM_SET_USER_MEMORY_REGION2, &r), 0) << std::strerror(errno);
    inode_ = &Emu().fds().GetAs<gmem::GmemFile>(gmem_.get())->inode();
  }
  int Convert(uint64_t offset, uint64_t size, bool to_private) {
    kvm_memory_attributes2 a{};
    a.offset = offset;
    a.size = size;
    a.attributes = to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
    return ccm_ioctl(gmem_.get(), KVM_SET_MEMORY_ATTRIBUTES2, &a);
  }
  FaultResult Fault(uint64_t offset, bool is_private) {
    return vm_->HandleFault(FaultRequest{0, Gpa(kGpa + offset), is_private, true});
  }
  std::optional<Level> LevelAt(uint64_t offset) {
    auto m = vm_->LookupMapping(0, GfnOf(Gpa(kGpa + offset)));
    if (!m) return std::nullopt;
    return m->level;
  }
  void ExpectInvariants() {
    EXPECT_TRUE(vm_->CheckInvariants().empty()) << vm_->CheckInvariants().front();
    EXPECT_TRUE(inode_->CheckInvariants().empty());
  }

  UniqueFd kvm_, vm_fd_, gmem_;
  Vm* vm_ = nullptr;
  gmem::Inode* inode_ = nullptr;
};

TEST_F(FaultTest, SharedAndPrivateFaultsFollowTheAttributes) {
  SetUpVm();
  SetUpGmem(k2M, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
  auto* host = static_cast<char*>(ccm_mmap(nullptr, k2M, PROT_READ | PROT_WRITE, MAP_SHARED, gmem_.get(), 0));
  ASSERT_NE(host, MAP_FAILED);
  std::strcpy(host + 4096, "from the host");
  // A private access to a shared page: KVM_EXIT_MEMORY_FAULT, flags = PRIVATE, EFAULT.
  FaultResult r = Fault(4096, true);
  EXPECT_EQ(r.kind, FaultResult::Kind::kMemoryFault);
  EXPECT_EQ(r.error, EFAULT);
  EXPECT_EQ(r.memory_fault_flags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
  r = Fault(4096, false);
  ASSERT_EQ(r.kind, FaultResult::Kind::kMapped);
  EXPECT_EQ(r.level, Level::k4K);  // shared pages are 4K folios
  char buf[32] = {};
  ASSERT_TRUE(vm_->WithGuestPage(0, Gpa(kGpa + 4096), false, [&](std::byte* p) { std::memcpy(buf, p, 14); }));
  EXPECT_STREQ(buf, "from the host");
  // Converting to private zaps the shared leaf; the private fault maps the same bytes.
  ASSERT_EQ(Convert(4096, 4096, true), 0);
  EXPECT_FALSE(LevelAt(4096).has_value());
  EXPECT_FALSE(vm_->WithGuestPage(0, Gpa(kGpa + 4096), false, [](std::byte*) {}));
  r = Fault(4096, true);
  ASSERT_EQ(r.kind, FaultResult::Kind::kMapped);
  std::memset(buf, 0, sizeof buf);
  ASSERT_TRUE(vm_->WithGuestPage(0, Gpa(kGpa + 4096), true, [&](std::byte* p) {
    std::memcpy(buf, p, 14);
    std::memcpy(p, "guest", 6);
  }));
  EXPECT_STREQ(buf, "from the host");
  ExpectInvariants();
  ASSERT_EQ(Convert(4096, 4096, false), 0);
  EXPECT_STREQ(host + 4096, "guest");  // preserved the other way too
  ExpectInvariants();
  ccm_munmap(host, k2M);
}

TEST_F(FaultTest, HugeFoliosAreMappedHugeAndSplitBeforeAPartialConversion) {
  SetUpVm();
  SetUpGmem(2 * k2M, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_HUGETLB, 9);
  FaultResult r = Fault(5 * 4096, true);
  ASSERT_EQ(r.kind, FaultResult::Kind::kMapped);
  EXPECT_EQ(r.level, Level::k2M);
  EXPECT_EQ(vm_->stats().Get("faults_mapped_2m"), 1u);
  ExpectInvariants();
  // One 4K page to shared: the 2M leaf is split first (decision 2), then only that page
  // is zapped; the rest of the guest's private mapping stays, now at 4K.
  ASSERT_EQ(Convert(7 * 4096, 4096, false), 0);
  EXPECT_FALSE(LevelAt(7 * 4096).has_value());
  EXPECT_EQ(LevelAt(6 * 4096), Level::k4K);
  EXPECT_EQ(LevelAt(8 * 4096), Level::k4K);
  EXPECT_EQ(LevelAt(k2M - 4096), Level::k4K);
  EXPECT_EQ(vm_->stats().Get("tdp_splits"), 1u);
  ExpectInvariants();
  // Back to private: the folio merges again; the next fault of a missing page maps 4K
  // (smaller leaves are still there), and everything stays consistent.
  ASSERT_EQ(Convert(7 * 4096, 4096, true), 0);
  r = Fault(7 * 4096, true);
  ASSERT_EQ(r.kind, FaultResult::Kind::kMapped);
  EXPECT_EQ(r.level, Level::k4K);
  ExpectInvariants();
  // A whole punch of the second huge page, unmapped: fine; fault it at 2M.
  r = Fault(k2M + 4096, true);
  EXPECT_EQ(r.level, Level::k2M);
  ASSERT_EQ(ccm_fallocate(gmem_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, k2M, k2M), 0);
  EXPECT_FALSE(LevelAt(k2M + 4096).has_value());
  ExpectInvariants();
}

TEST_F(FaultTest, A1GFolioIsOneLeaf) {
  SetUpVm();
  SetUpGmem(1ull << 30, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_HUGETLB, 18);
  FaultResult r = Fault(12345 * 4096, true);
  ASSERT_EQ(r.kind, FaultResult::Kind::kMapped);
  EXPECT_EQ(r.level, Level::k1G);
  int leaves = 0;
  vm_->ForEachMapping(0, [&](const tdp::TdpTable::Mapping&) { ++leaves; });
  EXPECT_EQ(leaves, 1);
  ExpectInvariants();
}

TEST_F(FaultTest, SplitFailureFailsTheConversionWithNothingChanged) {
  SetUpVm();
  SetUpGmem(k2M, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_HUGETLB, 9);
  ASSERT_EQ(Fault(0, true).level, Level::k2M);
  {
    ScopedFault f(tdp::kTableAllocFault, 1);
    errno = 0;
    EXPECT_EQ(Convert(4096, 4096, false), -1);
    EXPECT_EQ(errno, ENOMEM);
  }
  EXPECT_EQ(LevelAt(4096), Level::k2M);
  EXPECT_EQ(inode_->AttrAt(PgOff(1)), gmem::MemAttr::kPrivate);
  ExpectInvariants();
}

TEST_F(FaultTest, PoisonClosedFileAndNoSlot) {
  SetUpVm();
  SetUpGmem(k2M, GUEST_MEMFD_FLAG_MMAP);
  ASSERT_EQ(Fault(0, true).kind, FaultResult::Kind::kMapped);
  ASSERT_EQ(ccm_inject_memory_failure(gmem_.get(), 0), 0);
  EXPECT_FALSE(LevelAt(0).has_value());  // zapped
  FaultResult r = Fault(0, true);
  EXPECT_EQ(r.kind, FaultResult::Kind::kMemoryFault);
  EXPECT_EQ(r.error, EHWPOISON);
  // No memslot: shared accesses are MMIO.
  r = vm_->HandleFault(FaultRequest{0, Gpa(8ull << 30), false, false});
  EXPECT_EQ(r.kind, FaultResult::Kind::kMmio);
  // Closing the guest_memfd: private access -> EFAULT exit (the GFN now reads shared, so
  // the private access mismatches), shared access through the gmem-only slot -> EFAULT.
  gmem_.reset();
  inode_ = nullptr;
  r = Fault(4096, true);
  EXPECT_EQ(r.kind, FaultResult::Kind::kMemoryFault);
  EXPECT_EQ(r.error, EFAULT);
  r = Fault(4096, false);
  EXPECT_EQ(r.kind, FaultResult::Kind::kMemoryFault);
  EXPECT_EQ(r.error, EFAULT);
  EXPECT_EQ(r.memory_fault_flags, 0u);
}

TEST_F(FaultTest, AFaultRacingAnInvalidationRetries) {
  SetUpVm();
  SetUpGmem(k2M, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
  vm_->InvalidateBegin({GfnRange{0, GfnOf(Gpa(kGpa)), GfnOf(Gpa(kGpa + k2M))}});
  std::atomic<bool> done{false};
  FaultResult r;
  std::thread t([&] {
    r = Fault(4096, false);
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(done.load());  // spinning on the in-progress range
  vm_->InvalidateEnd();
  t.join();
  EXPECT_EQ(r.kind, FaultResult::Kind::kMapped);
  EXPECT_GT(r.retries, 0u);
  EXPECT_GT(vm_->stats().Get("fault_retries"), 0u);
}

TEST_F(FaultTest, TdxVmsKeepPrivateMappingsInAMirrorRoot) {
  SetUpVm(KVM_X86_TDX_VM);
  // A runnable TD: KVM_TDX_INIT_VM, one initialized vCPU, KVM_TDX_FINALIZE_VM.
  std::vector<uint8_t> init(sizeof(kvm_tdx_init_vm), 0);
  kvm_tdx_cmd cmd{};
  cmd.id = KVM_TDX_INIT_VM;
  cmd.data = reinterpret_cast<uint64_t>(init.data());
  ASSERT_EQ(ccm_ioctl(vm_fd_.get(), KVM_MEMORY_ENCRYPT_OP, &cmd), 0) << std::strerror(errno);
  UniqueFd vcpu(ccm_ioctl(vm_fd_.get(), KVM_CREATE_VCPU, 0));
  ASSERT_TRUE(vcpu.valid());
  cmd = kvm_tdx_cmd{};
  cmd.id = KVM_TDX_INIT_VCPU;
  ASSERT_EQ(ccm_ioctl(vcpu.get(), KVM_MEMORY_ENCRYPT_OP, &cmd), 0) << std::strerror(errno);
  cmd = kvm_tdx_cmd{};
  cmd.id = KVM_TDX_FINALIZE_VM;
  ASSERT_EQ(ccm_ioctl(vm_fd_.get(), KVM_MEMORY_ENCRYPT_OP, &cmd), 0) << std::strerror(errno);
  SetUpGmem(2 * k2M, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
  ASSERT_EQ(Convert(0, k2M, true), 0);
  ASSERT_EQ(Fault(0, true).kind, FaultResult::Kind::kMapped);        // private: mirror
  ASSERT_EQ(Fault(k2M, false).kind, FaultResult::Kind::kMapped);     // shared: direct
  EXPECT_EQ(vm_->mirror_leaf_count(), 1u);
  int leaves = 0;
  vm_->ForEachMapping(0, [&](const tdp::TdpTable::Mapping&) { ++leaves; });
  EXPECT_EQ(leaves, 2);
  ExpectInvariants();
  ASSERT_EQ(Convert(0, k2M, false), 0);  // the conversion zaps the mirror leaf
  EXPECT_EQ(vm_->mirror_leaf_count(), 0u);
  ExpectInvariants();
}

TEST_F(FaultTest, VmAttributesWithSeparateSharedBacking) {
  SetUpVm(KVM_X86_SW_PROTECTED_VM, "0");
  // Private memory from a guest_memfd without MMAP, shared from ordinary memory.
  kvm_create_guest_memfd g{};
  g.size = k2M;
  gmem_.reset(ccm_ioctl(vm_fd_.get(), KVM_CREATE_GUEST_MEMFD, &g));
  ASSERT_TRUE(gmem_.valid());
  auto* shared = static_cast<char*>(mmap(nullptr, k2M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  kvm_userspace_memory_region2 r{};
  r.flags = KVM_MEM_GUEST_MEMFD;
  r.guest_phys_addr = kGpa;
  r.memory_size = k2M;
  r.userspace_addr = reinterpret_cast<uint64_t>(shared);
  r.guest_memfd = static_cast<uint32_t>(gmem_.get());
  ASSERT_EQ(ccm_ioctl(vm_fd_.get(), KVM_SET_USER_MEMORY_REGION2, &r), 0) << std::strerror(errno);
  inode_ = &Emu().fds().GetAs<gmem::GmemFile>(gmem_.get())->inode();
  std::strcpy(shared, "shared copy");
  ASSERT_EQ(Fault(0, false).kind, FaultResult::Kind::kMapped);
  char buf[16] = {};
  ASSERT_TRUE(vm_->WithGuestPage(0, Gpa(kGpa), false, [&](std::byte* p) { std::memcpy(buf, p, 12); }));
  EXPECT_STREQ(buf, "shared copy");
  kvm_memory_attributes a{};
  a.address = kGpa;
  a.size = 4096;
  a.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE;
  ASSERT_EQ(ccm_ioctl(vm_fd_.get(), KVM_SET_MEMORY_ATTRIBUTES, &a), 0);
  EXPECT_FALSE(LevelAt(0).has_value());  // the shared leaf was zapped
  ASSERT_EQ(Fault(0, true).kind, FaultResult::Kind::kMapped);
  std::memset(buf, 1, sizeof buf);
  ASSERT_TRUE(vm_->WithGuestPage(0, Gpa(kGpa), false, [&](std::byte* p) { std::memcpy(buf, p, 12); }));
  EXPECT_EQ(buf[0], 0);  // separate backing: the private page is a fresh zero page
  ExpectInvariants();
  munmap(shared, k2M);
}

}  // namespace
}  // namespace cocomem::kvm
