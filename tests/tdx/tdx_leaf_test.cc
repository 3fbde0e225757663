// Per-leaf checks of the TDX module: each failure check in the spec's order with the exact
// status and operand id (tdx.md §2), BUSY per lock (§1.6), TLB epochs (§1.5), the data
// path, teardown and the TD side.
#include <cstring>

#include "tdx_test_util.h"

namespace cocomem::tdx::testing {
namespace {

constexpr uint64_t kGpa = 1ull << 30;
constexpr uint64_t kFreeDetails = 0x8000000000000000;

std::byte* View(host::Arena& a, uint64_t hpa) { return a.HardwareView(PfnOf(Hpa(hpa))); }

class LeafTest : public TdxTest {};

TEST_F(LeafTest, DispatcherRejectsBadRax) {
  CreateTd();
  EnsureTables(kGpa, 0);
  regs_ = Regs{};
  regs_.rax = static_cast<uint64_t>(Leaf::kMemPageAug) | (1u << 16);  // version 1
  regs_.rcx = kGpa;
  regs_.rdx = tdr_;
  regs_.r8 = Page();
  EXPECT_EQ(module_->Seamcall(regs_), TDX_OPERAND_INVALID + kOpRax);
  EXPECT_EQ(regs_.rax, TDX_OPERAND_INVALID + kOpRax);
  regs_.rax = static_cast<uint64_t>(Leaf::kMemPageAug) | (1ull << 24);  // reserved bit
  EXPECT_EQ(module_->Seamcall(regs_), TDX_OPERAND_INVALID + kOpRax);
  regs_.rax = 99;
  EXPECT_EQ(module_->Seamcall(regs_), TDX_OPERAND_INVALID + kOpRax);
  EXPECT_EQ(Call(Leaf::kMemPagePromote, Lvl(kGpa, 1), tdr_, 0, 0, 2), TDX_OPERAND_INVALID + kOpRax);
  // SEPT.ADD v1 with an existing table: success, R8 bit 63 = "not used".
  uint64_t page = Page();
  EXPECT_EQ(Call(Leaf::kMemSeptAdd, Lvl(kGpa, 1), tdr_ | 1, page, 0, 1), TDX_SUCCESS);
  EXPECT_EQ(regs_.r8, page | (1ull << 63));
}

TEST_F(LeafTest, TdrOperandChecks) {
  CreateTd();
  EnsureTables(kGpa, 0);
  const uint64_t page = Page();
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa, tdr_ + 8, page), TDX_OPERAND_INVALID + kOpRdx);
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa, tdr_ | (33ull << 46), page),
            TDX_OPERAND_INVALID + kOpRdx);
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa, arena_->capacity_bytes(), page),
            TDX_OPERAND_ADDR_RANGE_ERROR + kOpRdx);
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa, Page(), page), TDX_PAGE_METADATA_INCORRECT + kOpRdx);
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa, tdvprs_[0], page), TDX_PAGE_METADATA_INCORRECT + kOpRdx);
  // TRACK and FINALIZE take the TDR in RCX.
  EXPECT_EQ(Call(Leaf::kMemTrack, tdr_ + 8), TDX_OPERAND_INVALID + kOpRcx);
  EXPECT_EQ(Call(Leaf::kMrFinalize, Page()), TDX_PAGE_METADATA_INCORRECT + kOpRcx);
}

TEST_F(LeafTest, TdStateChecks) {
  tdr_ = Page();
  ASSERT_EQ(Call(Leaf::kMngCreate, tdr_, 5), TDX_OPERAND_INVALID + kOpRdx);  // shared KeyID
  ASSERT_EQ(Call(Leaf::kMngCreate, tdr_, 40), TDX_SUCCESS);
  EXPECT_EQ(Call(Leaf::kMngCreate, Page(), 40), TDX_OPERAND_INVALID + kOpRdx);  // HKID in use
  EXPECT_EQ(Call(Leaf::kMngCreate, tdr_, 41), TDX_PAGE_METADATA_INCORRECT + kOpRcx);
  EXPECT_EQ(Call(Leaf::kMemTrack, tdr_), TDX_TD_KEYS_NOT_CONFIGURED);
  ASSERT_EQ(Call(Leaf::kMngKeyConfig, tdr_), TDX_SUCCESS);
  EXPECT_EQ(Call(Leaf::kMemTrack, tdr_), TDX_TDCS_NOT_ALLOCATED);
  EXPECT_EQ(Call(Leaf::kMngInit, tdr_), TDX_TDCS_NOT_ALLOCATED);
  for (unsigned i = 0; i < kTdcsPages; ++i)
    ASSERT_EQ(Call(Leaf::kMngAddcx, Page(), tdr_), TDX_SUCCESS);
  EXPECT_EQ(Call(Leaf::kMngAddcx, Page(), tdr_), TDX_OPERAND_INVALID + kOpRcx);
  EXPECT_EQ(Call(Leaf::kMemTrack, tdr_), TDX_OP_STATE_INCORRECT);  // UNINITIALIZED
  ASSERT_EQ(Call(Leaf::kMngInit, tdr_), TDX_SUCCESS);
  EXPECT_EQ(Call(Leaf::kMngInit, tdr_), TDX_OP_STATE_INCORRECT);
  EXPECT_EQ(Call(Leaf::kMemTrack, tdr_), TDX_SUCCESS);
  EXPECT_EQ(Call(Leaf::kMrFinalize, tdr_), TDX_NO_VCPUS);
}

TEST_F(LeafTest, AugOperandChecksInOrder) {
  CreateTd();
  const uint64_t page = Page();
  // Page info: level, reserved bits, alignment, then GPA validity.
  EXPECT_EQ(Call(Leaf::kMemPageAug, Lvl(kGpa, 2), tdr_, page), TDX_OPERAND_INVALID + kOpRcx);
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa | 8, tdr_, page), TDX_OPERAND_INVALID + kOpRcx);
  EXPECT_EQ(Call(Leaf::kMemPageAug, Lvl(kGpa + 4096, 1), tdr_, page),
            TDX_OPERAND_INVALID + kOpRcx);
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa | (1ull << 47), tdr_, page),
            TDX_OPERAND_INVALID + kOpRcx);
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa | (1ull << 50), tdr_, page),
            TDX_OPERAND_INVALID + kOpRcx);
  // Walk failed at the (FREE) root entry, level 3.
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa, tdr_, page), TDX_EPT_WALK_FAILED + kOpRcx);
  EXPECT_EQ(regs_.rcx, kFreeDetails);
  EXPECT_EQ(regs_.rdx, 3u);
  ASSERT_EQ(Call(Leaf::kMemSeptAdd, Lvl(0, 3), tdr_, Page()), TDX_SUCCESS);
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa, tdr_, page), TDX_EPT_WALK_FAILED + kOpRcx);
  EXPECT_EQ(regs_.rdx, 2u);
  EnsureTables(kGpa, 0);
  // Target HPA checks (R8).
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa, tdr_, page + 0x800), TDX_OPERAND_INVALID + kOpR8);
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa, tdr_, page | (40ull << 46)),
            TDX_OPERAND_INVALID + kOpR8);
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa, tdr_, arena_->capacity_bytes()),
            TDX_OPERAND_ADDR_RANGE_ERROR + kOpR8);
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa, tdr_, tdvprs_[0]), TDX_PAGE_METADATA_INCORRECT + kOpR8);
  ASSERT_EQ(Call(Leaf::kMemPageAug, kGpa, tdr_, page), TDX_SUCCESS);
  EXPECT_EQ(regs_.rcx, 0u);
  // The same page again (already PT_REG) at another GPA.
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa + 4096, tdr_, page), TDX_PAGE_METADATA_INCORRECT + kOpR8);
  // The same GPA again: the entry is PENDING now.
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa, tdr_, Page()), TDX_EPT_ENTRY_STATE_INCORRECT + kOpRcx);
  // Details: RWX|MT|HPA|IPAT|PS|SVE of the entry (the TDP state bit is not reported).
  EXPECT_EQ(regs_.rcx, 0x80000000000000F0 | page);
  EXPECT_EQ(regs_.rdx, 0u | (2u << 8));
  EXPECT_EQ(module_->Pamt(PfnOf(Hpa(page))).type, PageType::kReg);
  EXPECT_EQ(module_->Pamt(PfnOf(Hpa(page))).owner, Hpa(tdr_));
}

TEST_F(LeafTest, PageOwnedByAnotherTdIsRefused) {
  CreateTd();
  const uint64_t td1 = tdr_;
  const uint64_t page = Aug(kGpa);
  tdvprs_.clear();
  CreateTd();
  EnsureTables(kGpa, 0);
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa, tdr_, page), TDX_PAGE_METADATA_INCORRECT + kOpR8);
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa, tdr_, td1), TDX_PAGE_METADATA_INCORRECT + kOpR8);
}

TEST_F(LeafTest, Aug2MNeedsAFreeAlignedRange) {
  CreateTd();
  EnsureTables(kGpa, 1);
  const uint64_t big = Page2M();
  EXPECT_EQ(Call(Leaf::kMemPageAug, Lvl(kGpa, 1), tdr_, big + 4096), TDX_OPERAND_INVALID + kOpR8);
  // One 4K page of the range in use by the TD.
  EnsureTables(kGpa + (2 << 20), 0);
  ASSERT_EQ(Call(Leaf::kMemPageAug, kGpa + (2 << 20), tdr_, big + 5 * 4096), TDX_SUCCESS);
  EXPECT_EQ(Call(Leaf::kMemPageAug, Lvl(kGpa, 1), tdr_, big), TDX_PAGE_METADATA_INCORRECT + kOpR8);
  ASSERT_EQ(Call(Leaf::kMemPageRemove, kGpa + (2 << 20), tdr_), TDX_SUCCESS);
  EXPECT_EQ(regs_.rcx, big + 5 * 4096);
  ASSERT_EQ(Call(Leaf::kMemPageAug, Lvl(kGpa, 1), tdr_, big), TDX_SUCCESS);
  EXPECT_EQ(module_->Pamt(PfnOf(Hpa(big + 7 * 4096))).size, kLvl2M);
  // A 4K page inside a 2M PT_REG page is not free at 4K.
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa + (2 << 20), tdr_, big + 4096),
            TDX_PAGE_METADATA_INCORRECT + kOpR8);
}

TEST_F(LeafTest, PageAddCopiesMeasuresAndStopsAfterFinalize) {
  CreateTd();
  EnsureTables(kGpa, 0);
  const uint64_t src = Page(), dst = Page();
  std::memset(View(*arena_, src), 0x5A, 4096);
  // Source with a private KeyID.
  EXPECT_EQ(Call(Leaf::kMemPageAdd, kGpa, tdr_, dst, src | (40ull << 46)),
            TDX_OPERAND_INVALID + kOpR9);
  EXPECT_EQ(Call(Leaf::kMemPageAdd, kGpa, tdr_, dst, src + 1), TDX_OPERAND_INVALID + kOpR9);
  EXPECT_EQ(Call(Leaf::kMemPageAdd, Lvl(kGpa, 1), tdr_, dst, src), TDX_OPERAND_INVALID + kOpRcx);
  // Shared KeyID source is fine.
  ASSERT_EQ(Call(Leaf::kMemPageAdd, kGpa, tdr_, dst, src | (1ull << 46)), TDX_SUCCESS);
  EXPECT_EQ(std::memcmp(View(*arena_, dst), View(*arena_, src), 4096), 0);
  // In place: source == target keeps the content.
  const uint64_t inplace = Page();
  std::memset(View(*arena_, inplace), 0x33, 4096);
  ASSERT_EQ(Call(Leaf::kMemPageAdd, kGpa + 4096, tdr_, inplace, inplace), TDX_SUCCESS);
  EXPECT_EQ(static_cast<int>(View(*arena_, inplace)[100]), 0x33);
  EXPECT_EQ(Call(Leaf::kMemPageAdd, kGpa, tdr_, Page(), src), TDX_EPT_ENTRY_STATE_INCORRECT + kOpRcx);
  EXPECT_EQ(Call(Leaf::kMemPageAdd, kGpa + (4ull << 20), tdr_, Page(), src),
            TDX_EPT_WALK_FAILED + kOpRcx);
  EXPECT_EQ(regs_.rdx, 1u);
  Finalize();
  EXPECT_EQ(Call(Leaf::kMemPageAdd, kGpa + 8192, tdr_, Page(), src), TDX_OP_STATE_INCORRECT);
  EXPECT_EQ(Call(Leaf::kMrExtend, kGpa, tdr_), TDX_OP_STATE_INCORRECT);
  // Mapped by ADD means already accepted.
  EXPECT_EQ(Accept(kGpa).status, TDX_PAGE_ALREADY_ACCEPTED);
}

TEST_F(LeafTest, MrExtendChecks) {
  CreateTd();
  Aug(kGpa);
  EXPECT_EQ(Call(Leaf::kMrExtend, kGpa + 0x80, tdr_), TDX_OPERAND_INVALID + kOpRcx);
  EXPECT_EQ(Call(Leaf::kMrExtend, kGpa | (1ull << 47), tdr_), TDX_OPERAND_INVALID + kOpRcx);
  EXPECT_EQ(Call(Leaf::kMrExtend, kGpa + 0x100, tdr_), TDX_EPT_ENTRY_NOT_PRESENT + kOpRcx);
  EXPECT_EQ(regs_.rdx, 0u | (2u << 8));  // PENDING at level 0
  EXPECT_EQ(Call(Leaf::kMrExtend, kGpa + (1ull << 30), tdr_), TDX_EPT_ENTRY_NOT_PRESENT + kOpRcx);
  EXPECT_EQ(regs_.rcx, kFreeDetails);
}

TEST_F(LeafTest, RemoveOnRunningTdNeedsBlockAndTrack) {
  CreateTd();
  Finalize();
  const uint64_t page = AugAccept(kGpa);
  const uint64_t raw = Raw(kGpa, 0);
  EXPECT_EQ(raw, 0x80000000000000F7 | page);
  EXPECT_EQ(Call(Leaf::kMemPageRemove, kGpa, tdr_), TDX_GPA_RANGE_NOT_BLOCKED + kOpRcx);
  EXPECT_EQ(regs_.rcx, raw);
  EXPECT_EQ(regs_.rdx, 0u | (4u << 8));
  ASSERT_EQ(Call(Leaf::kMemRangeBlock, kGpa, tdr_), TDX_SUCCESS);
  EXPECT_EQ(Raw(kGpa, 0), 0x80800000000000F0 | page);
  EXPECT_EQ(module_->Pamt(PfnOf(Hpa(page))).bepoch, 1u);
  EXPECT_EQ(Call(Leaf::kMemRangeBlock, kGpa, tdr_), TDX_GPA_RANGE_ALREADY_BLOCKED + kOpRcx);
  EXPECT_EQ(Call(Leaf::kMemPageRemove, kGpa, tdr_), TDX_TLB_TRACKING_NOT_DONE + kOpRcx);
  EXPECT_EQ(Call(Leaf::kMemRangeUnblock, kGpa, tdr_), TDX_TLB_TRACKING_NOT_DONE + kOpSeptTree);
  ASSERT_EQ(Call(Leaf::kMemTrack, tdr_), TDX_SUCCESS);
  ASSERT_EQ(Call(Leaf::kMemPageRemove, kGpa, tdr_), TDX_SUCCESS);
  EXPECT_EQ(regs_.rcx, page);
  EXPECT_EQ(Raw(kGpa, 0), 0x80E0000000000000u);
  EXPECT_EQ(module_->Pamt(PfnOf(Hpa(page))).type, PageType::kNda);
  // REMOVE of a FREE entry / a table entry.
  EXPECT_EQ(Call(Leaf::kMemPageRemove, kGpa, tdr_), TDX_EPT_ENTRY_STATE_INCORRECT + kOpRcx);
  EXPECT_EQ(Call(Leaf::kMemPageRemove, Lvl(kGpa, 1), tdr_), TDX_EPT_ENTRY_STATE_INCORRECT + kOpRcx);
  EXPECT_EQ(regs_.rdx, 1u | (0x84u << 8));
  EXPECT_EQ(regs_.rcx, 7u);
}

TEST_F(LeafTest, UnblockAfterTrackOnRunningTd) {
  CreateTd();
  Finalize();
  const uint64_t page = AugAccept(kGpa);
  BlockTrack(kGpa, 0);
  ASSERT_EQ(Call(Leaf::kMemRangeUnblock, kGpa, tdr_), TDX_SUCCESS);
  EXPECT_EQ(Raw(kGpa, 0), 0x80000000000000F7 | page);
  // Non-leaf block/unblock stamps the table page's BEPOCH.
  ASSERT_EQ(Call(Leaf::kMemRangeBlock, Lvl(kGpa, 1), tdr_), TDX_SUCCESS);
  EXPECT_EQ(module_->Walk(Hpa(tdr_), kGpa, false).kind, GuestWalk::Kind::kEptViolation);
  ASSERT_EQ(Call(Leaf::kMemTrack, tdr_), TDX_SUCCESS);
  ASSERT_EQ(Call(Leaf::kMemRangeUnblock, Lvl(kGpa, 1), tdr_), TDX_SUCCESS);
  EXPECT_EQ(module_->Walk(Hpa(tdr_), kGpa, false).kind, GuestWalk::Kind::kAccessible);
}

TEST_F(LeafTest, TrackWaitsForVcpusTwoEpochsBack) {
  CreateTd();
  Finalize();
  const Hpa vcpu(tdvprs_[0]);
  ASSERT_EQ(module_->VpEnter(vcpu), TDX_SUCCESS);  // entered in epoch 1
  EXPECT_EQ(module_->VpEnter(vcpu), TDX_OPERAND_BUSY + kOpRcx);
  const uint64_t page = AugAccept(kGpa);
  ASSERT_EQ(Call(Leaf::kMemRangeBlock, kGpa, tdr_), TDX_SUCCESS);  // BEPOCH 1
  ASSERT_EQ(Call(Leaf::kMemTrack, tdr_), TDX_SUCCESS);              // epoch 2
  // The vCPU that entered in epoch 1 may still hold the translation.
  EXPECT_EQ(Call(Leaf::kMemPageRemove, kGpa, tdr_), TDX_TLB_TRACKING_NOT_DONE + kOpRcx);
  EXPECT_EQ(Call(Leaf::kMemTrack, tdr_), TDX_PREVIOUS_TLB_EPOCH_BUSY);
  module_->TdExitEpoch(vcpu);
  ASSERT_EQ(Call(Leaf::kMemPageRemove, kGpa, tdr_), TDX_SUCCESS);
  EXPECT_EQ(regs_.rcx, page);
  EXPECT_EQ(Call(Leaf::kMemTrack, tdr_), TDX_SUCCESS);  // epoch 3
}

TEST_F(LeafTest, BusyForEveryLock) {
  CreateTd();
  Finalize();
  EnsureTables(kGpa, 0);
  const uint64_t page = Page();
  using TL = TdxModule::TestLock;
  {
    auto h = module_->HoldLockForTest(TL::kTdrExclusive, Hpa(tdr_));
    EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa, tdr_, page), TDX_OPERAND_BUSY + kOpRdx);
    EXPECT_EQ(Call(Leaf::kMemTrack, tdr_), TDX_OPERAND_BUSY + kOpRcx);
  }
  {
    auto h = module_->HoldLockForTest(TL::kOpState, Hpa(tdr_));
    EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa, tdr_, page), TDX_OPERAND_BUSY + kOpOpState);
  }
  {
    auto h = module_->HoldLockForTest(TL::kSeptTreeExclusive, Hpa(tdr_));
    EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa, tdr_, page), TDX_OPERAND_BUSY + kOpSeptTree);
    EXPECT_EQ(Call(Leaf::kMemRangeBlock, kGpa, tdr_), TDX_OPERAND_BUSY + kOpSeptTree);
  }
  {
    auto h = module_->HoldLockForTest(TL::kPamtPage, Hpa(tdr_), page);
    EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa, tdr_, page), TDX_OPERAND_BUSY + kOpR8);
  }
  {
    auto h = module_->HoldLockForTest(TL::kEpochExclusive, Hpa(tdr_));
    EXPECT_EQ(Call(Leaf::kMemTrack, tdr_), TDX_OPERAND_BUSY + kOpTdEpoch);
    EXPECT_EQ(module_->VpEnter(Hpa(tdvprs_[0])), TDX_OPERAND_BUSY + kOpTdEpoch);
  }
  {
    auto h = module_->HoldLockForTest(TL::kSeptEntry, Hpa(tdr_), kGpa, kLvl4K);
    EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa, tdr_, page), TDX_OPERAND_BUSY + kOpRcx);
    EXPECT_EQ(regs_.rcx, kFreeDetails);
    // The host lost the race and marked the entry host-priority: the guest backs off.
    EXPECT_EQ(Accept(kGpa).status, TDX_OPERAND_BUSY_HOST_PRIORITY + kOpRcx);
  }
  ASSERT_EQ(Call(Leaf::kMemPageAug, kGpa, tdr_, page), TDX_SUCCESS);
  EXPECT_EQ(Raw(kGpa, 0), 0x81000000000000F0 | page);  // host-priority mark cleared
  EXPECT_EQ(Accept(kGpa).status, TDX_SUCCESS);
}

TEST_F(LeafTest, DemoteAndPromote) {
  CreateTd();
  Finalize();
  const uint64_t big = AugAccept(kGpa, 1);
  std::memset(View(*arena_, big + 3 * 4096), 0x77, 4096);
  const uint64_t table = Page();
  // Running TD: the 2M leaf must be blocked and tracked first.
  EXPECT_EQ(Call(Leaf::kMemPageDemote, Lvl(kGpa, 1), tdr_, table),
            TDX_GPA_RANGE_NOT_BLOCKED + kOpRcx);
  ASSERT_EQ(Call(Leaf::kMemRangeBlock, Lvl(kGpa, 1), tdr_), TDX_SUCCESS);
  EXPECT_EQ(Call(Leaf::kMemPageDemote, Lvl(kGpa, 1), tdr_, table),
            TDX_TLB_TRACKING_NOT_DONE + kOpRcx);
  ASSERT_EQ(Call(Leaf::kMemTrack, tdr_), TDX_SUCCESS);
  EXPECT_EQ(Call(Leaf::kMemPageDemote, Lvl(kGpa + (2 << 20), 2), tdr_, table),
            TDX_OPERAND_INVALID + kOpRcx);  // 1G-misaligned level 2
  EXPECT_EQ(Call(Leaf::kMemPageDemote, Lvl(kGpa, 1), tdr_ | 2, table),
            TDX_OPERAND_INVALID + kOpRdx);
  EXPECT_EQ(Call(Leaf::kMemPageDemote, Lvl(kGpa, 1), tdr_, tdvprs_[0]),
            TDX_PAGE_METADATA_INCORRECT + kOpR8);
  // A pending host interrupt: nothing committed, RCX/RDX as passed.
  module_->InjectPendingInterruptForTest(1);
  const uint64_t before = Raw(kGpa, 1);
  EXPECT_EQ(Call(Leaf::kMemPageDemote, Lvl(kGpa, 1), tdr_, table), TDX_INTERRUPTED_RESTARTABLE);
  EXPECT_EQ(regs_.rcx, Lvl(kGpa, 1));
  EXPECT_EQ(regs_.rdx, tdr_);
  EXPECT_EQ(Raw(kGpa, 1), before);
  EXPECT_EQ(module_->Pamt(PfnOf(Hpa(table))).type, PageType::kNda);
  ASSERT_EQ(Call(Leaf::kMemPageDemote, Lvl(kGpa, 1), tdr_, table), TDX_SUCCESS);
  EXPECT_EQ(Raw(kGpa, 1), 0x8000000000000007 | table);
  EXPECT_EQ(Raw(kGpa + 3 * 4096, 0), 0x80000000000000F7 | (big + 3 * 4096));  // unblocked
  EXPECT_EQ(module_->Pamt(PfnOf(Hpa(table))).type, PageType::kEpt);
  EXPECT_EQ(module_->Pamt(PfnOf(Hpa(big + 3 * 4096))).size, kLvl4K);
  auto w = module_->Walk(Hpa(tdr_), kGpa + 3 * 4096 + 5, false);
  ASSERT_EQ(w.kind, GuestWalk::Kind::kAccessible);
  EXPECT_EQ(w.hpa, Hpa(big + 3 * 4096 + 5));
  EXPECT_EQ(static_cast<int>(View(*arena_, big + 3 * 4096)[0]), 0x77);
  EXPECT_TRUE(module_->CheckInvariants().empty());

  // PROMOTE: must be NL_BLOCKED and tracked on a running TD.
  EXPECT_EQ(Call(Leaf::kMemPagePromote, Lvl(kGpa, 1), tdr_), TDX_GPA_RANGE_NOT_BLOCKED + kOpRcx);
  ASSERT_EQ(Call(Leaf::kMemRangeBlock, Lvl(kGpa, 1), tdr_), TDX_SUCCESS);
  EXPECT_EQ(Call(Leaf::kMemPagePromote, Lvl(kGpa, 1), tdr_), TDX_TLB_TRACKING_NOT_DONE + kOpRcx);
  ASSERT_EQ(Call(Leaf::kMemTrack, tdr_), TDX_SUCCESS);
  module_->InjectPendingInterruptForTest(1);
  EXPECT_EQ(Call(Leaf::kMemPagePromote, Lvl(kGpa, 1), tdr_), TDX_INTERRUPTED_RESTARTABLE);
  EXPECT_EQ(Raw(kGpa, 1), 0x8080000000000000 | table);
  ASSERT_EQ(Call(Leaf::kMemPagePromote, Lvl(kGpa, 1), tdr_), TDX_SUCCESS);
  EXPECT_EQ(regs_.rcx, table);
  EXPECT_EQ(Raw(kGpa, 1), 0x80000000000000F7 | big);
  EXPECT_EQ(module_->Pamt(PfnOf(Hpa(table))).type, PageType::kNda);
  EXPECT_EQ(module_->Pamt(PfnOf(Hpa(big + 4096))).size, kLvl2M);
}

TEST_F(LeafTest, PromoteConditions) {
  CreateTd();  // INITIALIZED: no blocking needed
  AugAccept(kGpa, 1);
  ASSERT_EQ(Call(Leaf::kMemPageDemote, Lvl(kGpa, 1), tdr_, Page()), TDX_SUCCESS);
  // Children not all in the same state.
  ASSERT_EQ(Call(Leaf::kMemRangeBlock, kGpa + 4096, tdr_), TDX_SUCCESS);
  EXPECT_EQ(Call(Leaf::kMemPagePromote, Lvl(kGpa, 1), tdr_),
            TDX_EPT_INVALID_PROMOTE_CONDITIONS + kOpRcx);
  ASSERT_EQ(Call(Leaf::kMemRangeUnblock, kGpa + 4096, tdr_), TDX_SUCCESS);
  // A child missing.
  const uint64_t removed_gpa = kGpa + 9 * 4096;
  ASSERT_EQ(Call(Leaf::kMemPageRemove, removed_gpa, tdr_), TDX_SUCCESS);
  const uint64_t removed = regs_.rcx;
  EXPECT_EQ(Call(Leaf::kMemPagePromote, Lvl(kGpa, 1), tdr_),
            TDX_EPT_INVALID_PROMOTE_CONDITIONS + kOpRcx);
  // Put it back at the wrong HPA (not contiguous).
  ASSERT_EQ(Call(Leaf::kMemPageAug, removed_gpa, tdr_, Page()), TDX_SUCCESS);
  ASSERT_EQ(Accept(removed_gpa).status, TDX_SUCCESS);
  EXPECT_EQ(Call(Leaf::kMemPagePromote, Lvl(kGpa, 1), tdr_),
            TDX_EPT_INVALID_PROMOTE_CONDITIONS + kOpRcx);
  ASSERT_EQ(Call(Leaf::kMemPageRemove, removed_gpa, tdr_), TDX_SUCCESS);
  ASSERT_EQ(Call(Leaf::kMemPageAug, removed_gpa, tdr_, removed), TDX_SUCCESS);
  // PENDING among MAPPED.
  EXPECT_EQ(Call(Leaf::kMemPagePromote, Lvl(kGpa, 1), tdr_),
            TDX_EPT_INVALID_PROMOTE_CONDITIONS + kOpRcx);
  ASSERT_EQ(Accept(removed_gpa).status, TDX_SUCCESS);
  // A child entry locked.
  {
    auto h = module_->HoldLockForTest(TdxModule::TestLock::kSeptEntry, Hpa(tdr_), kGpa + 4096,
                                      kLvl4K);
    EXPECT_EQ(Call(Leaf::kMemPagePromote, Lvl(kGpa, 1), tdr_), TDX_OPERAND_BUSY + kOpRcx);
  }
  ASSERT_EQ(Call(Leaf::kMemPagePromote, Lvl(kGpa, 1), tdr_), TDX_SUCCESS);
  EXPECT_EQ(Call(Leaf::kMemPagePromote, Lvl(kGpa, 1), tdr_),
            TDX_EPT_ENTRY_STATE_INCORRECT + kOpRcx);
}

TEST_F(LeafTest, SeptAddAndRemove) {
  CreateTd();
  EXPECT_EQ(Call(Leaf::kMemSeptAdd, Lvl(kGpa, 1), tdr_, Page()), TDX_EPT_WALK_FAILED + kOpRcx);
  EXPECT_EQ(regs_.rdx, 3u);
  EXPECT_EQ(Call(Leaf::kMemSeptAdd, Lvl(kGpa, 0), tdr_, Page()), TDX_OPERAND_INVALID + kOpRcx);
  EXPECT_EQ(Call(Leaf::kMemSeptAdd, Lvl(kGpa, 4), tdr_, Page()), TDX_OPERAND_INVALID + kOpRcx);
  EXPECT_EQ(Call(Leaf::kMemSeptAdd, Lvl(0, 3), tdr_ | 4, Page()), TDX_OPERAND_INVALID + kOpRdx);
  EXPECT_EQ(Call(Leaf::kMemSeptAdd, Lvl(0, 3), tdr_, kNullPa), TDX_OPERAND_INVALID + kOpR8);
  EnsureTables(kGpa, 1);
  const uint64_t table = Page();
  ASSERT_EQ(Call(Leaf::kMemSeptAdd, Lvl(kGpa, 1), tdr_, table), TDX_SUCCESS);
  EXPECT_EQ(Call(Leaf::kMemSeptAdd, Lvl(kGpa, 1), tdr_, Page()),
            TDX_EPT_ENTRY_STATE_INCORRECT + kOpRcx);
  EXPECT_EQ(regs_.rcx, 7u);
  EXPECT_EQ(regs_.rdx, 1u | (0x84u << 8));
  for (unsigned i = 0; i < 512; ++i)
    EXPECT_EQ(reinterpret_cast<uint64_t*>(View(*arena_, table))[i], 0x80E0000000000000u);
  Aug(kGpa + 4096);
  EXPECT_EQ(Call(Leaf::kMemSeptRemove, Lvl(kGpa, 1), tdr_), TDX_EPT_PAGE_NOT_FREE + kOpRcx);
  ASSERT_EQ(Call(Leaf::kMemPageRemove, kGpa + 4096, tdr_), TDX_SUCCESS);
  ASSERT_EQ(Call(Leaf::kMemSeptRemove, Lvl(kGpa, 1), tdr_), TDX_SUCCESS);
  EXPECT_EQ(regs_.rcx, table);
  EXPECT_EQ(module_->Pamt(PfnOf(Hpa(table))).type, PageType::kNda);
  EXPECT_EQ(Raw(kGpa, 1), 0x80E0000000000000u);
}

TEST_F(LeafTest, SeptRemoveOnRunningTd) {
  CreateTd();
  Finalize();
  EnsureTables(kGpa, 0);
  EXPECT_EQ(Call(Leaf::kMemSeptRemove, Lvl(kGpa, 1), tdr_), TDX_GPA_RANGE_NOT_BLOCKED + kOpRcx);
  ASSERT_EQ(Call(Leaf::kMemRangeBlock, Lvl(kGpa, 1), tdr_), TDX_SUCCESS);
  EXPECT_EQ(Call(Leaf::kMemSeptRemove, Lvl(kGpa, 1), tdr_), TDX_TLB_TRACKING_NOT_DONE + kOpRcx);
  ASSERT_EQ(Call(Leaf::kMemTrack, tdr_), TDX_SUCCESS);
  EXPECT_EQ(Call(Leaf::kMemSeptRemove, Lvl(kGpa, 1), tdr_), TDX_SUCCESS);
}

TEST_F(LeafTest, ReclaimLifecycle) {
  CreateTd();
  Finalize();
  const uint64_t page = AugAccept(kGpa);
  const uint64_t big = AugAccept(kGpa + (2 << 20), 1);
  EXPECT_EQ(Call(Leaf::kPhymemPageReclaim, page), TDX_LIFECYCLE_STATE_INCORRECT);
  EXPECT_EQ(regs_.rcx, static_cast<uint64_t>(PageType::kReg));
  EXPECT_EQ(regs_.rdx, tdr_);
  EXPECT_EQ(regs_.r8, 0u);
  EXPECT_EQ(Call(Leaf::kPhymemPageReclaim, Page()), TDX_PAGE_METADATA_INCORRECT + kOpRcx);
  EXPECT_EQ(Call(Leaf::kPhymemPageReclaim, page + 1), TDX_OPERAND_INVALID + kOpRcx);
  EXPECT_EQ(Call(Leaf::kPhymemPageWbinvd, page), TDX_PAGE_METADATA_INCORRECT + kOpRcx);
  EXPECT_EQ(Call(Leaf::kMngKeyFreeid, tdr_), TDX_LIFECYCLE_STATE_INCORRECT);

  ASSERT_EQ(Call(Leaf::kVpFlush, tdvprs_[0]), TDX_SUCCESS);
  ASSERT_EQ(Call(Leaf::kMngVpflushdone, tdr_), TDX_SUCCESS);
  EXPECT_EQ(Call(Leaf::kMemPageAug, kGpa + 4096, tdr_, Page()), TDX_TD_KEYS_NOT_CONFIGURED);
  EXPECT_EQ(Call(Leaf::kPhymemPageReclaim, page), TDX_LIFECYCLE_STATE_INCORRECT);
  ASSERT_EQ(Call(Leaf::kMngKeyFreeid, tdr_), TDX_SUCCESS);

  // Everything but the TDR first; the TDR refuses while pages remain.
  EXPECT_EQ(Call(Leaf::kPhymemPageReclaim, tdr_), TDX_TD_ASSOCIATED_PAGES_EXIST);
  EXPECT_EQ(Call(Leaf::kPhymemPageReclaim, big + 4096), TDX_OPERAND_INVALID + kOpRcx);
  ASSERT_EQ(Call(Leaf::kPhymemPageReclaim, big), TDX_SUCCESS);
  EXPECT_EQ(regs_.r8, 1u);
  std::vector<uint64_t> pages = {page};
  module_->ForEachSeptEntry(Hpa(tdr_), [&](const SeptEntryInfo& e) {
    if (e.state == SeptState::kNlMapped) pages.push_back(e.hpa.value());
  });
  for (uint64_t p : pages) EXPECT_EQ(Call(Leaf::kPhymemPageReclaim, p), TDX_SUCCESS);
  // Remaining: TDCS pages, TDVPR + TDVPX. Find them through the PAMT.
  for (uint64_t pfn = 0; pfn < arena_->capacity_pages(); ++pfn) {
    PamtInfo info = module_->Pamt(Pfn(pfn));
    if (info.owner == Hpa(tdr_) && info.type != PageType::kTdr && info.type != PageType::kNda) {
      ASSERT_EQ(Call(Leaf::kPhymemPageReclaim, pfn << 12), TDX_SUCCESS) << pfn;
      EXPECT_EQ(Call(Leaf::kPhymemPageWbinvd, (pfn << 12) | (32ull << 46)), TDX_SUCCESS);
    }
    if (pfn > 4096) break;  // all of this test's pages are low in the arena
  }
  ASSERT_EQ(Call(Leaf::kPhymemPageReclaim, tdr_), TDX_SUCCESS);
  EXPECT_EQ(regs_.rcx, static_cast<uint64_t>(PageType::kTdr));
  EXPECT_EQ(module_->Pamt(PfnOf(Hpa(tdr_))).type, PageType::kNda);
  EXPECT_EQ(Call(Leaf::kMemTrack, tdr_), TDX_PAGE_METADATA_INCORRECT + kOpRcx);
  // The HKID is free again.
  EXPECT_EQ(Call(Leaf::kMngCreate, Page(), 32), TDX_SUCCESS);
}

TEST_F(LeafTest, WbinvdChecks) {
  EXPECT_EQ(Call(Leaf::kPhymemPageWbinvd, Page() | (70ull << 46)), TDX_OPERAND_INVALID + kOpRcx);
  EXPECT_EQ(Call(Leaf::kPhymemPageWbinvd, Page() + 64), TDX_OPERAND_INVALID + kOpRcx);
  EXPECT_EQ(Call(Leaf::kPhymemPageWbinvd, arena_->capacity_bytes()),
            TDX_OPERAND_ADDR_RANGE_ERROR + kOpRcx);
  EXPECT_EQ(Call(Leaf::kPhymemPageWbinvd, Page() | (40ull << 46)), TDX_SUCCESS);
}

TEST_F(LeafTest, AcceptZeroesAndReportsLevels) {
  CreateTd();
  Finalize();
  const uint64_t page = Aug(kGpa);
  std::memset(View(*arena_, page), 0xEE, 4096);
  EXPECT_EQ(Accept(kGpa | 8).status, TDX_OPERAND_INVALID + kOpRcx);
  EXPECT_EQ(Accept(kGpa | (1ull << 47)).status, TDX_OPERAND_INVALID + kOpRcx);
  ASSERT_EQ(Accept(kGpa).status, TDX_SUCCESS);
  for (int i = 0; i < 4096; ++i) ASSERT_EQ(static_cast<int>(View(*arena_, page)[i]), 0);
  EXPECT_EQ(Accept(kGpa).status, TDX_PAGE_ALREADY_ACCEPTED);
  // 2M accept over a 4K-mapped range: size mismatch.
  EXPECT_EQ(Accept(kGpa, 1).status, TDX_PAGE_SIZE_MISMATCH + 1);

  // 2M PENDING: a 4K accept exits to the host (err level 1, PENDING, leaf).
  const uint64_t g2 = kGpa + (2 << 20);
  const uint64_t big = Aug(g2, 1);
  std::memset(View(*arena_, big + 511 * 4096), 0xEE, 4096);
  TdcallResult r = Accept(g2 + 4096);
  ASSERT_TRUE(r.td_exit);
  const uint64_t info = 0 | (1 << 3) | (2 << 6) | (1 << 14);
  EXPECT_EQ(r.exit.ext_exit_qualification, kEeqTypeAccept | (info << 32));
  EXPECT_EQ(r.exit.exit_qualification, 0x2u);
  EXPECT_EQ(r.exit.gpa, g2 + 4096);
  // Missing table: exit at the level where the walk stopped (a FREE PDPT entry).
  r = Accept(kGpa + (64ull << 30));
  ASSERT_TRUE(r.td_exit);
  EXPECT_EQ(r.exit.ext_exit_qualification, kEeqTypeAccept | (uint64_t{2 << 3} << 32));
  ASSERT_EQ(Accept(g2, 1).status, TDX_SUCCESS);
  EXPECT_EQ(static_cast<int>(View(*arena_, big + 511 * 4096)[4095]), 0);
  EXPECT_EQ(Raw(g2, 1), 0x80000000000000F7 | big);
  EXPECT_EQ(Accept(g2 + 4096).status, TDX_PAGE_ALREADY_ACCEPTED + 1);
  EXPECT_EQ(Accept(g2, 1).status, TDX_PAGE_ALREADY_ACCEPTED + 1);
}

TEST_F(LeafTest, GuestWalk) {
  TdParams ve_disabled;
  ve_disabled.attributes = kTdAttrSeptVeDisable;
  CreateTd();
  Finalize();
  const uint64_t page = Aug(kGpa);
  auto w = module_->Walk(Hpa(tdr_), kGpa + 8, false);
  EXPECT_EQ(w.kind, GuestWalk::Kind::kVe);
  ASSERT_EQ(Accept(kGpa).status, TDX_SUCCESS);
  w = module_->Walk(Hpa(tdr_), kGpa + 8, true);
  ASSERT_EQ(w.kind, GuestWalk::Kind::kAccessible);
  EXPECT_EQ(w.hpa, Hpa(page + 8));
  w = module_->Walk(Hpa(tdr_), kGpa + 4096, true);
  EXPECT_EQ(w.kind, GuestWalk::Kind::kEptViolation);
  EXPECT_EQ(w.exit.ext_exit_qualification, 0u);
  EXPECT_EQ(w.exit.exit_qualification & 2, 2u);
  EXPECT_EQ(w.exit.gpa, kGpa + 4096);
  ASSERT_EQ(Call(Leaf::kMemRangeBlock, kGpa, tdr_), TDX_SUCCESS);
  EXPECT_EQ(module_->Walk(Hpa(tdr_), kGpa, false).kind, GuestWalk::Kind::kEptViolation);

  const uint64_t td1 = tdr_;
  tdvprs_.clear();
  CreateTd(ve_disabled);
  Finalize();
  Aug(kGpa);
  w = module_->Walk(Hpa(tdr_), kGpa, false);
  EXPECT_EQ(w.kind, GuestWalk::Kind::kEptViolation);
  EXPECT_EQ(w.exit.ext_exit_qualification, kEeqTypePendingEptViolation);
  EXPECT_EQ(w.exit.exit_qualification & 1, 1u);
  // Each TD walks its own tables: the first TD's page is still blocked.
  EXPECT_EQ(module_->Walk(Hpa(td1), kGpa + 8, false).kind, GuestWalk::Kind::kEptViolation);
}

TEST_F(LeafTest, FiveLevelSept) {
  TdParams p;
  p.gpaw = 52;
  CreateTd(p);
  const uint64_t high = (1ull << 47) | kGpa;  // a private GPA with GPAW 52
  const uint64_t page = AugAccept(high);
  EXPECT_EQ(module_->Walk(Hpa(tdr_), high, false).hpa, Hpa(page));
  EXPECT_EQ(Call(Leaf::kMemPageAug, (1ull << 51) | kGpa, tdr_, Page()),
            TDX_OPERAND_INVALID + kOpRcx);
  EXPECT_EQ(Call(Leaf::kMemSeptAdd, Lvl(0, 4), tdr_ | 1, Page()), TDX_SUCCESS);
}

TEST_F(LeafTest, CountsAndNames) {
  CreateTd();
  Aug(kGpa);
  Call(Leaf::kMemPageAug, kGpa, tdr_, Page());
  uint64_t ok = 0, bad = 0;
  for (auto [leaf, cls, n] : module_->SeamcallCounts()) {
    if (leaf != Leaf::kMemPageAug) continue;
    if (cls == TDX_SUCCESS) ok = n;
    if (cls == TDX_EPT_ENTRY_STATE_INCORRECT) bad = n;
  }
  EXPECT_EQ(ok, 1u);
  EXPECT_EQ(bad, 1u);
  EXPECT_STREQ(LeafName(Leaf::kMemPageAug), "TDH.MEM.PAGE.AUG");
  EXPECT_STREQ(StatusName(TDX_OPERAND_BUSY + kOpRcx), "TDX_OPERAND_BUSY");
}

}  // namespace
}  // namespace cocomem::tdx::testing
