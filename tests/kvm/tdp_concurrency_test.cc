// Concurrent installs under a shared mmu_lock (run under TSan too): every GFN ends up
// mapped exactly once, and racing installs of the same GFN agree (one wins, the rest see
// EEXIST).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "kvm/tdp/tdp_table.h"

namespace cocomem::kvm::tdp {
namespace {

TEST(TdpConcurrency, RacingInstallsAndZaps) {
  TdpTable t;
  SharedMutex mmu_lock;
  std::atomic<int> won{0}, lost{0};
  std::vector<std::thread> threads;
  constexpr uint64_t kPages = 4096;
  for (int th = 0; th < 4; ++th) {
    threads.emplace_back([&] {
      for (uint64_t g = 0; g < kPages; ++g) {
        ReaderLock l(&mmu_lock);
        Status s = t.Map(Gfn(g), Level::k4K, Spte::MakeLeaf(g + 7, true, false, false));
        if (s.ok()) won++;
        else if (s.error() == EEXIST) lost++;
      }
    });
  }
  std::thread zapper([&] {
    for (int i = 0; i < 50; ++i) {
      WriterLock l(&mmu_lock);
      t.Zap(Gfn(0), Gfn(kPages / 2), [](const Spte&) { return true; });
    }
  });
  for (auto& th : threads) th.join();
  zapper.join();
  EXPECT_EQ(won + lost, 4 * static_cast<int>(kPages));
  EXPECT_GE(won.load(), static_cast<int>(kPages));
  for (uint64_t g = kPages / 2; g < kPages; ++g) {
    auto m = t.Lookup(Gfn(g));
    ASSERT_TRUE(m.has_value()) << g;
    EXPECT_EQ(m->FrameOf(Gfn(g)), g + 7);
  }
}

}  // namespace
}  // namespace cocomem::kvm::tdp
