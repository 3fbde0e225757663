#include "host/pfn_allocator.h"

#include <gtest/gtest.h>

#include "test_seed.h"

#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace cocomem::host {
namespace {

TEST(PfnAllocator, AllocatesAlignedRanges) {
  PfnAllocator a(1 << 20);
  auto r1 = a.Allocate(1, PageOrder::k4K);
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->start, Pfn(0));
  auto r2 = a.Allocate(512, PageOrder::k2M);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->start, Pfn(512));  // skipped the unaligned remainder of the first 2M
  auto r3 = a.Allocate(3, PageOrder::k4K);
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r3->start, Pfn(1));  // first fit fills the gap left by alignment
  auto r4 = a.Allocate(1 << 18, PageOrder::k1G);
  ASSERT_TRUE(r4.ok());
  EXPECT_EQ(r4->start.value() % (1 << 18), 0u);
  EXPECT_EQ(a.allocated_pages(), 1u + 512 + 3 + (1 << 18));
}

TEST(PfnAllocator, ExhaustionIsENOMEM) {
  PfnAllocator a(1024);
  EXPECT_EQ(a.Allocate(1025, PageOrder::k4K).error(), ENOMEM);
  auto all = a.Allocate(1024, PageOrder::k4K);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(a.Allocate(1, PageOrder::k4K).error(), ENOMEM);
  a.Free(*all);
  EXPECT_TRUE(a.Allocate(1024, PageOrder::k4K).ok());
}

TEST(PfnAllocator, AlignmentCanExhaustEvenWithFreePages) {
  PfnAllocator a(1024);  // 2 x 2M
  auto first = a.Allocate(1, PageOrder::k4K);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(a.Allocate(512, PageOrder::k2M).ok());
  EXPECT_EQ(a.Allocate(512, PageOrder::k2M).error(), ENOMEM);  // 511 free, but unaligned
}

TEST(PfnAllocator, FreeCoalescesBackToOneExtent) {
  PfnAllocator a(4096);
  std::vector<PfnRange> rs;
  for (int i = 0; i < 64; i++) {
    auto r = a.Allocate(64, PageOrder::k4K);
    ASSERT_TRUE(r.ok());
    rs.push_back(*r);
  }
  EXPECT_EQ(a.free_extent_count(), 0u);
  for (size_t i = 0; i < rs.size(); i += 2) a.Free(rs[i]);
  EXPECT_EQ(a.free_extent_count(), 32u);
  for (size_t i = 1; i < rs.size(); i += 2) a.Free(rs[i]);
  EXPECT_EQ(a.free_extent_count(), 1u);
  EXPECT_EQ(a.allocated_pages(), 0u);
}

TEST(PfnAllocatorDeathTest, DoubleFreeIsAnInvariantViolation) {
  PfnAllocator a(16);
  auto r = a.Allocate(4, PageOrder::k4K);
  ASSERT_TRUE(r.ok());
  a.Free(*r);
  EXPECT_DEATH(a.Free(*r), "not allocated");
  EXPECT_DEATH(a.Free(PfnRange{Pfn(0), 3}), "not allocated");
}

// Random allocate/free against a page bitmap: no overlap, alignment honoured, and the
// allocator never says ENOMEM while a first-fit candidate exists.
TEST(PfnAllocator, RandomAgainstBitmap) {
  const uint64_t seed = test::BaseSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  constexpr uint64_t kCap = 8192;
  PfnAllocator a(kCap);
  std::vector<bool> used(kCap, false);
  std::vector<PfnRange> live;
  for (int step = 0; step < 5000; step++) {
    if (live.empty() || rng() % 3 != 0) {
      const PageOrder align = (rng() % 4 == 0) ? PageOrder::k2M : PageOrder::k4K;
      const uint64_t n = 1 + rng() % 700;
      auto r = a.Allocate(n, align);
      // Is there any aligned free window of n pages?
      std::vector<uint64_t> free_run(kCap + 1, 0);  // free pages starting at i
      for (uint64_t i = kCap; i-- > 0;) free_run[i] = used[i] ? 0 : free_run[i + 1] + 1;
      bool possible = false;
      for (uint64_t s = 0; s < kCap && !possible; s += PagesIn(align)) possible = free_run[s] >= n;
      ASSERT_EQ(r.ok(), possible) << "step " << step;
      if (!r.ok()) continue;
      ASSERT_EQ(r->start.value() % PagesIn(align), 0u);
      for (uint64_t i = 0; i < n; i++) {
        ASSERT_FALSE(used[r->start.value() + i]);
        used[r->start.value() + i] = true;
      }
      live.push_back(*r);
    } else {
      const size_t i = rng() % live.size();
      for (uint64_t p = 0; p < live[i].npages; p++) used[live[i].start.value() + p] = false;
      a.Free(live[i]);
      live.erase(live.begin() + static_cast<long>(i));
    }
  }
}

}  // namespace
}  // namespace cocomem::host
