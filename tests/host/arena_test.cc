#include "host/arena.h"

#include <gtest/gtest.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>

namespace cocomem::host {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;

std::unique_ptr<Arena> MakeArena(uint64_t bytes = 4 * kGiB,
                                 HugePagePolicy huge = HugePagePolicy::kAuto) {
  ArenaOptions o;
  o.capacity_bytes = bytes;
  o.huge_pages = huge;
  auto a = Arena::Create(o);
  CHECK(a.ok());
  return std::move(a).value();
}

// A real access check with no signal: the host kernel validates the address for us.
bool Readable(const void* p) {
  char byte;
  iovec local{&byte, 1};
  iovec remote{const_cast<void*>(p), 1};
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1;
}

TEST(Arena, CapacityRoundsUpToGiB) {
  auto a = MakeArena(kGiB + 1);
  EXPECT_EQ(a->capacity_bytes(), 2 * kGiB);
  EXPECT_EQ(a->reserved_bytes(), 0u);
  EXPECT_FALSE(a->backing_description().empty());
}

TEST(Arena, ReserveHonoursAlignmentAndAccounts) {
  auto a = MakeArena();
  auto small = a->Reserve(3, PageOrder::k4K);
  ASSERT_TRUE(small.ok());
  auto big = a->Reserve(PagesIn(PageOrder::k1G), PageOrder::k1G);
  ASSERT_TRUE(big.ok());
  EXPECT_TRUE(IsAlignedTo(big->start, PageOrder::k1G));
  auto mid = a->Reserve(PagesIn(PageOrder::k2M), PageOrder::k2M);
  ASSERT_TRUE(mid.ok());
  EXPECT_TRUE(IsAlignedTo(mid->start, PageOrder::k2M));
  EXPECT_EQ(a->reserved_bytes(), (3 + PagesIn(PageOrder::k1G) + PagesIn(PageOrder::k2M)) * kPageSize);
  a->Release(*small);
  a->Release(*big);
  a->Release(*mid);
  EXPECT_EQ(a->reserved_bytes(), 0u);
  EXPECT_EQ(a->stats().Get("reservations"), 3u);
  EXPECT_EQ(a->stats().Get("releases"), 3u);
}

TEST(Arena, ExhaustionIsCleanENOMEM) {
  auto a = MakeArena(kGiB);
  auto all = a->Reserve(kGiB / kPageSize, PageOrder::k4K);
  ASSERT_TRUE(all.ok());
  auto more = a->Reserve(1, PageOrder::k4K);
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.error(), ENOMEM);
  EXPECT_EQ(a->stats().Get("reserve_failures"), 1u);
  a->Release(*all);
  EXPECT_TRUE(a->Reserve(1, PageOrder::k4K).ok());
}

TEST(Arena, InjectedReserveFailure) {
  auto a = MakeArena();
  {
    ScopedFault fault(kArenaReserveFault, 2);
    EXPECT_TRUE(a->Reserve(1, PageOrder::k4K).ok());
    auto r = a->Reserve(1, PageOrder::k4K);
    EXPECT_EQ(r.error(), ENOMEM);
    EXPECT_TRUE(a->Reserve(1, PageOrder::k4K).ok());  // fires once
  }
  EXPECT_EQ(a->reserved_bytes(), 2 * kPageSize);  // the failed call reserved nothing
}

TEST(Arena, ViewsShareTheSameMemory) {
  auto a = MakeArena();
  auto r = a->Reserve(2, PageOrder::k4K);
  ASSERT_TRUE(r.ok());
  std::memcpy(a->HardwareView(r->start), "hardware", 9);
  EXPECT_STREQ(reinterpret_cast<char*>(a->DirectMap(r->start)), "hardware");
  std::memcpy(a->DirectMap(r->start + 1), "kernel", 7);
  EXPECT_STREQ(reinterpret_cast<char*>(a->HardwareView(r->start + 1)), "kernel");
}

TEST(Arena, FreshPagesReadZeroAndCommitNothing) {
  auto a = MakeArena();
  const uint64_t before = a->committed_bytes();
  auto r = a->Reserve(PagesIn(PageOrder::k2M), PageOrder::k2M);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(a->committed_bytes(), before);
  for (uint64_t i = 0; i < r->npages; i += 64) {
    EXPECT_EQ(*reinterpret_cast<volatile uint64_t*>(a->HardwareView(r->start + i)), 0u);
  }
}

TEST(Arena, PunchFreesMemoryAndReadsZero) {
  auto a = MakeArena();
  auto r = a->Reserve(PagesIn(PageOrder::k2M), PageOrder::k2M);
  ASSERT_TRUE(r.ok());
  const uint64_t before = a->committed_bytes();
  std::memset(a->HardwareView(r->start), 0xab, r->bytes());
  EXPECT_GE(a->committed_bytes(), before + r->bytes());
  ASSERT_TRUE(a->Punch(*r).ok());
  EXPECT_LE(a->committed_bytes(), before);
  for (uint64_t i = 0; i < r->npages; i++) {
    ASSERT_EQ(*reinterpret_cast<volatile uint8_t*>(a->HardwareView(r->start + i)), 0u);
    ASSERT_EQ(*reinterpret_cast<volatile uint8_t*>(a->DirectMap(r->start + i)), 0u);
  }
  EXPECT_EQ(a->stats().Get("punched_pages"), r->npages);
}

TEST(Arena, PunchOfPartOfARange) {
  auto a = MakeArena();
  auto r = a->Reserve(4, PageOrder::k4K);
  ASSERT_TRUE(r.ok());
  std::memset(a->HardwareView(r->start), 0x5a, r->bytes());
  ASSERT_TRUE(a->Punch(PfnRange{r->start + 1, 2}).ok());
  EXPECT_EQ(*reinterpret_cast<uint8_t*>(a->HardwareView(r->start)), 0x5a);
  EXPECT_EQ(*reinterpret_cast<uint8_t*>(a->HardwareView(r->start + 1)), 0);
  EXPECT_EQ(*reinterpret_cast<uint8_t*>(a->HardwareView(r->start + 2)), 0);
  EXPECT_EQ(*reinterpret_cast<uint8_t*>(a->HardwareView(r->start + 3)), 0x5a);
}

TEST(Arena, ReleaseReturnsMemory) {
  auto a = MakeArena();
  auto r = a->Reserve(256, PageOrder::k4K);
  ASSERT_TRUE(r.ok());
  const uint64_t before = a->committed_bytes();
  std::memset(a->HardwareView(r->start), 1, r->bytes());
  a->Release(*r);
  EXPECT_LE(a->committed_bytes(), before);
}

TEST(Arena, DirectMapRemovalReallyFaults) {
  auto a = MakeArena();
  auto r = a->Reserve(8, PageOrder::k4K);
  ASSERT_TRUE(r.ok());
  std::memset(a->HardwareView(r->start), 7, r->bytes());
  const PfnRange middle{r->start + 2, 3};
  ASSERT_TRUE(a->RemoveDirectMap(middle).ok());
  for (uint64_t i = 0; i < 8; i++) {
    const bool removed = middle.Contains(r->start + i);
    EXPECT_EQ(Readable(a->DirectMap(r->start + i)), !removed) << "page " << i;
    EXPECT_EQ(a->IsDirectMapped(r->start + i), !removed) << "page " << i;
    EXPECT_TRUE(Readable(a->HardwareView(r->start + i)));  // hardware view unaffected
  }
  EXPECT_EQ(a->CountDirectMapRemoved(*r), 3u);
  // Idempotent; restoring brings contents back unchanged.
  ASSERT_TRUE(a->RemoveDirectMap(middle).ok());
  EXPECT_EQ(a->stats().Get("direct_map_removed_pages"), 3u);
  ASSERT_TRUE(a->RestoreDirectMap(middle).ok());
  EXPECT_EQ(a->CountDirectMapRemoved(*r), 0u);
  EXPECT_EQ(*reinterpret_cast<uint8_t*>(a->DirectMap(r->start + 3)), 7);
  EXPECT_EQ(a->stats().Get("direct_map_restored_pages"), 3u);
}

TEST(ArenaDeathTest, DirectMapTouchIsReportedAsAKernelOops) {
  auto a = MakeArena();
  auto r = a->Reserve(1, PageOrder::k4K);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(a->RemoveDirectMap(*r).ok());
  EXPECT_DEATH(
      { (void)*reinterpret_cast<volatile uint8_t*>(a->DirectMap(r->start)); },
      "BUG: unable to handle page fault.*\n.*direct map of pfn");
}

TEST(ArenaDeathTest, OtherSegfaultsStillCrashNormally) {
  auto a = MakeArena();
  (void)a;
  EXPECT_DEATH({ (void)*reinterpret_cast<volatile int*>(uintptr_t{16}); }, "");
}

TEST(Arena, ReleaseRestoresTheDirectMap) {
  auto a = MakeArena();
  auto r = a->Reserve(4, PageOrder::k4K);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(a->RemoveDirectMap(*r).ok());
  a->Release(*r);
  EXPECT_TRUE(Readable(a->DirectMap(r->start)));
  EXPECT_TRUE(a->IsDirectMapped(r->start));
}

TEST(Arena, LocalMappingReachesMemoryWithoutADirectMap) {
  auto a = MakeArena();
  auto r = a->Reserve(4, PageOrder::k4K);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(a->RemoveDirectMap(*r).ok());
  {
    auto m = a->MapLocal(PfnRange{r->start + 1, 2});
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->size(), 2 * kPageSize);
    std::memcpy(m->data(), "kmap_local", 11);
  }
  EXPECT_STREQ(reinterpret_cast<char*>(a->HardwareView(r->start + 1)), "kmap_local");
  EXPECT_EQ(a->stats().Get("local_maps"), 1u);
}

TEST(Arena, BadRangesAreEINVAL) {
  auto a = MakeArena(kGiB);
  const PfnRange outside{Pfn(kGiB / kPageSize - 1), 2};
  EXPECT_EQ(a->RemoveDirectMap(outside).error(), EINVAL);
  EXPECT_EQ(a->Punch(outside).error(), EINVAL);
  EXPECT_EQ(a->MapLocal(outside).error(), EINVAL);
  EXPECT_EQ(a->MapLocal(PfnRange{Pfn(0), 0}).error(), EINVAL);
}

TEST(Arena, NoHugePagesPolicySaysSo) {
  auto a = MakeArena(kGiB, HugePagePolicy::kNone);
  EXPECT_EQ(a->backing(), ArenaBacking::kSmallPages);
  EXPECT_NE(a->backing_description().find("not requested"), std::string::npos);
}

// Runs only where the host has a 2M hugetlb pool (nr_hugepages > 0).
TEST(Arena, HugetlbWhenAPoolExists) {
  auto a = MakeArena(kGiB, HugePagePolicy::kHugetlb);
  if (a->backing() != ArenaBacking::kHugetlb2M) {
    GTEST_SKIP() << "no free 2M hugetlb pages on this host: " << a->backing_description();
  }
  auto r = a->Reserve(1, PageOrder::k4K);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->npages, PagesIn(PageOrder::k2M));  // rounded to the huge page
  EXPECT_EQ(a->RemoveDirectMap(PfnRange{r->start, 1}).error(), EINVAL);
  EXPECT_TRUE(a->RemoveDirectMap(*r).ok());
  EXPECT_TRUE(a->RestoreDirectMap(*r).ok());
  std::memset(a->HardwareView(r->start), 3, r->bytes());
  ASSERT_TRUE(a->Punch(PfnRange{r->start, 1}).ok());  // partial: zeroed in place
  EXPECT_EQ(*reinterpret_cast<uint8_t*>(a->HardwareView(r->start)), 0);
  EXPECT_EQ(*reinterpret_cast<uint8_t*>(a->HardwareView(r->start + 1)), 3);
  a->Release(*r);
}

TEST(ArenaOptions, FromEnvironment) {
  setenv("COCOMEM_ARENA_SIZE", "64G", 1);
  auto o = ArenaOptions::FromEnvironment();
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->capacity_bytes, 64 * kGiB);
  setenv("COCOMEM_ARENA_SIZE", "12X", 1);
  EXPECT_EQ(ArenaOptions::FromEnvironment().error(), EINVAL);
  setenv("COCOMEM_ARENA_SIZE", "0", 1);
  EXPECT_EQ(ArenaOptions::FromEnvironment().error(), EINVAL);
  unsetenv("COCOMEM_ARENA_SIZE");
  setenv("COCOMEM_ARENA_HUGETLB", "1", 1);
  o = ArenaOptions::FromEnvironment();
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->huge_pages, HugePagePolicy::kHugetlb);
  unsetenv("COCOMEM_ARENA_HUGETLB");
}

TEST(Arena, DefaultCapacityHoldsATebibyteGuest) {
  EXPECT_GE(DefaultArenaCapacity(), uint64_t{1} << 38);  // TSan builds: 256 GiB
#if !defined(__SANITIZE_THREAD__)
  auto a = MakeArena(0);
  EXPECT_GE(a->capacity_bytes(), uint64_t{1} << 40);
  auto r = a->Reserve(uint64_t{1} << 28, PageOrder::k1G);  // 1 TiB of PFNs
  ASSERT_TRUE(r.ok());
  a->Release(*r);
#endif
}

}  // namespace
}  // namespace cocomem::host
