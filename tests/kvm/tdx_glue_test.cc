// KVM's TDX glue seen from inside: the SEAMCALL sequences behind zaps and splits, the
// mirror and the Secure EPT agreeing, a failing SEAMCALL bugging the VM, clflush through a
// missing direct map, and teardown returning every page.
#include <gtest/gtest.h>
#include <linux/falloc.h>

#include <map>

#include "conformance/td_util.h"
#include "gmem/gmem_file.h"
#include "kvm/kvm.h"
#include "kvm/tdx/tdx_vm.h"
#include "kvm/vm.h"
#include "sys/emu_backend.h"
#include "sys/vm_file.h"
#include "tdx/module/tdx_module.h"

namespace cocomem::kvm {
namespace {

using ::cocomem::tdx::Leaf;
using td_util::kSharedBit;
using td_util::TestTd;

constexpr uint64_t k4K = 4096, k2M = 2ull << 20;

sys::EmuBackend& Emu() { return static_cast<sys::EmuBackend&>(sys::GetBackend(sys::BackendKind::kEmu)); }
Vm& VmOf(int fd) { return Emu().fds().GetAs<sys::VmFile>(fd)->vm(); }

// SEAMCALL counts per leaf, successes and failures together.
std::map<Leaf, uint64_t> Counts(const ::cocomem::tdx::TdxModule& m) {
  std::map<Leaf, uint64_t> c;
  for (const auto& [leaf, status, n] : m.SeamcallCounts()) c[leaf] += n;
  return c;
}

void Accept2MAndSync(ccm_guest* g, void*) {
  if (ccm_guest_tdx_accept(g, 0, 1) != 0) ccm_guest_sync(g, 999);
  for (uint64_t off = 0; off < k2M; off += k4K) ccm_guest_write64(g, off, off + 7);
  ccm_guest_sync(g, 1);
  for (uint64_t off = 2 * k4K; off < k2M; off += k4K) {
    if (ccm_guest_read64(g, off) != off + 7) ccm_guest_sync(g, 998);
  }
  ccm_guest_sync(g, 2);
}

void Accept4KAndSync(ccm_guest* g, void*) {
  for (uint64_t off = 0; off < 4 * k4K; off += k4K) {
    if (ccm_guest_tdx_accept(g, off, 0) != 0) ccm_guest_sync(g, 999);
    ccm_guest_write64(g, off, off + 7);
  }
  ccm_guest_sync(g, 1);
  ccm_guest_sync(g, 2);
}

class TdxGlueTest : public ::testing::Test {
 protected:
  void Build(void (*guest)(ccm_guest*, void*), uint64_t flags = GUEST_MEMFD_FLAG_HUGETLB,
             uint8_t order = 9) {
    ASSERT_EQ(td_.InitVm(), 0) << std::strerror(errno);
    gmem_ = td_.CreateGmem(2 * k2M, flags, order);
    ASSERT_GE(gmem_, 0) << std::strerror(errno);
    ASSERT_EQ(td_.AddSlot(0, 0, 2 * k2M, gmem_, 0), 0);
    vcpu_ = td_.AddTdVcpu(0, guest, nullptr);
    ASSERT_EQ(td_.Finalize(), 0);
    vm_ = &VmOf(td_.vm());
    ASSERT_NE(vm_->tdx(), nullptr);
  }
  uint64_t RunToSync() {
    const vm_util::RunResult r = td_.Run(vcpu_);
    EXPECT_EQ(r.rc, 0) << std::strerror(r.error);
    if (r.rc != 0) return 0;
    return TestTd::SyncValue(td_.run(vcpu_));
  }
  void ExpectInvariants() {
    EXPECT_EQ(vm_->tdx()->CheckInvariants(), std::vector<std::string>{});
    EXPECT_EQ(vm_->CheckInvariants(), std::vector<std::string>{});
  }

  TestTd td_;
  int gmem_ = -1;
  size_t vcpu_ = 0;
  Vm* vm_ = nullptr;
};

TEST_F(TdxGlueTest, FourKConversionInside2MLeafIsBlockTrackDemoteThenRemove) {
  Build(Accept2MAndSync);
  ASSERT_EQ(RunToSync(), 1u);
  auto& module = vm_->tdx()->module();
  std::optional<tdp::TdpTable::Mapping> m = vm_->LookupMapping(0, Gfn(0));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->level, tdp::Level::k2M);
  ExpectInvariants();

  const auto before = Counts(module);
  ASSERT_EQ(td_.SetGmemAttributes(gmem_, k4K, k4K, false), 0) << std::strerror(errno);
  const auto after = Counts(module);
  auto delta = [&](Leaf l) { return after.count(l) ? after.at(l) - (before.count(l) ? before.at(l) : 0) : 0; };
  EXPECT_EQ(delta(Leaf::kMemRangeBlock), 2u) << "one for the split at 2M, one for the 4K zap";
  EXPECT_EQ(delta(Leaf::kMemTrack), 2u);
  EXPECT_EQ(delta(Leaf::kMemPageDemote), 1u);
  EXPECT_EQ(delta(Leaf::kMemPageRemove), 1u);
  EXPECT_EQ(delta(Leaf::kPhymemPageWbinvd), 1u);
  EXPECT_EQ(delta(Leaf::kMemPageAug), 0u);

  // The rest of the 2M stays mapped, now by 4K leaves.
  m = vm_->LookupMapping(0, Gfn(2));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->level, tdp::Level::k4K);
  EXPECT_FALSE(vm_->LookupMapping(0, Gfn(1)).has_value() &&
               vm_->LookupMapping(0, Gfn(1))->spte.is_private());
  ExpectInvariants();
  EXPECT_EQ(RunToSync(), 2u) << "the guest's other pages kept their data";
  EXPECT_GE(vm_->tdx()->stats().Get("leaves_demoted"), 1u);
}

TEST_F(TdxGlueTest, UnexpectedModuleStatusBugsTheVm) {
  Build(Accept4KAndSync, 0, 0);
  ASSERT_EQ(RunToSync(), 1u);
  // Behind KVM's back, block the page: KVM's own BLOCK then gets "already blocked".
  auto& module = vm_->tdx()->module();
  const std::optional<tdp::TdpTable::Mapping> m = vm_->LookupMapping(0, Gfn(0));
  ASSERT_TRUE(m);
  ::cocomem::tdx::Regs regs{.rax = static_cast<uint64_t>(Leaf::kMemRangeBlock),
                            .rcx = 0 | static_cast<uint64_t>(m->level) - 1,
                            .rdx = vm_->tdx()->tdr().value()};
  ASSERT_EQ(module.Seamcall(regs), 0u);
  ASSERT_EQ(ccm_fallocate(gmem_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, k4K), 0);
  EXPECT_TRUE(vm_->dead());
  EXPECT_NE(vm_->dead_reason().find("TDH.MEM.RANGE.BLOCK"), std::string::npos) << vm_->dead_reason();
  EXPECT_EQ(td_.Run(vcpu_).error, EIO);
  EXPECT_EQ(td_.CreateGmem(k2M, 0), -1);
  EXPECT_EQ(errno, EIO);
}

TEST_F(TdxGlueTest, TeardownReclaimsEveryPage) {
  vm_util::TestVm probe(KVM_X86_DEFAULT_VM);
  host::Arena* arena = &VmOf(probe.vm()).kvm().arena();
  const uint64_t reserved_before = arena->reserved_bytes();
  {
    TestTd td;
    ASSERT_EQ(td.InitVm(), 0);
    const int gmem = td.CreateGmem(2 * k2M, 0);
    ASSERT_EQ(td.AddSlot(0, 0, 2 * k2M, gmem, 0), 0);
    const size_t v = td.AddTdVcpu(0, Accept2MAndSync, nullptr);
    td_util::PageBuffer page = td_util::Pattern(k4K, 0x42);
    ASSERT_EQ(td.InitMemRegion(v, k2M, page.data(), 1, true), 0);
    ASSERT_EQ(td.Finalize(), 0);
    const vm_util::RunResult r = td.Run(v);
    ASSERT_EQ(r.rc, 0);
    EXPECT_GT(arena->reserved_bytes(), reserved_before);
  }
  // The VM and its guest_memfd are gone: the module owns nothing, the arena has it back.
  EXPECT_EQ(arena->reserved_bytes(), reserved_before) << "TD control pages, S-EPT pages returned";
}

TEST(TdxGlueDeathTest, ClflushThroughMissingDirectMapIsAnOops) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        TestTd td;
        (void)td.InitVm();
        const int gmem = td.CreateGmem(k2M, 0);
        (void)td.AddSlot(0, 0, k2M, gmem, 0);
        const size_t v = td.AddTdVcpu(0, [](ccm_guest* g, void*) { (void)ccm_guest_tdx_accept(g, 0, 0); }, nullptr);
        (void)td.Finalize();
        Vm& vm = VmOf(td.vm());
        auto slots = vm.memslots();
        auto file = slots->Find(0, Gfn(0))->gmem.lock();
        const Pfn pfn = file->inode().PfnOf(PgOff(0));
        (void)vm.kvm().arena().RemoveDirectMap(host::PfnRange{pfn, 1});
        (void)td.Run(v);
      },
      "BUG: unable to handle page fault");
}

}  // namespace
}  // namespace cocomem::kvm
