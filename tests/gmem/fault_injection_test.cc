// All-or-nothing operations of the guest_memfd inode under injected failures: for every
// fault point and N = 1, 2, ..., fail the Nth pass through the point; an operation that
// fails must fail with ENOMEM and leave everything as it was. The sweep of a point ends
// when the operation succeeds without the point firing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "base/fault_injection.h"
#include "gmem/inode.h"
#include "gmem_test_util.h"
#include "host/arena.h"

namespace cocomem::gmem {
namespace {

using ::testing::IsEmpty;
using namespace ::cocomem::gmem::test;  // NOLINT: test helpers

constexpr MemAttr kShared = MemAttr::kShared;
constexpr MemAttr kPrivate = MemAttr::kPrivate;
constexpr int kMaxN = 64;

struct Scenario {
  std::string name;
  // Builds the starting state (fault points disarmed).
  std::function<std::shared_ptr<Inode>(host::Arena&)> setup;
  // The operation under test; sets *error_index when it has one.
  std::function<Status(Inode&, PgOff* error_index)> op;
  // The error index a failure must report (nullopt: not reported).
  std::optional<uint64_t> error_index;
  // Pages whose contents are compared, and host pages read through a mapping (if any).
  std::vector<uint64_t> sample;
  // Checks the state after a success; `merge_failed` when the merge point fired.
  std::function<void(Inode&, bool merge_failed)> check_success;
  // The points the operation passes through (each must fire at N = 1).
  std::set<std::string> expected_points;
};

void PrintTo(const Scenario& s, std::ostream* os) {
  *os << s.name;
}

// Host view of the sampled pages through a mapping of the whole file: SIGBUS or value.
std::vector<std::pair<bool, uint64_t>> HostView(std::byte* base,
                                                const std::vector<uint64_t>& pages) {
  std::vector<std::pair<bool, uint64_t>> out;
  if (base == nullptr) return out;
  for (uint64_t p : pages) {
    Touch t = Read64(base + (p << kPageShift));
    out.emplace_back(t.sigbus, t.value);
  }
  return out;
}

class FaultSweepTest : public ::testing::TestWithParam<Scenario> {
 protected:
  void SetUp() override {
    InstallSigbusHandlerOnce();
    FaultPoint::DisarmAll();
  }
  void TearDown() override { FaultPoint::DisarmAll(); }
};

TEST_P(FaultSweepTest, FailsCleanlyAtEveryFaultPoint) {
  const Scenario& sc = GetParam();
  auto arena = MakeArena();
  std::set<std::string> fired_points;
  for (FaultPoint* point : FaultPoint::All()) {
    SCOPED_TRACE(std::string("fault point ") + point->name());
    bool done = false;
    for (int n = 1; n <= kMaxN && !done && !HasFailure(); ++n) {
      SCOPED_TRACE("N=" + std::to_string(n));
      std::shared_ptr<Inode> inode = sc.setup(*arena);
      RecordingListener listener;
      inode->AddListener(&listener);
      std::byte* map = nullptr;
      if (inode->flags() & GUEST_MEMFD_FLAG_MMAP) {
        Result<void*> m =
            inode->Mmap(nullptr, inode->size(), PROT_READ | PROT_WRITE, MAP_SHARED, 0);
        ASSERT_TRUE(m.ok());
        map = static_cast<std::byte*>(*m);
      }
      const Snapshot before = SnapshotOf(*inode, sc.sample);
      const auto host_before = HostView(map, sc.sample);
      const uint64_t fired_before = point->fired();

      PgOff idx(~uint64_t{0});
      Status s;
      {
        ScopedFault fault(*point, n);
        s = sc.op(*inode, &idx);
      }
      const bool fired = point->fired() != fired_before;
      if (fired) fired_points.insert(point->name());
      EXPECT_THAT(inode->CheckInvariants(), IsEmpty());

      if (!s.ok()) {
        EXPECT_TRUE(fired) << "failed without an injected fault: errno " << s.error();
        EXPECT_EQ(s.error(), ENOMEM);
        if (sc.error_index) EXPECT_EQ(idx.value(), *sc.error_index);
        EXPECT_EQ(SnapshotOf(*inode, sc.sample), before) << "state changed by a failed operation";
        EXPECT_EQ(HostView(map, sc.sample), host_before);
        // Nothing was zapped, and every Begin was ended.
        int begins = 0, ends = 0;
        for (const Call& c : listener.Take()) {
          EXPECT_NE(c.kind, CallKind::kZap) << c;
          begins += c.kind == CallKind::kBegin;
          ends += c.kind == CallKind::kEnd;
        }
        EXPECT_EQ(begins, ends);
      } else {
        // Only a merge may fail without failing the operation.
        if (fired)
          EXPECT_EQ(point, &kFolioMergeFault) << "fault swallowed by a successful operation";
        sc.check_success(*inode, fired && point == &kFolioMergeFault);
        done = !fired;
      }
      if (map) inode->Munmap(map, inode->size());
      inode->RemoveListener(&listener);
    }
    EXPECT_TRUE(done || HasFailure()) << "the sweep never ended";
  }
  EXPECT_EQ(fired_points, sc.expected_points);
  EXPECT_EQ(arena->reserved_bytes(), 0u);
}

// ---- scenarios ----------------------------------------------------------------------------

std::shared_ptr<Inode> Make(host::Arena& arena, uint64_t npages, PageOrder order, MemAttr initial) {
  return MakeInode(arena, MakeConfig(npages, order, initial));
}

void WriteTags(Inode& inode, const std::vector<uint64_t>& pages) {
  for (uint64_t p : pages) SetTag(inode, p, 0xf00d0000 + p);
}

void ExpectTags(Inode& inode, const std::vector<uint64_t>& pages) {
  for (uint64_t p : pages) EXPECT_EQ(Tag(inode, p), 0xf00d0000 + p) << "page " << p;
}

Scenario ToShared4K() {
  const std::vector<uint64_t> sample = {0, 3, 4, 5, 12, 19, 20, 63};
  return Scenario{
      .name = "ToShared4K",
      .setup =
          [sample](host::Arena& a) {
            auto inode = Make(a, 64, PageOrder::k4K, kPrivate);
            CHECK(inode->Allocate(PgOff(0), PgOff(32)).ok());
            CHECK(inode->GetPfn(PgOff(5)).ok());
            WriteTags(*inode, sample);
            return inode;
          },
      .op = [](Inode& i, PgOff* idx) { return i.SetAttributes(PgOff(4), PgOff(20), kShared, idx); },
      .error_index = 4,
      .sample = sample,
      .check_success =
          [sample](Inode& i, bool) {
            EXPECT_EQ(Runs(i), (std::vector<AttrRun>{
                                   {0, 4, kPrivate}, {4, 20, kShared}, {20, 64, kPrivate}}));
            ExpectTags(i, sample);
          },
      .expected_points = {"gmem.attr.prealloc"},
  };
}

Scenario ToPrivate4K() {
  const std::vector<uint64_t> sample = {0, 3, 4, 5, 12, 19, 20, 63};
  return Scenario{
      .name = "ToPrivate4K",
      .setup =
          [sample](host::Arena& a) {
            auto inode = Make(a, 64, PageOrder::k4K, kShared);
            CHECK(inode->Allocate(PgOff(0), PgOff(64)).ok());
            CHECK(inode->Pin(PgOff(30)).ok());  // outside the range: no EAGAIN
            WriteTags(*inode, sample);
            return inode;
          },
      .op = [](Inode& i,
               PgOff* idx) { return i.SetAttributes(PgOff(4), PgOff(20), kPrivate, idx); },
      .error_index = 4,
      .sample = sample,
      .check_success =
          [sample](Inode& i, bool) {
            EXPECT_EQ(Runs(i), (std::vector<AttrRun>{
                                   {0, 4, kShared}, {4, 20, kPrivate}, {20, 64, kShared}}));
            ExpectTags(i, sample);
          },
      .expected_points = {"gmem.attr.prealloc"},
  };
}

Scenario ToSharedSplittingHuge(PageOrder order) {
  const uint64_t huge = PagesIn(order);
  const std::vector<uint64_t> sample = {0, 4, 5, 6, huge - 1, huge};
  return Scenario{
      .name = std::string("ToSharedSplitting") + PageOrderName(order),
      .setup =
          [=](host::Arena& a) {
            auto inode = Make(a, 2 * huge, order, kPrivate);
            CHECK(inode->GetPfn(PgOff(0)).ok());
            CHECK(inode->GetPfn(PgOff(huge)).ok());
            WriteTags(*inode, sample);
            return inode;
          },
      .op = [](Inode& i, PgOff* idx) { return i.SetAttributes(PgOff(5), PgOff(6), kShared, idx); },
      .error_index = 5,
      .sample = sample,
      .check_success =
          [=](Inode& i, bool) {
            EXPECT_EQ(Runs(i), (std::vector<AttrRun>{
                                   {0, 5, kPrivate}, {5, 6, kShared}, {6, 2 * huge, kPrivate}}));
            EXPECT_EQ(i.folio_count(), huge + 1);  // the first huge folio split, the second not
            EXPECT_EQ(i.stats().Get("folio_splits"), 1u);
            ExpectTags(i, sample);
          },
      .expected_points = {"gmem.attr.prealloc", "gmem.folio.split"},
  };
}

Scenario ToSharedAcrossTwoHugeFolios(PageOrder order) {
  const uint64_t huge = PagesIn(order);
  const std::vector<uint64_t> sample = {0, huge - 1, huge, 2 * huge - 1};
  return Scenario{
      .name = std::string("ToSharedAcrossTwo") + PageOrderName(order),
      .setup =
          [=](host::Arena& a) {
            auto inode = Make(a, 2 * huge, order, kPrivate);
            CHECK(inode->GetPfn(PgOff(0)).ok());
            CHECK(inode->GetPfn(PgOff(huge)).ok());
            WriteTags(*inode, sample);
            return inode;
          },
      .op =
          [=](Inode& i, PgOff* idx) {
            return i.SetAttributes(PgOff(huge - 1), PgOff(huge + 1), kShared, idx);
          },
      .error_index = huge - 1,
      .sample = sample,
      .check_success =
          [=](Inode& i, bool) {
            EXPECT_EQ(i.folio_count(), 2 * huge);
            EXPECT_EQ(i.stats().Get("folio_splits"), 2u);
            ExpectTags(i, sample);
          },
      .expected_points = {"gmem.attr.prealloc", "gmem.folio.split"},
  };
}

Scenario ToPrivateMergingHuge(PageOrder order) {
  const uint64_t huge = PagesIn(order);
  const std::vector<uint64_t> sample = {0, 5, 6, huge - 1};
  return Scenario{
      .name = std::string("ToPrivateMerging") + PageOrderName(order),
      .setup =
          [=](host::Arena& a) {
            auto inode = Make(a, huge, order, kPrivate);
            CHECK(inode->GetPfn(PgOff(0)).ok());
            PgOff idx;
            CHECK(inode->SetAttributes(PgOff(5), PgOff(6), kShared, &idx).ok());
            WriteTags(*inode, sample);
            return inode;
          },
      .op = [](Inode& i, PgOff* idx) { return i.SetAttributes(PgOff(5), PgOff(6), kPrivate, idx); },
      .error_index = 5,
      .sample = sample,
      .check_success =
          [=](Inode& i, bool merge_failed) {
            EXPECT_EQ(Runs(i), (std::vector<AttrRun>{{0, huge, kPrivate}}));
            if (merge_failed) {
              // Still split, and valid (CheckInvariants ran).
              EXPECT_EQ(i.folio_count(), huge);
              EXPECT_EQ(i.stats().Get("folio_merges"), 0u);
            } else {
              EXPECT_THAT(FolioList(i), ::testing::ElementsAre(FolioRec{0, order, true, false, 0}));
              EXPECT_EQ(i.stats().Get("folio_merges"), 1u);
            }
            ExpectTags(i, sample);
          },
      .expected_points = {"gmem.attr.prealloc", "gmem.folio.merge"},
  };
}

Scenario Punch(PageOrder order) {
  const uint64_t unit = PagesIn(order);
  const uint64_t npages = order == PageOrder::k4K ? 64 : 2 * unit;
  const uint64_t ps = order == PageOrder::k4K ? 8 : unit,
                 pe = order == PageOrder::k4K ? 16 : 2 * unit;
  const std::vector<uint64_t> sample = {0, ps - 1, ps, pe - 1};
  return Scenario{
      .name = std::string("Punch") + PageOrderName(order),
      .setup =
          [=](host::Arena& a) {
            auto inode = Make(a, npages, order, kPrivate);
            CHECK(inode->GetPfn(PgOff(0)).ok());
            CHECK(inode->GetPfn(PgOff(ps)).ok());
            CHECK(inode->GetPfn(PgOff(pe - 1)).ok());
            WriteTags(*inode, sample);
            return inode;
          },
      .op = [=](Inode& i, PgOff*) { return i.Punch(PgOff(ps), PgOff(pe)); },
      .error_index = std::nullopt,
      .sample = sample,
      .check_success =
          [=](Inode& i, bool) {
            EXPECT_EQ(Tag(i, ps), 0u);
            EXPECT_EQ(Tag(i, pe - 1), 0u);
            EXPECT_EQ(Tag(i, 0), 0xf00d0000u);
            EXPECT_FALSE(i.Folios().empty());
            for (const Inode::FolioInfo& f : i.Folios()) EXPECT_LT(f.start.value(), ps);
          },
      .expected_points = {},
  };
}

INSTANTIATE_TEST_SUITE_P(
    Operations, FaultSweepTest,
    ::testing::Values(ToShared4K(), ToPrivate4K(), ToSharedSplittingHuge(PageOrder::k2M),
                      ToSharedSplittingHuge(PageOrder::k1G),
                      ToSharedAcrossTwoHugeFolios(PageOrder::k2M),
                      ToSharedAcrossTwoHugeFolios(PageOrder::k1G),
                      ToPrivateMergingHuge(PageOrder::k2M), ToPrivateMergingHuge(PageOrder::k1G),
                      Punch(PageOrder::k4K), Punch(PageOrder::k2M), Punch(PageOrder::k1G)),
    [](const ::testing::TestParamInfo<Scenario>& info) { return info.param.name; });

// ---- create -------------------------------------------------------------------------------

class FaultInjectionTest : public ::testing::Test {
 protected:
  void SetUp() override { FaultPoint::DisarmAll(); }
  void TearDown() override { FaultPoint::DisarmAll(); }
  std::unique_ptr<host::Arena> arena_ = MakeArena();
};

TEST_F(FaultInjectionTest, CreateFailsCleanlyAtEveryFaultPoint) {
  for (bool no_direct_map : {false, true}) {
    SCOPED_TRACE(no_direct_map ? "NO_DIRECT_MAP" : "direct map");
    Inode::Config config = MakeConfig(PagesIn(PageOrder::k2M), PageOrder::k2M);
    config.no_direct_map = no_direct_map;
    std::set<std::string> fired_points;
    for (FaultPoint* point : FaultPoint::All()) {
      SCOPED_TRACE(std::string("fault point ") + point->name());
      bool done = false;
      for (int n = 1; n <= kMaxN && !done; ++n) {
        const uint64_t reserved = arena_->reserved_bytes();
        const uint64_t fired_before = point->fired();
        Result<std::shared_ptr<Inode>> r = [&] {
          ScopedFault fault(*point, n);
          return Inode::Create(*arena_, config);
        }();
        const bool fired = point->fired() != fired_before;
        if (fired) fired_points.insert(point->name());
        if (!r.ok()) {
          EXPECT_TRUE(fired);
          EXPECT_EQ(r.error(), ENOMEM);
          EXPECT_EQ(arena_->reserved_bytes(), reserved);
          // No PFN lost its direct map: the whole arena is mapped.
          EXPECT_EQ(arena_->CountDirectMapRemoved(host::PfnRange{Pfn(0), arena_->capacity_pages()}),
                    0u);
          continue;
        }
        EXPECT_FALSE(fired);
        std::shared_ptr<Inode> inode = *r;
        EXPECT_EQ(arena_->reserved_bytes(), reserved + inode->size());
        EXPECT_EQ(arena_->CountDirectMapRemoved(inode->pfns()),
                  no_direct_map ? inode->npages() : 0u);
        EXPECT_THAT(inode->CheckInvariants(), IsEmpty());
        done = true;
      }
      EXPECT_TRUE(done);
    }
    EXPECT_EQ(fired_points, std::set<std::string>{"host.arena.reserve"});
    EXPECT_EQ(arena_->reserved_bytes(), 0u);
  }
}

// ---- not all-or-nothing: what is documented instead ----------------------------------------

TEST_F(FaultInjectionTest, AllocateKeepsWhatItAllocatedBeforeTheFailure) {
  auto inode = MakeInode(*arena_, MakeConfig(4 * PagesIn(PageOrder::k2M), PageOrder::k2M));
  {
    ScopedFault fault(kFolioAllocFault, 3);
    EXPECT_EQ(inode->Allocate(PgOff(0), PgOff(4 * PagesIn(PageOrder::k2M))).error(), ENOMEM);
  }
  EXPECT_EQ(inode->folio_count(), 2u);
  EXPECT_EQ(inode->present_pages(), 2 * PagesIn(PageOrder::k2M));
  EXPECT_THAT(inode->CheckInvariants(), IsEmpty());
  ASSERT_TRUE(inode->Allocate(PgOff(0), PgOff(4 * PagesIn(PageOrder::k2M))).ok());
  EXPECT_EQ(inode->folio_count(), 4u);
  EXPECT_THAT(inode->CheckInvariants(), IsEmpty());
}

TEST_F(FaultInjectionTest, FirstUseFailsWithoutAllocatingAnything) {
  InstallSigbusHandlerOnce();
  auto inode = MakeInode(*arena_, MakeConfig(16, PageOrder::k4K, kShared));
  RecordingListener listener;
  inode->AddListener(&listener);
  {
    ScopedFault fault(kFolioAllocFault, 1);
    EXPECT_EQ(inode->GetPfn(PgOff(3)).error(), ENOMEM);
  }
  {
    ScopedFault fault(kFolioAllocFault, 1);
    EXPECT_EQ(inode->Pin(PgOff(3)).error(), ENOMEM);
  }
  {
    ScopedFault fault(kFolioAllocFault, 1);
    EXPECT_EQ(inode->InjectMemoryFailure(PgOff(3)).error(), ENOMEM);
  }
  EXPECT_EQ(inode->present_pages(), 0u);
  EXPECT_EQ(inode->stats().Get("memory_failures"), 0u);
  EXPECT_THAT(listener.Take(), IsEmpty());
  EXPECT_THAT(inode->CheckInvariants(), IsEmpty());
  inode->RemoveListener(&listener);
}

}  // namespace
}  // namespace cocomem::gmem
