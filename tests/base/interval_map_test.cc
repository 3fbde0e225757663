#include "base/interval_map.h"

#include <gtest/gtest.h>

#include "test_seed.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "base/memory_types.h"

namespace cocomem {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// Keys are either plain uint64_t or a strong type such as PgOff.
template <typename Key>
constexpr Key K(uint64_t v) {
  if constexpr (std::is_same_v<Key, uint64_t>) {
    return v;
  } else {
    return Key(v);
  }
}
template <typename Key>
constexpr uint64_t U(Key k) {
  if constexpr (std::is_same_v<Key, uint64_t>) {
    return k;
  } else {
    return k.value();
  }
}

// (start, end, value) of every run, in iteration order.
template <typename Key, typename Value>
using RunList = std::vector<std::tuple<uint64_t, uint64_t, Value>>;

template <typename Key, typename Value>
RunList<Key, Value> Runs(const IntervalMap<Key, Value>& m) {
  RunList<Key, Value> out;
  for (auto r : m) out.emplace_back(U(r.start), U(r.end), r.value);
  return out;
}

template <typename Key, typename Value>
RunList<Key, Value> Pieces(const IntervalMap<Key, Value>& m, uint64_t start, uint64_t end) {
  RunList<Key, Value> out;
  m.ForEachIn(K<Key>(start), K<Key>(end),
              [&](Key s, Key e, const Value& v) { out.emplace_back(U(s), U(e), v); });
  return out;
}

using Map = IntervalMap<uint64_t, int>;
using IntRuns = RunList<uint64_t, int>;

// --- deterministic cases --------------------------------------------------------------------

TEST(IntervalMapTest, Empty) {
  Map m;
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.run_count(), 0u);
  EXPECT_TRUE(m.begin() == m.end());
  EXPECT_TRUE(m.IsCanonical());
  EXPECT_EQ(m.Lookup(0), std::nullopt);
  EXPECT_EQ(m.Lookup(kMax), std::nullopt);
  EXPECT_TRUE(m.FindRun(5) == m.end());
  EXPECT_TRUE(m.Covers(3, 3));       // empty ranges are covered...
  EXPECT_TRUE(m.AllEqual(3, 3, 1));  // ...and all-equal
  EXPECT_FALSE(m.Covers(0, 1));
  EXPECT_FALSE(m.AllEqual(0, 1, 0));
  EXPECT_TRUE(Pieces(m, 0, 100).empty());
}

TEST(IntervalMapTest, AssignIntoEmpty) {
  Map m;
  m.Assign(10, 20, 7);
  EXPECT_FALSE(m.empty());
  EXPECT_EQ(Runs(m), (IntRuns{{10, 20, 7}}));
  EXPECT_EQ(m.Lookup(9), std::nullopt);
  EXPECT_EQ(m.Lookup(10), 7);
  EXPECT_EQ(m.Lookup(19), 7);
  EXPECT_EQ(m.Lookup(20), std::nullopt);
  EXPECT_TRUE(m.IsCanonical());
}

TEST(IntervalMapTest, EmptyAndReversedRangesAreNoOps) {
  Map m;
  m.Assign(5, 5, 1);
  m.Assign(9, 3, 1);
  EXPECT_TRUE(m.empty());
  m.Assign(0, 10, 1);
  m.Assign(5, 5, 2);
  m.Assign(8, 2, 2);
  m.Erase(5, 5);
  m.Erase(8, 2);
  EXPECT_EQ(Runs(m), (IntRuns{{0, 10, 1}}));
  EXPECT_TRUE(m.AllEqual(9, 3, 42));
  EXPECT_TRUE(m.Covers(200, 100));
  EXPECT_TRUE(Pieces(m, 8, 2).empty());
}

TEST(IntervalMapTest, OverwriteMiddleSplitsIntoThree) {
  Map m;
  m.Assign(0, 100, 1);
  m.Assign(40, 60, 2);
  EXPECT_EQ(Runs(m), (IntRuns{{0, 40, 1}, {40, 60, 2}, {60, 100, 1}}));
  EXPECT_EQ(m.run_count(), 3u);
  EXPECT_TRUE(m.IsCanonical());
  EXPECT_EQ(m.Lookup(39), 1);
  EXPECT_EQ(m.Lookup(40), 2);
  EXPECT_EQ(m.Lookup(59), 2);
  EXPECT_EQ(m.Lookup(60), 1);
  // Writing the old value back heals the split.
  m.Assign(40, 60, 1);
  EXPECT_EQ(Runs(m), (IntRuns{{0, 100, 1}}));
}

TEST(IntervalMapTest, OverwriteAtEdges) {
  Map m;
  m.Assign(0, 100, 1);
  m.Assign(0, 10, 2);
  EXPECT_EQ(Runs(m), (IntRuns{{0, 10, 2}, {10, 100, 1}}));
  m.Assign(90, 100, 3);
  EXPECT_EQ(Runs(m), (IntRuns{{0, 10, 2}, {10, 90, 1}, {90, 100, 3}}));
  // Overhanging both ends into the gaps.
  m.Assign(95, 120, 4);
  EXPECT_EQ(Runs(m), (IntRuns{{0, 10, 2}, {10, 90, 1}, {90, 95, 3}, {95, 120, 4}}));
  EXPECT_TRUE(m.IsCanonical());
}

TEST(IntervalMapTest, MergeWithLeftNeighbour) {
  Map m;
  m.Assign(0, 10, 1);
  m.Assign(10, 20, 1);
  EXPECT_EQ(Runs(m), (IntRuns{{0, 20, 1}}));
  // Overlapping the left neighbour merges too.
  m.Assign(15, 30, 1);
  EXPECT_EQ(Runs(m), (IntRuns{{0, 30, 1}}));
}

TEST(IntervalMapTest, MergeWithRightNeighbour) {
  Map m;
  m.Assign(10, 20, 1);
  m.Assign(0, 10, 1);
  EXPECT_EQ(Runs(m), (IntRuns{{0, 20, 1}}));
  m.Assign(0, 5, 1);  // inside the merged run: no-op
  EXPECT_EQ(Runs(m), (IntRuns{{0, 20, 1}}));
}

TEST(IntervalMapTest, MergeWithBothNeighbours) {
  Map m;
  m.Assign(0, 10, 1);
  m.Assign(20, 30, 1);
  EXPECT_EQ(m.run_count(), 2u);
  m.Assign(10, 20, 1);
  EXPECT_EQ(Runs(m), (IntRuns{{0, 30, 1}}));
}

TEST(IntervalMapTest, MergeAcrossReplacedRuns) {
  Map m;
  m.Assign(0, 10, 1);
  m.Assign(10, 20, 2);
  m.Assign(20, 30, 3);
  m.Assign(30, 40, 1);
  EXPECT_EQ(m.run_count(), 4u);
  m.Assign(5, 35, 1);
  EXPECT_EQ(Runs(m), (IntRuns{{0, 40, 1}}));
}

TEST(IntervalMapTest, NoMergeAcrossGapOrDifferentValue) {
  Map m;
  m.Assign(0, 10, 1);
  m.Assign(11, 20, 1);
  EXPECT_EQ(Runs(m), (IntRuns{{0, 10, 1}, {11, 20, 1}}));
  m.Assign(20, 30, 2);
  EXPECT_EQ(Runs(m), (IntRuns{{0, 10, 1}, {11, 20, 1}, {20, 30, 2}}));
  EXPECT_TRUE(m.IsCanonical());
}

TEST(IntervalMapTest, AssignIdenticalValueKeepsRunCount) {
  Map m;
  m.Assign(0, 100, 1);
  m.Assign(200, 300, 2);
  const IntRuns before = Runs(m);
  m.Assign(20, 30, 1);
  m.Assign(0, 100, 1);
  m.Assign(0, 1, 1);
  m.Assign(99, 100, 1);
  m.Assign(250, 300, 2);
  EXPECT_EQ(m.run_count(), 2u);
  EXPECT_EQ(Runs(m), before);
}

TEST(IntervalMapTest, EraseSplitsRun) {
  Map m;
  m.Assign(0, 100, 1);
  m.Erase(40, 60);
  EXPECT_EQ(Runs(m), (IntRuns{{0, 40, 1}, {60, 100, 1}}));
  EXPECT_EQ(m.Lookup(39), 1);
  EXPECT_EQ(m.Lookup(40), std::nullopt);
  EXPECT_EQ(m.Lookup(59), std::nullopt);
  EXPECT_EQ(m.Lookup(60), 1);
  EXPECT_TRUE(m.IsCanonical());
  // Filling the gap with the same value merges everything back.
  m.Assign(40, 60, 1);
  EXPECT_EQ(Runs(m), (IntRuns{{0, 100, 1}}));
}

TEST(IntervalMapTest, EraseEdgesAndSpans) {
  Map m;
  m.Assign(0, 10, 1);
  m.Assign(10, 20, 2);
  m.Assign(30, 40, 3);
  m.Erase(0, 5);
  EXPECT_EQ(Runs(m), (IntRuns{{5, 10, 1}, {10, 20, 2}, {30, 40, 3}}));
  m.Erase(35, 50);
  EXPECT_EQ(Runs(m), (IntRuns{{5, 10, 1}, {10, 20, 2}, {30, 35, 3}}));
  m.Erase(20, 30);  // a gap: nothing changes
  EXPECT_EQ(Runs(m), (IntRuns{{5, 10, 1}, {10, 20, 2}, {30, 35, 3}}));
  m.Erase(8, 32);  // spans three runs and a gap
  EXPECT_EQ(Runs(m), (IntRuns{{5, 8, 1}, {32, 35, 3}}));
  m.Erase(0, 1000);
  EXPECT_TRUE(m.empty());
  EXPECT_TRUE(m.IsCanonical());
}

TEST(IntervalMapTest, EraseDoesNotMergeNeighbours) {
  // Erase leaves a gap, so equal values on either side stay separate runs.
  Map m;
  m.Assign(0, 30, 1);
  m.Erase(10, 20);
  m.Assign(10, 20, 2);
  m.Erase(10, 20);
  EXPECT_EQ(Runs(m), (IntRuns{{0, 10, 1}, {20, 30, 1}}));
}

TEST(IntervalMapTest, LookupInGaps) {
  Map m;
  m.Assign(10, 20, 1);
  m.Assign(30, 40, 2);
  for (uint64_t k : {uint64_t{0}, uint64_t{9}, uint64_t{20}, uint64_t{25}, uint64_t{29},
                     uint64_t{40}, uint64_t{1000}, kMax}) {
    SCOPED_TRACE(k);
    EXPECT_EQ(m.Lookup(k), std::nullopt);
    EXPECT_TRUE(m.FindRun(k) == m.end());
  }
}

TEST(IntervalMapTest, FindRun) {
  Map m;
  m.Assign(10, 20, 1);
  m.Assign(20, 30, 2);
  m.Assign(40, 50, 3);
  for (uint64_t k : {10, 15, 19}) {
    auto it = m.FindRun(k);
    ASSERT_TRUE(it != m.end());
    EXPECT_EQ((*it).start, 10u);
    EXPECT_EQ((*it).end, 20u);
    EXPECT_EQ((*it).value, 1);
  }
  auto it = m.FindRun(20);
  ASSERT_TRUE(it != m.end());
  EXPECT_EQ((*it).start, 20u);
  EXPECT_EQ((*it).value, 2);
  ++it;
  ASSERT_TRUE(it != m.end());
  EXPECT_EQ((*it).start, 40u);  // iteration continues from the found run
  EXPECT_TRUE(m.FindRun(30) == m.end());
  EXPECT_TRUE(m.FindRun(9) == m.end());
  EXPECT_TRUE(m.FindRun(50) == m.end());
  EXPECT_EQ((*m.FindRun(49)).start, 40u);
}

TEST(IntervalMapTest, AllEqual) {
  Map m;
  m.Assign(0, 10, 1);
  m.Assign(10, 20, 2);
  m.Assign(30, 40, 2);
  EXPECT_TRUE(m.AllEqual(0, 10, 1));
  EXPECT_TRUE(m.AllEqual(3, 7, 1));
  EXPECT_TRUE(m.AllEqual(9, 10, 1));
  EXPECT_FALSE(m.AllEqual(0, 10, 2));
  EXPECT_FALSE(m.AllEqual(0, 11, 1));   // crosses into a different value
  EXPECT_FALSE(m.AllEqual(15, 35, 2));  // crosses a gap with equal values around it
  EXPECT_FALSE(m.AllEqual(20, 30, 2));  // entirely a gap
  EXPECT_FALSE(m.AllEqual(25, 35, 2));  // starts in a gap
  EXPECT_TRUE(m.AllEqual(30, 40, 2));
  EXPECT_FALSE(m.AllEqual(30, 41, 2));  // runs off the end
  EXPECT_TRUE(m.AllEqual(50, 50, 9));
}

TEST(IntervalMapTest, Covers) {
  Map m;
  m.Assign(0, 10, 1);
  m.Assign(10, 20, 2);
  m.Assign(20, 25, 3);
  m.Assign(30, 40, 1);
  EXPECT_TRUE(m.Covers(0, 25));  // several runs, different values
  EXPECT_TRUE(m.Covers(5, 22));
  EXPECT_TRUE(m.Covers(30, 40));
  EXPECT_FALSE(m.Covers(0, 26));   // runs into the gap
  EXPECT_FALSE(m.Covers(24, 31));  // spans the gap
  EXPECT_FALSE(m.Covers(26, 35));  // starts in the gap
  EXPECT_FALSE(m.Covers(35, 41));
  EXPECT_FALSE(m.Covers(100, 200));
  EXPECT_TRUE(m.Covers(27, 27));
}

TEST(IntervalMapTest, ForEachInClips) {
  Map m;
  m.Assign(0, 10, 1);
  m.Assign(10, 20, 2);
  m.Assign(30, 40, 3);
  EXPECT_EQ(Pieces(m, 5, 35), (IntRuns{{5, 10, 1}, {10, 20, 2}, {30, 35, 3}}));
  EXPECT_EQ(Pieces(m, 0, 40), (IntRuns{{0, 10, 1}, {10, 20, 2}, {30, 40, 3}}));
  EXPECT_EQ(Pieces(m, 12, 14), (IntRuns{{12, 14, 2}}));
  EXPECT_EQ(Pieces(m, 25, 100), (IntRuns{{30, 40, 3}}));  // starts in a gap
  EXPECT_EQ(Pieces(m, 9, 10), (IntRuns{{9, 10, 1}}));
  EXPECT_EQ(Pieces(m, 10, 11), (IntRuns{{10, 11, 2}}));
  EXPECT_TRUE(Pieces(m, 20, 30).empty());  // exactly the gap
  EXPECT_TRUE(Pieces(m, 40, 100).empty());
  EXPECT_TRUE(Pieces(m, 5, 5).empty());
}

TEST(IntervalMapTest, IterationOrder) {
  Map m;
  // Insert out of order; iteration is by start key.
  m.Assign(50, 60, 5);
  m.Assign(30, 40, 3);
  m.Assign(70, 80, 7);
  m.Assign(10, 20, 1);
  EXPECT_EQ(Runs(m), (IntRuns{{10, 20, 1}, {30, 40, 3}, {50, 60, 5}, {70, 80, 7}}));
  EXPECT_EQ(std::distance(m.begin(), m.end()), 4);
  // Bidirectional.
  auto it = m.end();
  --it;
  EXPECT_EQ((*it).start, 70u);
  --it;
  EXPECT_EQ((*it).start, 50u);
  ++it;
  EXPECT_EQ((*it).value, 7);
}

TEST(IntervalMapTest, Clear) {
  Map m;
  m.Assign(0, 10, 1);
  m.Assign(20, 30, 2);
  m.Clear();
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.Lookup(5), std::nullopt);
  m.Assign(0, 10, 1);
  EXPECT_EQ(Runs(m), (IntRuns{{0, 10, 1}}));
}

TEST(IntervalMapTest, NonTrivialValue) {
  IntervalMap<uint64_t, std::string> m;
  m.Assign(0, 100, "shared");
  m.Assign(10, 20, "private");
  m.Assign(20, 30, "private");
  EXPECT_EQ(m.run_count(), 3u);
  EXPECT_EQ(m.Lookup(25), "private");
  EXPECT_EQ(m.Lookup(5), "shared");
  EXPECT_TRUE(m.AllEqual(10, 30, "private"));
  EXPECT_TRUE(m.IsCanonical());
  // Run::value refers into the map and stays valid until the map changes.
  auto it = m.FindRun(15);
  EXPECT_EQ((*it).value, "private");
}

template <typename Key>
class IntervalMapHugeKeyTest : public ::testing::Test {};
using KeyTypes = ::testing::Types<uint64_t, PgOff>;
TYPED_TEST_SUITE(IntervalMapHugeKeyTest, KeyTypes);

TYPED_TEST(IntervalMapHugeKeyTest, NearTwoToThe40) {
  using Key = TypeParam;
  IntervalMap<Key, int> m;
  constexpr uint64_t kTop = uint64_t{1} << 40;
  m.Assign(K<Key>(0), K<Key>(kTop), 1);  // 2^40 pages is one run
  EXPECT_EQ(m.run_count(), 1u);
  EXPECT_EQ(m.Lookup(K<Key>(kTop - 1)), 1);
  EXPECT_EQ(m.Lookup(K<Key>(kTop)), std::nullopt);
  EXPECT_TRUE(m.Covers(K<Key>(0), K<Key>(kTop)));
  EXPECT_FALSE(m.Covers(K<Key>(0), K<Key>(kTop + 1)));
  EXPECT_TRUE(m.AllEqual(K<Key>(kTop / 2), K<Key>(kTop), 1));
  m.Assign(K<Key>(kTop - 1), K<Key>(kTop), 2);
  m.Assign(K<Key>(kTop - 2), K<Key>(kTop - 1), 1);  // no-op: same value
  EXPECT_EQ(m.run_count(), 2u);
  EXPECT_EQ(m.Lookup(K<Key>(kTop - 1)), 2);
  EXPECT_EQ(m.Lookup(K<Key>(kTop - 2)), 1);
  m.Assign(K<Key>(kTop), K<Key>(kTop + 512), 2);  // merges with the 1-page run
  EXPECT_EQ((Runs(m)), (RunList<Key, int>{{0, kTop - 1, 1}, {kTop - 1, kTop + 512, 2}}));
  m.Erase(K<Key>(1), K<Key>(kTop - 1));
  EXPECT_EQ((Runs(m)), (RunList<Key, int>{{0, 1, 1}, {kTop - 1, kTop + 512, 2}}));
  EXPECT_EQ(Pieces(m, 0, kMax), (RunList<Key, int>{{0, 1, 1}, {kTop - 1, kTop + 512, 2}}));
  EXPECT_TRUE(m.IsCanonical());
}

TYPED_TEST(IntervalMapHugeKeyTest, NearUint64Max) {
  using Key = TypeParam;
  IntervalMap<Key, int> m;
  // The largest key that can be covered is kMax - 1 (ranges are half-open).
  m.Assign(K<Key>(kMax - 10), K<Key>(kMax), 1);
  EXPECT_EQ(m.Lookup(K<Key>(kMax - 1)), 1);
  EXPECT_EQ(m.Lookup(K<Key>(kMax - 10)), 1);
  EXPECT_EQ(m.Lookup(K<Key>(kMax - 11)), std::nullopt);
  EXPECT_EQ(m.Lookup(K<Key>(kMax)), std::nullopt);
  EXPECT_TRUE(m.Covers(K<Key>(kMax - 10), K<Key>(kMax)));
  EXPECT_TRUE(m.AllEqual(K<Key>(kMax - 1), K<Key>(kMax), 1));
  m.Assign(K<Key>(kMax - 2), K<Key>(kMax), 2);
  EXPECT_EQ((Runs(m)), (RunList<Key, int>{{kMax - 10, kMax - 2, 1}, {kMax - 2, kMax, 2}}));
  m.Assign(K<Key>(0), K<Key>(kMax - 10), 1);  // merges with the left part
  EXPECT_EQ((Runs(m)), (RunList<Key, int>{{0, kMax - 2, 1}, {kMax - 2, kMax, 2}}));
  EXPECT_TRUE(m.Covers(K<Key>(0), K<Key>(kMax)));
  m.Assign(K<Key>(kMax - 2), K<Key>(kMax), 1);
  EXPECT_EQ((Runs(m)), (RunList<Key, int>{{0, kMax, 1}}));
  m.Erase(K<Key>(kMax - 1), K<Key>(kMax));
  EXPECT_EQ((Runs(m)), (RunList<Key, int>{{0, kMax - 1, 1}}));
  EXPECT_EQ(m.Lookup(K<Key>(kMax - 1)), std::nullopt);
  EXPECT_EQ(Pieces(m, kMax - 5, kMax), (RunList<Key, int>{{kMax - 5, kMax - 1, 1}}));
  EXPECT_TRUE(m.IsCanonical());
}

// --- randomized, against a reference model -------------------------------------------------

// The seed of the first round: $COCOMEM_SEED if set, else random. Round i uses seed + i.
using ::cocomem::test::BaseSeed;

constexpr int kRounds = 5;  // seeds per invocation
constexpr uint64_t kUniverse = 256;

// Operations per seed. Every operation is followed by a full check (all kUniverse lookups
// and more), which dominates the cost in a Debug+ASan build; the default keeps the binary
// at about two seconds there. $COCOMEM_RANDOM_OPS raises it for soak runs.
int OpsPerSeed() {
  static const int ops = [] {
    const char* env = std::getenv("COCOMEM_RANDOM_OPS");
    const long n = env != nullptr ? std::strtol(env, nullptr, 0) : 0;
    return n > 0 ? static_cast<int>(n) : 2000;
  }();
  return ops;
}

// Model: one optional value per key of [0, kUniverse). Keys are offsets from `base`, so the
// same test runs at 0, near 2^40 and at the very top of the key space.
using Model = std::vector<std::optional<int>>;

IntRuns ModelRuns(const Model& model, uint64_t base) {
  IntRuns out;
  for (uint64_t k = 0; k < model.size();) {
    if (!model[k]) {
      ++k;
      continue;
    }
    uint64_t e = k + 1;
    while (e < model.size() && model[e] == model[k]) ++e;
    out.emplace_back(base + k, base + e, *model[k]);
    k = e;
  }
  return out;
}

std::string Describe(const IntRuns& runs) {
  std::ostringstream os;
  for (const auto& [s, e, v] : runs) os << "[" << s << "," << e << ")=" << v << " ";
  return os.str();
}

template <typename Key>
class Checker {
 public:
  Checker(uint64_t base, std::mt19937_64* rng) : base_(base), rng_(rng), model_(kUniverse) {}

  std::string ApplyRandomOp() {
    uint64_t s, e;
    RandomRange(&s, &e);
    std::ostringstream op;
    const uint64_t what = Uniform(0, 99);
    if (what < 60) {
      const int v = static_cast<int>(Uniform(0, 2));
      op << "Assign(" << s << ", " << e << ", " << v << ")";
      map_.Assign(K<Key>(base_ + s), K<Key>(base_ + e), v);
      for (uint64_t k = s; k < e; ++k) model_[k] = v;
    } else if (what < 99) {
      op << "Erase(" << s << ", " << e << ")";
      map_.Erase(K<Key>(base_ + s), K<Key>(base_ + e));
      for (uint64_t k = s; k < e; ++k) model_[k].reset();
    } else {
      op << "Clear()";
      map_.Clear();
      for (auto& m : model_) m.reset();
    }
    return op.str();
  }

  ::testing::AssertionResult Check() {
    // The run list is the complete state; compare it first for a readable message.
    IntRuns runs;
    for (auto r : map_) runs.emplace_back(U(r.start), U(r.end), r.value);
    const IntRuns want = ModelRuns(model_, base_);
    if (!map_.IsCanonical()) {
      return ::testing::AssertionFailure()
             << "not canonical\n  map:   " << Describe(runs) << "\n  model: " << Describe(want);
    }
    if (runs != want) {
      return ::testing::AssertionFailure()
             << "runs differ\n  map:   " << Describe(runs) << "\n  model: " << Describe(want);
    }
    if (map_.run_count() != want.size()) {
      return ::testing::AssertionFailure()
             << "run_count " << map_.run_count() << " want " << want.size();
    }
    if (map_.empty() != want.empty()) return ::testing::AssertionFailure() << "empty()";
    for (uint64_t k = 0; k < kUniverse; ++k) {
      if (map_.Lookup(K<Key>(base_ + k)) != model_[k]) {
        return ::testing::AssertionFailure() << "Lookup(" << k << ") differs";
      }
    }
    for (int i = 0; i < 4; ++i) {
      uint64_t s, e;
      RandomRange(&s, &e);
      bool covers = true;
      for (uint64_t k = s; k < e; ++k) covers = covers && model_[k].has_value();
      if (map_.Covers(K<Key>(base_ + s), K<Key>(base_ + e)) != covers) {
        return ::testing::AssertionFailure() << "Covers(" << s << ", " << e << ") != " << covers;
      }
      // Ask about the value at s most of the time, so "true" answers are common.
      int v = static_cast<int>(Uniform(0, 2));
      if (s < kUniverse && model_[s] && Uniform(0, 3) != 0) v = *model_[s];
      bool all = true;
      for (uint64_t k = s; k < e; ++k) all = all && model_[k] == v;
      if (map_.AllEqual(K<Key>(base_ + s), K<Key>(base_ + e), v) != all) {
        return ::testing::AssertionFailure()
               << "AllEqual(" << s << ", " << e << ", " << v << ") != " << all;
      }
    }
    {
      uint64_t s, e;
      RandomRange(&s, &e);
      IntRuns pieces;
      map_.ForEachIn(K<Key>(base_ + s), K<Key>(base_ + e),
                     [&](Key ps, Key pe, int v) { pieces.emplace_back(U(ps), U(pe), v); });
      IntRuns want_pieces;
      if (s < e) {
        for (auto [rs, re, v] : want) {
          rs = std::max(rs, base_ + s);
          re = std::min(re, base_ + e);
          if (rs < re) want_pieces.emplace_back(rs, re, v);
        }
      }
      if (pieces != want_pieces) {
        return ::testing::AssertionFailure()
               << "ForEachIn(" << s << ", " << e << ")\n  got:  " << Describe(pieces)
               << "\n  want: " << Describe(want_pieces);
      }
    }
    {
      const uint64_t k = Uniform(0, kUniverse - 1);
      auto it = map_.FindRun(K<Key>(base_ + k));
      std::optional<std::tuple<uint64_t, uint64_t, int>> want_run;
      for (const auto& r : want) {
        if (std::get<0>(r) <= base_ + k && base_ + k < std::get<1>(r)) want_run = r;
      }
      if ((it == map_.end()) != !want_run.has_value()) {
        return ::testing::AssertionFailure() << "FindRun(" << k << ") presence";
      }
      if (want_run && std::make_tuple(U((*it).start), U((*it).end), (*it).value) != *want_run) {
        return ::testing::AssertionFailure() << "FindRun(" << k << ") differs";
      }
    }
    return ::testing::AssertionSuccess();
  }

 private:
  uint64_t Uniform(uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(*rng_);
  }

  // Mostly short ranges (lots of splitting and merging), some long ones, a few empty or
  // reversed ones (no-ops). Offsets stay within [0, kUniverse].
  void RandomRange(uint64_t* s, uint64_t* e) {
    *s = Uniform(0, kUniverse);
    const uint64_t kind = Uniform(0, 19);
    if (kind < 12) {
      *e = std::min(kUniverse, *s + Uniform(1, 16));
    } else if (kind < 18) {
      *e = Uniform(*s, kUniverse);
    } else if (kind < 19) {
      *e = *s;
    } else {
      *e = Uniform(0, *s);
    }
  }

  const uint64_t base_;
  std::mt19937_64* rng_;
  IntervalMap<Key, int> map_;
  Model model_;
};

template <typename Key>
void RunRandomized(uint64_t base, int ops) {
  const uint64_t seed0 = BaseSeed();
  for (int round = 0; round < kRounds; ++round) {
    const uint64_t seed = seed0 + static_cast<uint64_t>(round);
    SCOPED_TRACE(::testing::Message()
                 << "seed=" << seed << " (reproduce with COCOMEM_SEED=" << seed << ")");
    std::mt19937_64 rng(seed);
    Checker<Key> checker(base, &rng);
    for (int i = 0; i < ops; ++i) {
      const std::string op = checker.ApplyRandomOp();
      ASSERT_TRUE(checker.Check()) << "after op #" << i << ": " << op;
    }
  }
}

TEST(IntervalMapRandomTest, AgainstModel) {
  RunRandomized<uint64_t>(0, OpsPerSeed());
}

// The same with a strong key type, far from zero.
TEST(IntervalMapRandomTest, AgainstModelPgOffNear2To40) {
  RunRandomized<PgOff>((uint64_t{1} << 40) - kUniverse / 2, OpsPerSeed() / 4);
}

// The universe's last key is kMax - 1: the end of the key space.
TEST(IntervalMapRandomTest, AgainstModelAtTopOfKeySpace) {
  RunRandomized<uint64_t>(kMax - kUniverse, OpsPerSeed() / 4);
}

}  // namespace
}  // namespace cocomem
