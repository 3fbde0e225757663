#include "gmem/folio_map.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <tuple>
#include <vector>

#include "base/check.h"

namespace cocomem::gmem {
namespace {

constexpr uint64_t k2MPages = PagesIn(PageOrder::k2M);  // 512
constexpr uint64_t k1GPages = PagesIn(PageOrder::k1G);  // 262144

// (start, end, order, uptodate, hwpoison, pins) of each run overlapping [start, end).
using RunRec = std::tuple<uint64_t, uint64_t, PageOrder, bool, bool, uint32_t>;

std::vector<RunRec> Runs(const FolioMap& m, uint64_t start = 0, uint64_t end = ~uint64_t{0}) {
  std::vector<RunRec> out;
  m.ForEachRun(PgOff(start), PgOff(end), [&](const FolioMap::Run& r) {
    out.emplace_back(r.start.value(), r.end.value(), r.order, r.state.uptodate, r.state.hwpoison,
                     r.state.pins);
  });
  return out;
}

// The folio holding `off`, which must exist.
FolioMap::FolioRef At(const FolioMap& m, uint64_t off) {
  auto f = m.FolioAt(PgOff(off));
  CHECK(f.has_value());
  return *f;
}

void Set(FolioMap& m, uint64_t off, bool uptodate, bool hwpoison, uint32_t pins) {
  m.Update(PgOff(off), [&](Folio& f) {
    f.uptodate = uptodate;
    f.hwpoison = hwpoison;
    f.pins = pins;
  });
}

TEST(FolioMap, EmptyMapFindsNothing) {
  FolioMap m;
  EXPECT_FALSE(m.FolioAt(PgOff(0)).has_value());
  EXPECT_FALSE(m.FolioAt(PgOff(123456)).has_value());
  EXPECT_EQ(m.folio_count(), 0u);
  EXPECT_EQ(m.run_count(), 0u);
  EXPECT_EQ(m.present_pages(), 0u);
  EXPECT_EQ(m.metadata_bytes(), 0u);
  EXPECT_TRUE(Runs(m).empty());
}

TEST(FolioMap, Insert4KFindsOnlyThatPage) {
  FolioMap m;
  m.Insert(PgOff(5), PgOff(6), PageOrder::k4K);
  FolioMap::FolioRef f = At(m, 5);
  EXPECT_EQ(f.start, PgOff(5));
  EXPECT_EQ(f.end(), PgOff(6));
  EXPECT_EQ(f.folio.order, PageOrder::k4K);
  EXPECT_FALSE(f.folio.uptodate);
  EXPECT_FALSE(f.folio.hwpoison);
  EXPECT_EQ(f.folio.pins, 0u);
  EXPECT_FALSE(m.FolioAt(PgOff(4)).has_value());
  EXPECT_FALSE(m.FolioAt(PgOff(6)).has_value());
  EXPECT_EQ(m.folio_count(), 1u);
  EXPECT_EQ(m.run_count(), 1u);
  EXPECT_EQ(m.present_pages(), 1u);
}

TEST(FolioMap, A4KRangeIsOneFolioPerPage) {
  FolioMap m;
  m.Insert(PgOff(10), PgOff(74), PageOrder::k4K);
  EXPECT_EQ(m.folio_count(), 64u);
  EXPECT_EQ(m.present_pages(), 64u);
  for (uint64_t p : {10, 11, 40, 73}) {
    FolioMap::FolioRef f = At(m, p);
    EXPECT_EQ(f.start, PgOff(p));  // each page is its own folio
    EXPECT_EQ(f.end(), PgOff(p + 1));
    EXPECT_EQ(f.folio.order, PageOrder::k4K);
  }
  EXPECT_FALSE(m.FolioAt(PgOff(9)).has_value());
  EXPECT_FALSE(m.FolioAt(PgOff(74)).has_value());
}

TEST(FolioMap, Insert2MIsOneEntryCovering512Pages) {
  FolioMap m;
  m.Insert(PgOff(k2MPages), PgOff(2 * k2MPages), PageOrder::k2M);
  EXPECT_EQ(m.folio_count(), 1u);
  EXPECT_EQ(m.run_count(), 1u);
  EXPECT_EQ(m.present_pages(), 512u);
  for (uint64_t p : {k2MPages, k2MPages + 1, k2MPages + 300, 2 * k2MPages - 1}) {
    FolioMap::FolioRef f = At(m, p);
    EXPECT_EQ(f.start, PgOff(k2MPages)) << p;
    EXPECT_EQ(f.end(), PgOff(2 * k2MPages)) << p;
    EXPECT_EQ(f.folio.order, PageOrder::k2M) << p;
  }
  EXPECT_FALSE(m.FolioAt(PgOff(k2MPages - 1)).has_value());
  EXPECT_FALSE(m.FolioAt(PgOff(2 * k2MPages)).has_value());
  // A lookup of a range inside it sees the one folio, clipped.
  EXPECT_EQ(
      Runs(m, k2MPages + 100, k2MPages + 101),
      (std::vector<RunRec>{{k2MPages + 100, k2MPages + 101, PageOrder::k2M, false, false, 0}}));
}

TEST(FolioMap, Insert1GIsOneEntryCovering262144Pages) {
  FolioMap m;
  m.Insert(PgOff(k1GPages), PgOff(2 * k1GPages), PageOrder::k1G);
  EXPECT_EQ(m.folio_count(), 1u);
  EXPECT_EQ(m.run_count(), 1u);
  EXPECT_EQ(m.present_pages(), 262144u);
  for (uint64_t p : {k1GPages, k1GPages + 511, k1GPages + 512, 2 * k1GPages - 1}) {
    FolioMap::FolioRef f = At(m, p);
    EXPECT_EQ(f.start, PgOff(k1GPages)) << p;
    EXPECT_EQ(f.folio.order, PageOrder::k1G) << p;
  }
  EXPECT_FALSE(m.FolioAt(PgOff(k1GPages - 1)).has_value());
  EXPECT_FALSE(m.FolioAt(PgOff(2 * k1GPages)).has_value());
}

TEST(FolioMap, MixedOrdersAreDisjointAndOrdered) {
  FolioMap m;
  m.Insert(PgOff(0), PgOff(k2MPages), PageOrder::k2M);
  m.Insert(PgOff(k2MPages + 7), PgOff(k2MPages + 8), PageOrder::k4K);
  m.Insert(PgOff(k1GPages), PgOff(2 * k1GPages), PageOrder::k1G);
  EXPECT_EQ(m.folio_count(), 3u);
  EXPECT_EQ(m.present_pages(), 512u + 1 + 262144u);
  EXPECT_EQ(Runs(m),
            (std::vector<RunRec>{{0, k2MPages, PageOrder::k2M, false, false, 0},
                                 {k2MPages + 7, k2MPages + 8, PageOrder::k4K, false, false, 0},
                                 {k1GPages, 2 * k1GPages, PageOrder::k1G, false, false, 0}}));
  EXPECT_TRUE(Runs(m, k2MPages + 8, k1GPages).empty());
}

TEST(FolioMap, TouchingAlike4KRangesShareARun) {
  FolioMap m;
  m.Insert(PgOff(0), PgOff(10), PageOrder::k4K);
  m.Insert(PgOff(10), PgOff(20), PageOrder::k4K);
  m.Insert(PgOff(30), PgOff(40), PageOrder::k4K);
  EXPECT_EQ(m.run_count(), 2u);
  EXPECT_EQ(m.folio_count(), 30u);
  // A 2M folio next to 4K folios never joins their run.
  FolioMap h;
  h.Insert(PgOff(0), PgOff(k2MPages), PageOrder::k2M);
  h.Insert(PgOff(k2MPages), PgOff(k2MPages + 5), PageOrder::k4K);
  EXPECT_EQ(h.run_count(), 2u);
  EXPECT_EQ(h.folio_count(), 6u);
}

TEST(FolioMap, UpdateIsolatesOneFolioAndCoalescesBack) {
  FolioMap m;
  m.Insert(PgOff(0), PgOff(64), PageOrder::k4K);
  Set(m, 10, /*uptodate=*/false, /*hwpoison=*/false, /*pins=*/2);
  EXPECT_EQ(m.run_count(), 3u);
  EXPECT_EQ(At(m, 10).folio.pins, 2u);
  EXPECT_EQ(At(m, 9).folio.pins, 0u);
  EXPECT_EQ(At(m, 11).folio.pins, 0u);
  EXPECT_EQ(m.folio_count(), 64u);
  EXPECT_EQ(m.present_pages(), 64u);
  // Back to the neighbours' state: one run again.
  Set(m, 10, false, false, 0);
  EXPECT_EQ(m.run_count(), 1u);
  // The first and last page.
  Set(m, 0, true, false, 0);
  Set(m, 63, false, true, 0);
  EXPECT_EQ(Runs(m), (std::vector<RunRec>{{0, 1, PageOrder::k4K, true, false, 0},
                                          {1, 63, PageOrder::k4K, false, false, 0},
                                          {63, 64, PageOrder::k4K, false, true, 0}}));
}

TEST(FolioMap, UpdateOfAHugeFolioChangesTheWholeFolio) {
  FolioMap m;
  m.Insert(PgOff(0), PgOff(k2MPages), PageOrder::k2M);
  m.Update(PgOff(300), [](Folio& f) { f.uptodate = true; });
  EXPECT_EQ(m.run_count(), 1u);
  EXPECT_TRUE(At(m, 0).folio.uptodate);
  EXPECT_TRUE(At(m, 511).folio.uptodate);
  EXPECT_EQ(At(m, 511).start, PgOff(0));
}

TEST(FolioMapDeathTest, MisalignedOrOversizedInsertCrashes) {
  FolioMap m;
  EXPECT_DEATH(m.Insert(PgOff(1), PgOff(1 + k2MPages), PageOrder::k2M), "IsAlignedTo");
  EXPECT_DEATH(m.Insert(PgOff(0), PgOff(2 * k2MPages), PageOrder::k2M), "CHECK failed");
}

TEST(FolioMap, Split2MPublishes512FoliosCarryingState) {
  FolioMap m;
  m.Insert(PgOff(k2MPages), PgOff(2 * k2MPages), PageOrder::k2M);
  m.Update(PgOff(k2MPages), [](Folio& f) {
    f.uptodate = true;
    f.hwpoison = true;
  });
  m.Split(PgOff(k2MPages));
  EXPECT_EQ(m.folio_count(), 512u);
  EXPECT_EQ(m.present_pages(), 512u);
  for (uint64_t p = k2MPages; p < 2 * k2MPages; ++p) {
    FolioMap::FolioRef f = At(m, p);
    ASSERT_EQ(f.start, PgOff(p));
    ASSERT_EQ(f.end(), PgOff(p + 1));
    ASSERT_EQ(f.folio.order, PageOrder::k4K);
    ASSERT_TRUE(f.folio.uptodate) << p;
    ASSERT_TRUE(f.folio.hwpoison) << p;
    ASSERT_EQ(f.folio.pins, 0u) << p;
  }
  EXPECT_FALSE(m.FolioAt(PgOff(k2MPages - 1)).has_value());
  EXPECT_FALSE(m.FolioAt(PgOff(2 * k2MPages)).has_value());
  // The children are independent folios now.
  Set(m, k2MPages + 9, true, false, 0);
  EXPECT_FALSE(At(m, k2MPages + 9).folio.hwpoison);
  EXPECT_TRUE(At(m, k2MPages + 8).folio.hwpoison);
  EXPECT_TRUE(At(m, k2MPages + 10).folio.hwpoison);
}

TEST(FolioMap, SplitCarriesClearFlagsToo) {
  FolioMap m;
  m.Insert(PgOff(0), PgOff(k2MPages), PageOrder::k2M);
  m.Split(PgOff(0));
  EXPECT_EQ(m.folio_count(), 512u);
  for (uint64_t p : {0, 1, 255, 511}) {
    EXPECT_EQ(At(m, p).folio.order, PageOrder::k4K);
    EXPECT_FALSE(At(m, p).folio.uptodate);
    EXPECT_FALSE(At(m, p).folio.hwpoison);
  }
}

TEST(FolioMap, SplitJoinsAlike4KNeighbours) {
  FolioMap m;
  m.Insert(PgOff(0), PgOff(k2MPages), PageOrder::k2M);
  m.Insert(PgOff(k2MPages), PgOff(k2MPages + 3), PageOrder::k4K);
  m.Split(PgOff(0));
  EXPECT_EQ(m.run_count(), 1u);
  EXPECT_EQ(m.folio_count(), 515u);
}

TEST(FolioMap, Split1GAndMergeBack) {
  FolioMap m;
  m.Insert(PgOff(0), PgOff(k1GPages), PageOrder::k1G);
  m.Update(PgOff(0), [](Folio& f) { f.uptodate = true; });
  m.Split(PgOff(0));
  EXPECT_EQ(m.folio_count(), 262144u);
  EXPECT_EQ(m.present_pages(), 262144u);
  FolioMap::FolioRef last = At(m, k1GPages - 1);
  EXPECT_EQ(last.start, PgOff(k1GPages - 1));
  EXPECT_EQ(last.folio.order, PageOrder::k4K);
  EXPECT_TRUE(last.folio.uptodate);

  ASSERT_TRUE(m.CanMerge(PgOff(0), PageOrder::k1G));
  m.Merge(PgOff(0), PageOrder::k1G);
  EXPECT_EQ(m.folio_count(), 1u);
  EXPECT_EQ(m.run_count(), 1u);
  EXPECT_EQ(m.present_pages(), 262144u);
  FolioMap::FolioRef f = At(m, 12345);
  EXPECT_EQ(f.start, PgOff(0));
  EXPECT_EQ(f.folio.order, PageOrder::k1G);
  EXPECT_TRUE(f.folio.uptodate);
}

TEST(FolioMapDeathTest, SplitOfA4KFolioCrashes) {
  FolioMap m;
  m.Insert(PgOff(3), PgOff(4), PageOrder::k4K);
  EXPECT_DEATH(m.Split(PgOff(3)), "CHECK failed");
}

TEST(FolioMap, CanMergeNeedsAllPresent4KUnpinnedUnpoisoned) {
  FolioMap m;
  m.Insert(PgOff(0), PgOff(k2MPages), PageOrder::k4K);
  EXPECT_TRUE(m.CanMerge(PgOff(0), PageOrder::k2M));

  // One page missing (first, middle, last).
  for (uint64_t gap : {uint64_t{0}, uint64_t{200}, k2MPages - 1}) {
    FolioMap g;
    g.Insert(PgOff(0), PgOff(k2MPages), PageOrder::k4K);
    g.EraseRange(PgOff(gap), PgOff(gap + 1));
    EXPECT_FALSE(g.CanMerge(PgOff(0), PageOrder::k2M)) << "gap at " << gap;
  }
  // One pinned page.
  Set(m, 17, false, false, 1);
  EXPECT_FALSE(m.CanMerge(PgOff(0), PageOrder::k2M));
  Set(m, 17, false, false, 0);
  EXPECT_TRUE(m.CanMerge(PgOff(0), PageOrder::k2M));
  // One poisoned page.
  Set(m, k2MPages - 1, false, true, 0);
  EXPECT_FALSE(m.CanMerge(PgOff(0), PageOrder::k2M));
  Set(m, k2MPages - 1, false, false, 0);
  EXPECT_TRUE(m.CanMerge(PgOff(0), PageOrder::k2M));
  // Uptodate or not does not matter.
  Set(m, 3, true, false, 0);
  EXPECT_TRUE(m.CanMerge(PgOff(0), PageOrder::k2M));

  // Already huge: nothing to merge; a huge folio inside the range blocks a 1G merge.
  FolioMap h;
  h.Insert(PgOff(0), PgOff(k2MPages), PageOrder::k2M);
  EXPECT_FALSE(h.CanMerge(PgOff(0), PageOrder::k2M));
  h.Insert(PgOff(k2MPages), PgOff(k1GPages), PageOrder::k4K);
  EXPECT_FALSE(h.CanMerge(PgOff(0), PageOrder::k1G));
  EXPECT_TRUE(h.CanMerge(PgOff(k2MPages), PageOrder::k2M));
  // Nothing present cannot merge.
  FolioMap empty;
  EXPECT_FALSE(empty.CanMerge(PgOff(0), PageOrder::k2M));
}

TEST(FolioMap, MergeReplaces512FoliosByOne) {
  FolioMap m;
  // One 4K run from before the block to after it: the neighbours must survive the merge.
  m.Insert(PgOff(k2MPages - 2), PgOff(2 * k2MPages + 1), PageOrder::k4K);
  for (uint64_t p = k2MPages; p < 2 * k2MPages; ++p) {
    m.Update(PgOff(p), [](Folio& f) { f.uptodate = true; });
  }
  ASSERT_TRUE(m.CanMerge(PgOff(k2MPages), PageOrder::k2M));
  m.Merge(PgOff(k2MPages), PageOrder::k2M);
  EXPECT_EQ(m.folio_count(), 4u);
  EXPECT_EQ(m.present_pages(), 515u);
  FolioMap::FolioRef f = At(m, k2MPages + 511);
  EXPECT_EQ(f.start, PgOff(k2MPages));
  EXPECT_EQ(f.folio.order, PageOrder::k2M);
  EXPECT_TRUE(f.folio.uptodate);
  EXPECT_FALSE(f.folio.hwpoison);
  EXPECT_EQ(f.folio.pins, 0u);
  EXPECT_EQ(Runs(m), (std::vector<RunRec>{
                         {k2MPages - 2, k2MPages, PageOrder::k4K, false, false, 0},
                         {k2MPages, 2 * k2MPages, PageOrder::k2M, true, false, 0},
                         {2 * k2MPages, 2 * k2MPages + 1, PageOrder::k4K, false, false, 0}}));
}

TEST(FolioMap, MergedFolioIsUptodateOnlyIfEveryPageWas) {
  FolioMap m;
  m.Insert(PgOff(0), PgOff(k2MPages), PageOrder::k4K);
  for (uint64_t p = 0; p < k2MPages; ++p) {
    if (p != 77) m.Update(PgOff(p), [](Folio& f) { f.uptodate = true; });
  }
  m.Merge(PgOff(0), PageOrder::k2M);
  EXPECT_EQ(m.folio_count(), 1u);
  EXPECT_FALSE(At(m, 0).folio.uptodate);
}

TEST(FolioMap, EraseRangeRemovesWholeFolios) {
  FolioMap m;
  m.Insert(PgOff(0), PgOff(k2MPages), PageOrder::k2M);
  m.Insert(PgOff(k2MPages), PgOff(k2MPages + 4), PageOrder::k4K);
  m.Insert(PgOff(2 * k2MPages), PgOff(3 * k2MPages), PageOrder::k2M);
  Set(m, k2MPages + 1, false, true, 0);

  m.EraseRange(PgOff(0), PgOff(k2MPages + 2));
  EXPECT_EQ(m.folio_count(), 3u);
  EXPECT_EQ(m.present_pages(), 2u + 512u);
  EXPECT_FALSE(m.FolioAt(PgOff(5)).has_value());
  EXPECT_FALSE(m.FolioAt(PgOff(k2MPages + 1)).has_value());
  ASSERT_TRUE(m.FolioAt(PgOff(k2MPages + 2)).has_value());
  EXPECT_EQ(Runs(m),
            (std::vector<RunRec>{{k2MPages + 2, k2MPages + 4, PageOrder::k4K, false, false, 0},
                                 {2 * k2MPages, 3 * k2MPages, PageOrder::k2M, false, false, 0}}));

  // The middle of a 4K run.
  FolioMap s;
  s.Insert(PgOff(0), PgOff(64), PageOrder::k4K);
  s.EraseRange(PgOff(10), PgOff(20));
  EXPECT_EQ(s.present_pages(), 54u);
  EXPECT_EQ(s.folio_count(), 54u);
  EXPECT_TRUE(s.FolioAt(PgOff(9)).has_value());
  EXPECT_FALSE(s.FolioAt(PgOff(10)).has_value());
  EXPECT_FALSE(s.FolioAt(PgOff(19)).has_value());
  EXPECT_TRUE(s.FolioAt(PgOff(20)).has_value());

  // A range over nothing and an empty range change nothing.
  m.EraseRange(PgOff(k2MPages + 10), PgOff(2 * k2MPages));
  m.EraseRange(PgOff(2 * k2MPages + 5), PgOff(2 * k2MPages + 5));
  EXPECT_EQ(m.folio_count(), 3u);
  EXPECT_EQ(m.present_pages(), 514u);
}

TEST(FolioMapDeathTest, ErasingPartOfAHugeFolioCrashes) {
  FolioMap m;
  m.Insert(PgOff(k2MPages), PgOff(2 * k2MPages), PageOrder::k2M);
  // The head, a range ending inside, and a range starting inside the folio.
  EXPECT_DEATH(m.EraseRange(PgOff(k2MPages), PgOff(k2MPages + 1)), "erasing part of a huge folio");
  EXPECT_DEATH(m.EraseRange(PgOff(0), PgOff(k2MPages + 100)), "erasing part of a huge folio");
  EXPECT_DEATH(m.EraseRange(PgOff(k2MPages + 1), PgOff(3 * k2MPages)),
               "erasing part of a huge folio");
  EXPECT_DEATH(m.EraseRange(PgOff(k2MPages + 1), PgOff(k2MPages + 2)),
               "erasing part of a huge folio");
  FolioMap g;
  g.Insert(PgOff(0), PgOff(k1GPages), PageOrder::k1G);
  EXPECT_DEATH(g.EraseRange(PgOff(0), PgOff(k1GPages - 1)), "erasing part of a huge folio");
}

TEST(FolioMap, ForEachRunClipsToTheRange) {
  FolioMap m;
  m.Insert(PgOff(0), PgOff(k2MPages), PageOrder::k2M);
  m.Insert(PgOff(k2MPages), PgOff(k2MPages + 3), PageOrder::k4K);
  EXPECT_EQ(Runs(m, 511, k2MPages + 1),
            (std::vector<RunRec>{{511, k2MPages, PageOrder::k2M, false, false, 0},
                                 {k2MPages, k2MPages + 1, PageOrder::k4K, false, false, 0}}));
  EXPECT_TRUE(Runs(m, k2MPages + 3, k2MPages + 100).empty());
  EXPECT_TRUE(Runs(m, k2MPages + 3, k2MPages + 4).empty());
}

TEST(FolioMap, MetadataIsAtMost64BytesPer4KFolio) {
  // Worst case: no two neighbours alike, so no run holds more than one folio.
  FolioMap m;
  m.Insert(PgOff(0), PgOff(1000), PageOrder::k4K);
  for (uint64_t p = 0; p < 1000; p += 2) Set(m, p, true, false, 0);
  EXPECT_EQ(m.run_count(), 1000u);
  EXPECT_EQ(m.folio_count(), 1000u);
  EXPECT_GT(m.metadata_bytes(), 0u);
  EXPECT_LE(m.metadata_bytes(), 64u * 1000);
  // Alike neighbours share: far less.
  FolioMap alike;
  alike.Insert(PgOff(0), PgOff(1000), PageOrder::k4K);
  EXPECT_LE(alike.metadata_bytes(), 64u);
}

TEST(FolioMap, MetadataOfA1GFolioIsConstant) {
  FolioMap small;
  small.Insert(PgOff(0), PgOff(1), PageOrder::k4K);
  FolioMap huge;
  huge.Insert(PgOff(0), PgOff(k1GPages), PageOrder::k1G);
  EXPECT_EQ(huge.metadata_bytes(), small.metadata_bytes());
  EXPECT_LE(huge.metadata_bytes(), 64u);
  // Split into 262144 alike 4K folios and merged again: still one node.
  huge.Split(PgOff(0));
  EXPECT_EQ(huge.folio_count(), 262144u);
  EXPECT_LE(huge.metadata_bytes(), 64u);
  huge.Merge(PgOff(0), PageOrder::k1G);
  EXPECT_EQ(huge.metadata_bytes(), small.metadata_bytes());
}

TEST(FolioMap, FolioIsSmall) {
  EXPECT_LE(sizeof(Folio), 8u);
}

}  // namespace
}  // namespace cocomem::gmem
