#include "base/stats.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace cocomem {
namespace {

// The usual shape: group first, then its counters, all members of one object.
struct Component {
  StatsGroup stats{"gmem"};
  Counter allocs{stats, "allocs", "folios allocated"};
  Counter frees{stats, "frees", "folios freed"};
  Counter resident{stats, "resident", "folios resident now"};
};

TEST(StatsTest, GroupName) {
  StatsGroup g("kvm.mmu");
  EXPECT_EQ(g.name(), "kvm.mmu");
  EXPECT_TRUE(g.Snapshot().empty());
}

TEST(StatsTest, CounterStartsAtZero) {
  Component c;
  EXPECT_EQ(c.allocs.value(), 0u);
  EXPECT_EQ(c.allocs.name(), "allocs");
  EXPECT_EQ(c.allocs.description(), "folios allocated");
}

TEST(StatsTest, AddSubSet) {
  Component c;
  c.allocs.Add();
  EXPECT_EQ(c.allocs.value(), 1u);
  c.allocs.Add(10);
  EXPECT_EQ(c.allocs.value(), 11u);
  c.allocs.Sub();
  EXPECT_EQ(c.allocs.value(), 10u);
  c.allocs.Sub(4);
  EXPECT_EQ(c.allocs.value(), 6u);
  c.allocs.Set(1000);
  EXPECT_EQ(c.allocs.value(), 1000u);
  c.allocs.Set(0);
  EXPECT_EQ(c.allocs.value(), 0u);
  // Other counters are untouched.
  EXPECT_EQ(c.frees.value(), 0u);
}

TEST(StatsTest, CountersWrapLikeUnsigned) {
  Component c;
  c.resident.Sub();
  EXPECT_EQ(c.resident.value(), std::numeric_limits<uint64_t>::max());
  c.resident.Add();
  EXPECT_EQ(c.resident.value(), 0u);
}

TEST(StatsTest, SnapshotNamesAreGroupDotCounterInRegistrationOrder) {
  Component c;
  c.allocs.Add(3);
  c.frees.Add(1);
  c.resident.Set(2);
  std::vector<StatsGroup::Entry> snap = c.stats.Snapshot();
  ASSERT_EQ(snap.size(), 3u);
  EXPECT_EQ(snap[0].name, "gmem.allocs");
  EXPECT_EQ(snap[0].description, "folios allocated");
  EXPECT_EQ(snap[0].value, 3u);
  EXPECT_EQ(snap[1].name, "gmem.frees");
  EXPECT_EQ(snap[1].value, 1u);
  EXPECT_EQ(snap[2].name, "gmem.resident");
  EXPECT_EQ(snap[2].description, "folios resident now");
  EXPECT_EQ(snap[2].value, 2u);
}

TEST(StatsTest, SnapshotIsACopy) {
  Component c;
  c.allocs.Add(5);
  std::vector<StatsGroup::Entry> snap = c.stats.Snapshot();
  c.allocs.Add(5);
  EXPECT_EQ(snap[0].value, 5u);
  EXPECT_EQ(c.stats.Snapshot()[0].value, 10u);
}

TEST(StatsTest, ReadingHasNoSideEffects) {
  Component c;
  c.frees.Add(7);
  for (int i = 0; i < 3; ++i) {
    (void)c.stats.Snapshot();
    EXPECT_EQ(c.stats.Get("frees"), 7u);
  }
  EXPECT_EQ(c.frees.value(), 7u);
}

TEST(StatsTest, GetByName) {
  Component c;
  c.allocs.Add(4);
  c.frees.Add(2);
  EXPECT_EQ(c.stats.Get("allocs"), 4u);
  EXPECT_EQ(c.stats.Get("frees"), 2u);
  EXPECT_EQ(c.stats.Get("resident"), 0u);
  // Unknown names read as 0; the group prefix is not part of the name.
  EXPECT_EQ(c.stats.Get("nope"), 0u);
  EXPECT_EQ(c.stats.Get("gmem.allocs"), 0u);
  EXPECT_EQ(c.stats.Get(""), 0u);
}

TEST(StatsTest, GroupsAreIndependent) {
  Component a;
  StatsGroup other("mmu");
  Counter faults(other, "faults", "page faults handled");
  Counter allocs(other, "allocs", "same name, other group");
  faults.Add(9);
  allocs.Add(1);
  a.allocs.Add(2);
  EXPECT_EQ(a.stats.Snapshot().size(), 3u);
  ASSERT_EQ(other.Snapshot().size(), 2u);
  EXPECT_EQ(other.Snapshot()[0].name, "mmu.faults");
  EXPECT_EQ(other.Snapshot()[1].name, "mmu.allocs");
  EXPECT_EQ(other.Get("allocs"), 1u);
  EXPECT_EQ(a.stats.Get("allocs"), 2u);
  EXPECT_EQ(a.stats.Get("faults"), 0u);
}

}  // namespace
}  // namespace cocomem
