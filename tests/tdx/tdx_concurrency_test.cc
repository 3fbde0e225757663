// Concurrent SEAMCALLs and TD-side calls on one TD (also run under ThreadSanitizer): host
// threads AUG/BLOCK/TRACK/REMOVE and guest threads ACCEPT/Walk and enter/exit the TD, on
// overlapping GPAs. Every status must be success, BUSY-class, or a state-dependent answer
// the race can explain; the module's invariants hold at the end.
#include <atomic>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "test_seed.h"
#include "tdx_test_util.h"

namespace cocomem::tdx::testing {
namespace {

constexpr uint64_t kBase = 1ull << 30;
constexpr unsigned kSlots = 64;  // GPAs kBase + i * 4K, each with its own page
#ifdef __SANITIZE_THREAD__
constexpr int kIters = 1500;
#else
constexpr int kIters = 4000;
#endif

class ConcurrencyTest : public TdxTest {
 protected:
  void ExpectOneOf(TdxStatus s, std::initializer_list<TdxStatus> allowed, const char* what) {
    for (TdxStatus a : allowed)
      if (StatusCode(s) == a) return;
    unexpected_.fetch_add(1);
    ADD_FAILURE() << what << ": " << StatusName(s) << std::hex << " 0x" << s;
  }
  TdxStatus Seamcall(Leaf leaf, uint64_t rcx, uint64_t rdx = 0, uint64_t r8 = 0) {
    Regs r;
    r.rax = static_cast<uint64_t>(leaf);
    r.rcx = rcx;
    r.rdx = rdx;
    r.r8 = r8;
    return module_->Seamcall(r);
  }
  std::atomic<int> unexpected_{0};
};

TEST_F(ConcurrencyTest, AugAcceptZapAndEpochs) {
  const uint64_t seed = test::BaseSeed();
  CreateTd({}, 2);
  EnsureTables(kBase, 0);
  Finalize();
  std::vector<uint64_t> page(kSlots);
  for (auto& p : page) p = Page();

  std::atomic<int> accepted{0}, removed{0};
  std::vector<std::thread> threads;
  // Host: faults (AUG).
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seed + t);
      for (int i = 0; i < kIters; ++i) {
        unsigned slot = rng() % kSlots;
        TdxStatus s = Seamcall(Leaf::kMemPageAug, kBase + slot * 4096, tdr_, page[slot]);
        ExpectOneOf(s, {TDX_SUCCESS, TDX_OPERAND_BUSY, TDX_EPT_ENTRY_STATE_INCORRECT}, "AUG");
      }
    });
  }
  // Host: zaps (BLOCK, TRACK, REMOVE) as KVM does, without kicking vCPUs.
  threads.emplace_back([&] {
    std::mt19937_64 rng(seed + 10);
    for (int i = 0; i < kIters; ++i) {
      uint64_t gpa = kBase + (rng() % kSlots) * 4096;
      ExpectOneOf(Seamcall(Leaf::kMemRangeBlock, gpa, tdr_),
                  {TDX_SUCCESS, TDX_OPERAND_BUSY, TDX_GPA_RANGE_ALREADY_BLOCKED,
                   TDX_EPT_ENTRY_STATE_INCORRECT},
                  "BLOCK");
      ExpectOneOf(Seamcall(Leaf::kMemTrack, tdr_),
                  {TDX_SUCCESS, TDX_OPERAND_BUSY, TDX_PREVIOUS_TLB_EPOCH_BUSY}, "TRACK");
      TdxStatus rs = Seamcall(Leaf::kMemPageRemove, gpa, tdr_);
      if (rs == TDX_SUCCESS) removed.fetch_add(1);
      ExpectOneOf(rs,
                  {TDX_SUCCESS, TDX_OPERAND_BUSY, TDX_EPT_ENTRY_STATE_INCORRECT,
                   TDX_GPA_RANGE_NOT_BLOCKED, TDX_TLB_TRACKING_NOT_DONE},
                  "REMOVE");
    }
  });
  // Guests: enter, accept, access, exit.
  for (int v = 0; v < 2; ++v) {
    threads.emplace_back([&, v] {
      std::mt19937_64 rng(seed + 20 + v);
      const Hpa vcpu(tdvprs_[v]);
      bool inside = false;
      for (int i = 0; i < kIters; ++i) {
        if (!inside) {
          TdxStatus s = module_->VpEnter(vcpu);
          ExpectOneOf(s, {TDX_SUCCESS, TDX_OPERAND_BUSY}, "VP.ENTER");
          inside = s == TDX_SUCCESS;
          if (!inside) continue;
        }
        unsigned slot = rng() % kSlots;
        uint64_t gpa = kBase + slot * 4096;
        TdcallResult r = module_->TdgMemPageAccept(vcpu, gpa);
        if (!r.td_exit && r.status == TDX_SUCCESS) accepted.fetch_add(1);
        if (!r.td_exit)
          ExpectOneOf(r.status,
                      {TDX_SUCCESS, TDX_PAGE_ALREADY_ACCEPTED, TDX_OPERAND_BUSY,
                       TDX_OPERAND_BUSY_HOST_PRIORITY},
                      "ACCEPT");
        GuestWalk w = module_->Walk(Hpa(tdr_), gpa + 16, rng() & 1);
        if (w.kind == GuestWalk::Kind::kAccessible && w.hpa != Hpa(page[slot] + 16)) {
          unexpected_.fetch_add(1);
          ADD_FAILURE() << "walk of slot " << slot << " reached a foreign page";
        }
        if (r.td_exit || rng() % 8 == 0) {  // exits: EPT violations, interrupts
          module_->TdExitEpoch(vcpu);
          inside = false;
        }
      }
      if (inside) module_->TdExitEpoch(vcpu);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(unexpected_.load(), 0);
  EXPECT_GT(accepted.load(), 0);
  EXPECT_GT(removed.load(), 0);
  std::printf("accepted %d removed %d\n", accepted.load(), removed.load());

  // Quiescent: every slot is FREE or maps its own page.
  module_->ForEachSeptEntry(Hpa(tdr_), [&](const SeptEntryInfo& e) {
    if (e.level != kLvl4K) return;
    unsigned slot = static_cast<unsigned>((e.gpa - kBase) / 4096);
    ASSERT_LT(slot, kSlots);
    EXPECT_EQ(e.hpa, Hpa(page[slot]));
  });
  // With nobody inside, a TRACK always succeeds and then everything can be removed.
  ASSERT_EQ(Seamcall(Leaf::kMemTrack, tdr_), TDX_SUCCESS);
  for (unsigned i = 0; i < kSlots; ++i) {
    uint64_t gpa = kBase + i * 4096;
    Seamcall(Leaf::kMemRangeBlock, gpa, tdr_);
  }
  ASSERT_EQ(Seamcall(Leaf::kMemTrack, tdr_), TDX_SUCCESS);
  for (unsigned i = 0; i < kSlots; ++i) {
    TdxStatus s = Seamcall(Leaf::kMemPageRemove, kBase + i * 4096, tdr_);
    ExpectOneOf(s, {TDX_SUCCESS, TDX_EPT_ENTRY_STATE_INCORRECT}, "final REMOVE");
  }
  for (uint64_t p : page) EXPECT_EQ(module_->Pamt(PfnOf(Hpa(p))).type, PageType::kNda);
}

// Two TDs built and run concurrently never share a page.
TEST_F(ConcurrencyTest, TwoTdsRacingForPages) {
  const uint64_t seed = test::BaseSeed();
  CreateTd();
  const uint64_t td_a = tdr_;
  EnsureTables(kBase, 0);
  Finalize();
  tdvprs_.clear();
  CreateTd();
  const uint64_t td_b = tdr_;
  EnsureTables(kBase, 0);
  Finalize();
  std::vector<uint64_t> page(kSlots);
  for (auto& p : page) p = Page();
  std::atomic<int> won{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seed + 100 + t);
      const uint64_t tdr = t ? td_b : td_a;
      for (unsigned i = 0; i < kSlots; ++i) {
        unsigned slot = (i + rng() % 4) % kSlots;
        TdxStatus s = Seamcall(Leaf::kMemPageAug, kBase + slot * 4096, tdr, page[slot]);
        ExpectOneOf(s, {TDX_SUCCESS, TDX_OPERAND_BUSY, TDX_PAGE_METADATA_INCORRECT,
                        TDX_EPT_ENTRY_STATE_INCORRECT},
                    "AUG");
        if (s == TDX_SUCCESS) won++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(won.load(), static_cast<int>(kSlots));
  EXPECT_EQ(unexpected_.load(), 0);
}

// A vCPU thread inside the TD keeps TRACK at PREVIOUS_TLB_EPOCH_BUSY (after one TRACK has
// moved past its epoch) until it exits; then TRACK succeeds again.
TEST_F(ConcurrencyTest, TrackIsEpochBusyUntilTheVcpuThreadExits) {
  CreateTd();
  Finalize();
  const Hpa vcpu(tdvprs_[0]);
  std::atomic<int> phase{0};
  std::thread guest([&] {
    ASSERT_EQ(module_->VpEnter(vcpu), TDX_SUCCESS);
    phase.store(1);
    while (phase.load() != 2) std::this_thread::yield();  // "running in the TD"
    module_->TdExitEpoch(vcpu);
    phase.store(3);
  });
  while (phase.load() != 1) std::this_thread::yield();
  ASSERT_EQ(Call(Leaf::kMemTrack, tdr_), TDX_SUCCESS);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Call(Leaf::kMemTrack, tdr_), TDX_PREVIOUS_TLB_EPOCH_BUSY);
  phase.store(2);
  while (phase.load() != 3) std::this_thread::yield();
  EXPECT_EQ(Call(Leaf::kMemTrack, tdr_), TDX_SUCCESS);
  guest.join();
}

}  // namespace
}  // namespace cocomem::tdx::testing
