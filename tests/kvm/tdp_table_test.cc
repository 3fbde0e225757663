#include "kvm/tdp/tdp_table.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cocomem::kvm::tdp {
namespace {

Spte Leaf(uint64_t frame, bool priv = false) { return Spte::MakeLeaf(frame, true, priv, false); }
bool All(const Spte&) { return true; }

std::vector<std::string> Leaves(const TdpTable& t) {
  std::vector<std::string> out;
  t.ForEachLeaf([&](const TdpTable::Mapping& m) {
    out.push_back(std::to_string(m.gfn.value()) + "/" + std::to_string(static_cast<int>(m.level)) +
                  "->" + std::to_string(m.spte.frame()));
  });
  return out;
}

TEST(TdpTable, MapAndLookupAtEveryLevel) {
  TdpTable t;
  ASSERT_TRUE(t.Map(Gfn(5), Level::k4K, Leaf(100)).ok());
  ASSERT_TRUE(t.Map(Gfn(1024), Level::k2M, Leaf(4096)).ok());
  ASSERT_TRUE(t.Map(Gfn(1 << 18), Level::k1G, Leaf(1 << 20)).ok());
  auto m = t.Lookup(Gfn(5));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->level, Level::k4K);
  EXPECT_EQ(m->FrameOf(Gfn(5)), 100u);
  m = t.Lookup(Gfn(1024 + 300));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->level, Level::k2M);
  EXPECT_EQ(m->gfn, Gfn(1024));
  EXPECT_EQ(m->FrameOf(Gfn(1024 + 300)), 4096u + 300);
  m = t.Lookup(Gfn((1 << 18) + 12345));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->level, Level::k1G);
  EXPECT_FALSE(t.Lookup(Gfn(6)).has_value());
  EXPECT_FALSE(t.Lookup(Gfn(1 << 30)).has_value());
}

TEST(TdpTable, ConflictsAreReported) {
  TdpTable t;
  ASSERT_TRUE(t.Map(Gfn(512), Level::k2M, Leaf(0)).ok());
  EXPECT_EQ(t.Map(Gfn(513), Level::k4K, Leaf(9)).error(), EEXIST);   // inside a huge leaf
  EXPECT_EQ(t.Map(Gfn(512), Level::k2M, Leaf(9)).error(), EEXIST);   // the same leaf
  ASSERT_TRUE(t.Map(Gfn(2048), Level::k4K, Leaf(1)).ok());
  EXPECT_EQ(t.Map(Gfn(2048), Level::k2M, Leaf(1)).error(), EAGAIN);  // smaller maps below
}

TEST(TdpTable, ZapHonoursTheFilterAndFreesEmptyTables) {
  TdpTable t;
  for (uint64_t g = 0; g < 8; ++g) ASSERT_TRUE(t.Map(Gfn(g), Level::k4K, Leaf(g, g % 2)).ok());
  const uint64_t tables = t.table_count();
  EXPECT_EQ(t.Zap(Gfn(0), Gfn(8), [](const Spte& s) { return s.is_private(); }), 4u);
  EXPECT_EQ(Leaves(t).size(), 4u);
  EXPECT_TRUE(t.Lookup(Gfn(0)).has_value());
  EXPECT_FALSE(t.Lookup(Gfn(1)).has_value());
  EXPECT_EQ(t.Zap(Gfn(0), Gfn(8), All), 4u);
  EXPECT_TRUE(Leaves(t).empty());
  EXPECT_LT(t.table_count(), tables);
  EXPECT_EQ(t.table_count(), 1u);  // only the root is left
}

TEST(TdpTable, ZapTakesOverlappingHugeLeavesWhole) {
  TdpTable t;
  ASSERT_TRUE(t.Map(Gfn(512), Level::k2M, Leaf(0)).ok());
  EXPECT_EQ(t.Zap(Gfn(600), Gfn(601), All), 512u);
  EXPECT_FALSE(t.Lookup(Gfn(512)).has_value());
}

TEST(TdpTable, SplitPublishesAFullChildTable) {
  TdpTable t;
  ASSERT_TRUE(t.Map(Gfn(1 << 18), Level::k1G, Leaf(7 << 18, true)).ok());
  ASSERT_TRUE(t.Split(Gfn((1 << 18) + 1000), Level::k1G).ok());
  auto m = t.Lookup(Gfn((1 << 18) + 1000));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->level, Level::k2M);
  EXPECT_EQ(m->FrameOf(Gfn((1 << 18) + 1000)), (7u << 18) + 1000);
  EXPECT_TRUE(m->spte.is_private());
  EXPECT_EQ(Leaves(t).size(), 512u);
}

TEST(TdpTable, FailedSplitChangesNothing) {
  TdpTable t;
  ASSERT_TRUE(t.Map(Gfn(512), Level::k2M, Leaf(0)).ok());
  const auto before = Leaves(t);
  {
    ScopedFault f(kTableAllocFault, 1);
    EXPECT_EQ(t.Split(Gfn(512), Level::k2M).error(), ENOMEM);
  }
  EXPECT_EQ(Leaves(t), before);
  EXPECT_EQ(t.Lookup(Gfn(700))->level, Level::k2M);
}

TEST(TdpTable, FailedTableAllocationFailsTheMap) {
  TdpTable t;
  {
    ScopedFault f(kTableAllocFault, 2);
    EXPECT_EQ(t.Map(Gfn(5), Level::k4K, Leaf(1)).error(), ENOMEM);
  }
  EXPECT_FALSE(t.Lookup(Gfn(5)).has_value());
  EXPECT_TRUE(t.Map(Gfn(5), Level::k4K, Leaf(1)).ok());
}

TEST(TdpTable, SplitCrossBoundaryLeavesTheOutsideIntact) {
  TdpTable t;
  ASSERT_TRUE(t.Map(Gfn(0), Level::k1G, Leaf(0)).ok());
  // [1000, 1001) inside the 1G leaf: 1G -> 2M -> 4K around both edges.
  ASSERT_TRUE(t.SplitCrossBoundary(Gfn(1000), Gfn(1001)).ok());
  EXPECT_EQ(t.Lookup(Gfn(1000))->level, Level::k4K);
  EXPECT_EQ(t.Lookup(Gfn(1001))->level, Level::k4K);
  EXPECT_EQ(t.Lookup(Gfn(5000))->level, Level::k2M);
  EXPECT_EQ(t.Zap(Gfn(1000), Gfn(1001), All), 1u);
  EXPECT_FALSE(t.Lookup(Gfn(1000)).has_value());
  EXPECT_EQ(t.Lookup(Gfn(999))->FrameOf(Gfn(999)), 999u);
  EXPECT_EQ(t.Lookup(Gfn(1001))->FrameOf(Gfn(1001)), 1001u);
  // Aligned ranges need no split.
  TdpTable u;
  ASSERT_TRUE(u.Map(Gfn(512), Level::k2M, Leaf(0)).ok());
  ASSERT_TRUE(u.SplitCrossBoundary(Gfn(512), Gfn(1024)).ok());
  EXPECT_EQ(u.Lookup(Gfn(512))->level, Level::k2M);
}

// A mirror table: records the external calls and can be told to fail one.
class RecordingHooks : public ExternalTableHooks {
 public:
  Status LinkTable(Gfn gfn, Level level) override { return Note("link", gfn, level); }
  Status SetLeaf(Gfn gfn, Level level, Pfn) override { return Note("set", gfn, level); }
  Status RemoveLeaf(Gfn gfn, Level level, Pfn) override { return Note("remove", gfn, level); }
  Status SplitLeaf(Gfn gfn, Level level, Pfn) override { return Note("split", gfn, level); }
  std::vector<std::string> calls;
  std::string fail_on;

 private:
  Status Note(const char* what, Gfn gfn, Level level) {
    const std::string c = std::string(what) + " " + std::to_string(gfn.value()) + "/" +
                          std::to_string(static_cast<int>(level));
    if (c == fail_on) return Error(EBUSY);
    calls.push_back(c);
    return Ok();
  }
};

TEST(TdpTable, MirrorReportsEveryChangeFirst) {
  RecordingHooks hooks;
  TdpTable t(&hooks);
  ASSERT_TRUE(t.Map(Gfn(512), Level::k2M, Leaf(0, true)).ok());
  EXPECT_EQ(hooks.calls, (std::vector<std::string>{"link 0/3", "link 0/2", "set 512/2"}));
  hooks.calls.clear();
  hooks.fail_on = "split 512/2";
  EXPECT_EQ(t.Split(Gfn(512), Level::k2M).error(), EBUSY);
  EXPECT_EQ(t.Lookup(Gfn(600))->level, Level::k2M);  // unchanged
  hooks.fail_on.clear();
  ASSERT_TRUE(t.Split(Gfn(512), Level::k2M).ok());
  hooks.fail_on = "remove 600/1";
  uint64_t failed = 0;
  EXPECT_EQ(t.Zap(Gfn(600), Gfn(602), All, &failed), 1u);
  EXPECT_EQ(failed, 1u);
  EXPECT_TRUE(t.Lookup(Gfn(600)).has_value());  // the failed removal left the leaf
  EXPECT_FALSE(t.Lookup(Gfn(601)).has_value());
  hooks.fail_on = "set 8/1";
  EXPECT_EQ(t.Map(Gfn(8), Level::k4K, Leaf(8, true)).error(), EBUSY);
  EXPECT_FALSE(t.Lookup(Gfn(8)).has_value());
}

}  // namespace
}  // namespace cocomem::kvm::tdp
