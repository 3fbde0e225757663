#include "gmem/inode.h"

#include <cocomem/kvm.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gmem_test_util.h"

namespace cocomem::gmem {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace ::cocomem::gmem::test;  // NOLINT: test helpers

constexpr MemAttr kShared = MemAttr::kShared;
constexpr MemAttr kPrivate = MemAttr::kPrivate;

// `Checked(inode)->Op(...)`: runs Op, then (when the full expression ends) checks that the
// inode's invariants hold.
class Checked {
 public:
  explicit Checked(Inode& inode) : inode_(inode) {}
  ~Checked() { EXPECT_INVARIANTS(inode_); }
  Checked(const Checked&) = delete;
  Checked& operator=(const Checked&) = delete;
  Inode* operator->() { return &inode_; }

 private:
  Inode& inode_;
};

class InodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InstallSigbusHandlerOnce();
    FaultPoint::DisarmAll();
  }
  void TearDown() override { FaultPoint::DisarmAll(); }

  std::shared_ptr<Inode> Make(const Inode::Config& c) {
    std::shared_ptr<Inode> inode = MakeInode(*arena_, c);
    inode->AddListener(&listener_);
    return inode;
  }
  // SetAttributes with the error index initialised to a sentinel.
  Status Convert(Inode& inode, uint64_t start, uint64_t end, MemAttr attr,
                 uint64_t* error_index = nullptr) {
    PgOff idx(~uint64_t{0});
    Status s = Checked(inode)->SetAttributes(PgOff(start), PgOff(end), attr, &idx);
    if (error_index) *error_index = idx.value();
    return s;
  }
  std::byte* Map(Inode& inode, uint64_t npages, uint64_t first_page = 0) {
    Result<void*> p = Checked(inode)->Mmap(nullptr, npages << kPageShift, PROT_READ | PROT_WRITE,
                                           MAP_SHARED, first_page << kPageShift);
    CHECK(p.ok());
    return static_cast<std::byte*>(*p);
  }
  static std::byte* PageAddr(std::byte* base, uint64_t i) { return base + (i << kPageShift); }

  std::unique_ptr<host::Arena> arena_ = MakeArena();
  RecordingListener listener_;
};

// ---- create / allocate ------------------------------------------------------------------

TEST_F(InodeTest, CreateReservesPfnsAndReleaseReturnsThem) {
  const uint64_t before = arena_->reserved_bytes();
  {
    auto inode = Make(MakeConfig(64, PageOrder::k4K, kShared));
    EXPECT_EQ(arena_->reserved_bytes(), before + 64 * kPageSize);
    EXPECT_EQ(inode->npages(), 64u);
    EXPECT_EQ(inode->pfns().npages, 64u);
    EXPECT_EQ(inode->PfnOf(PgOff(5)), inode->pfns().start + 5);
    EXPECT_EQ(Runs(*inode), (std::vector<AttrRun>{{0, 64, kShared}}));
    EXPECT_TRUE(FolioList(*inode).empty());
    EXPECT_EQ(inode->present_pages(), 0u);
    EXPECT_EQ(inode->AttrAt(PgOff(63)), kShared);
    EXPECT_INVARIANTS(*inode);
    inode->RemoveListener(&listener_);
  }
  EXPECT_EQ(arena_->reserved_bytes(), before);
  auto priv = Make(MakeConfig(16));
  EXPECT_EQ(Runs(*priv), (std::vector<AttrRun>{{0, 16, kPrivate}}));
  EXPECT_TRUE(listener_.calls().empty());
}

TEST_F(InodeTest, AllocateAddsFoliosAndCommitsMemoryWithoutInvalidating) {
  auto inode = Make(MakeConfig(64));
  const uint64_t committed = arena_->committed_bytes();
  ASSERT_TRUE(Checked(*inode)->Allocate(PgOff(4), PgOff(12)).ok());
  EXPECT_EQ(inode->present_pages(), 8u);
  EXPECT_EQ(inode->folio_count(), 8u);
  std::vector<FolioRec> folios = FolioList(*inode);
  ASSERT_EQ(folios.size(), 8u);
  for (uint64_t i = 0; i < 8; ++i) {
    // Allocation neither zeroes nor marks uptodate (that is first touch).
    EXPECT_EQ(folios[i], (FolioRec{4 + i, PageOrder::k4K, false, false, 0}));
  }
  EXPECT_EQ(arena_->committed_bytes(), committed + 8 * kPageSize);
  EXPECT_EQ(Runs(*inode), (std::vector<AttrRun>{{0, 64, kPrivate}}));
  EXPECT_TRUE(listener_.calls().empty());
  // Again over a partly allocated range: only the gaps are added.
  ASSERT_TRUE(Checked(*inode)->Allocate(PgOff(0), PgOff(16)).ok());
  EXPECT_EQ(inode->present_pages(), 16u);
  EXPECT_EQ(inode->stats().Get("folios_allocated"), 16u);
  EXPECT_INVARIANTS(*inode);
}

TEST_F(InodeTest, GetPfnAllocatesAndMarksUptodate) {
  auto inode = Make(MakeConfig(16));
  Result<Inode::PfnInfo> r = Checked(*inode)->GetPfn(PgOff(3));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->pfn, inode->PfnOf(PgOff(3)));
  EXPECT_EQ(r->max_order, PageOrder::k4K);
  EXPECT_THAT(FolioList(*inode), ElementsAre(FolioRec{3, PageOrder::k4K, true, false, 0}));
  // Again: the same folio, nothing allocated.
  ASSERT_TRUE(Checked(*inode)->GetPfn(PgOff(3)).ok());
  EXPECT_EQ(inode->present_pages(), 1u);
  EXPECT_EQ(Checked(*inode)->GetPfn(PgOff(16)).error(), EINVAL);
  EXPECT_EQ(Checked(*inode)->GetPfn(PgOff(~uint64_t{0} >> 1)).error(), EINVAL);
  EXPECT_TRUE(listener_.calls().empty());
  EXPECT_INVARIANTS(*inode);
}

// ---- punch --------------------------------------------------------------------------------

TEST_F(InodeTest, PunchInvalidatesExactlyTheRangeFreesMemoryAndKeepsAttributes) {
  auto inode = Make(MakeConfig(64));
  ASSERT_TRUE(Convert(*inode, 10, 12, kShared).ok());
  ASSERT_TRUE(Checked(*inode)->Allocate(PgOff(0), PgOff(64)).ok());
  for (uint64_t p = 0; p < 64; ++p) SetTag(*inode, p, 0xabc000 + p);
  // Fill whole pages so "reads zero" means the whole page.
  std::memset(arena_->HardwareView(inode->PfnOf(PgOff(9))), 0x5a, kPageSize);
  const uint64_t committed = arena_->committed_bytes();
  EXPECT_GE(committed, 64 * kPageSize);
  const std::vector<AttrRun> runs = Runs(*inode);
  listener_.Take();

  ASSERT_TRUE(Checked(*inode)->Punch(PgOff(8), PgOff(16)).ok());
  EXPECT_THAT(listener_.Take(),
              ElementsAre(Begin(8, 16), Split(8, 16), Zap(8, 16, ZapFilter::kBoth), End(8, 16)));
  EXPECT_EQ(arena_->committed_bytes(), committed - 8 * kPageSize);
  for (uint64_t p = 8; p < 16; ++p) {
    const std::byte* page = arena_->HardwareView(inode->PfnOf(PgOff(p)));
    EXPECT_EQ(std::count(page, page + kPageSize, std::byte{0}), static_cast<long>(kPageSize)) << p;
  }
  EXPECT_EQ(Tag(*inode, 7), 0xabc000u + 7);
  EXPECT_EQ(Tag(*inode, 16), 0xabc000u + 16);
  EXPECT_EQ(Runs(*inode), runs);  // attributes survive the punch
  EXPECT_EQ(inode->present_pages(), 56u);
  for (const FolioRec& f : FolioList(*inode)) EXPECT_TRUE(f.start < 8 || f.start >= 16) << f;
  EXPECT_EQ(inode->stats().Get("punches"), 1u);
  EXPECT_EQ(inode->stats().Get("punched_pages"), 8u);
  EXPECT_INVARIANTS(*inode);

  // A punched page comes back zero on the next use.
  ASSERT_TRUE(Checked(*inode)->GetPfn(PgOff(9)).ok());
  EXPECT_EQ(Tag(*inode, 9), 0u);
  EXPECT_INVARIANTS(*inode);
}

TEST_F(InodeTest, PunchOfAHoleStillInvalidates) {
  auto inode = Make(MakeConfig(64));
  ASSERT_TRUE(Checked(*inode)->Punch(PgOff(0), PgOff(4)).ok());
  EXPECT_THAT(listener_.Take(),
              ElementsAre(Begin(0, 4), Split(0, 4), Zap(0, 4, ZapFilter::kBoth), End(0, 4)));
  EXPECT_EQ(inode->present_pages(), 0u);
  EXPECT_INVARIANTS(*inode);
}

TEST_F(InodeTest, PunchAtOrPastEofIsANoOpWithoutCalls) {
  auto inode = Make(MakeConfig(64));
  ASSERT_TRUE(Checked(*inode)->Allocate(PgOff(0), PgOff(64)).ok());
  ASSERT_TRUE(Checked(*inode)->Punch(PgOff(64), PgOff(80)).ok());
  ASSERT_TRUE(Checked(*inode)->Punch(PgOff(1000), PgOff(2000)).ok());
  EXPECT_THAT(listener_.Take(), IsEmpty());
  EXPECT_EQ(inode->present_pages(), 64u);
  EXPECT_EQ(inode->stats().Get("punches"), 0u);
  // Straddling EOF: clamped to it.
  ASSERT_TRUE(Checked(*inode)->Punch(PgOff(60), PgOff(80)).ok());
  EXPECT_THAT(listener_.Take(), ElementsAre(Begin(60, 64), Split(60, 64),
                                            Zap(60, 64, ZapFilter::kBoth), End(60, 64)));
  EXPECT_EQ(inode->present_pages(), 60u);
  EXPECT_EQ(inode->stats().Get("punched_pages"), 4u);
  EXPECT_INVARIANTS(*inode);
}

TEST_F(InodeTest, PunchFailsCleanlyWhenASplitFails) {
  RecordingListener second;
  auto inode = Make(MakeConfig(64, PageOrder::k4K, kShared));
  inode->AddListener(&second);
  ASSERT_TRUE(Checked(*inode)->Allocate(PgOff(0), PgOff(64)).ok());
  ASSERT_TRUE(Checked(*inode)->GetPfn(PgOff(5)).ok());
  for (uint64_t p = 0; p < 64; ++p) SetTag(*inode, p, 0x1000 + p);
  const std::vector<uint64_t> sample = {0, 4, 5, 6, 7, 20, 63};
  const Snapshot before = SnapshotOf(*inode, sample);
  const uint64_t committed = arena_->committed_bytes();
  listener_.Take();
  second.FailSplitWith(ENOMEM);

  Status s = Checked(*inode)->Punch(PgOff(4), PgOff(8));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error(), ENOMEM);
  // Both listeners saw Begin and the balancing End; nothing was zapped.
  EXPECT_THAT(listener_.Take(), ElementsAre(Begin(4, 8), Split(4, 8), End(4, 8)));
  EXPECT_THAT(second.Take(), ElementsAre(Begin(4, 8), Split(4, 8), End(4, 8)));
  EXPECT_EQ(SnapshotOf(*inode, sample), before);
  EXPECT_EQ(arena_->committed_bytes(), committed);
  EXPECT_EQ(inode->stats().Get("punched_pages"), 0u);
  EXPECT_INVARIANTS(*inode);

  // Another errno passes through unchanged.
  second.FailSplitWith(EIO);
  EXPECT_EQ(Checked(*inode)->Punch(PgOff(0), PgOff(64)).error(), EIO);
  EXPECT_EQ(SnapshotOf(*inode, sample), before);
  second.FailSplitWith(0);
  ASSERT_TRUE(Checked(*inode)->Punch(PgOff(4), PgOff(8)).ok());
  EXPECT_EQ(inode->present_pages(), 60u);
  inode->RemoveListener(&second);
  EXPECT_INVARIANTS(*inode);
}

// ---- conversion ---------------------------------------------------------------------------

TEST_F(InodeTest, ToPrivateZapsWithTheOldAttributesAndDoesNotSplit) {
  auto inode = Make(MakeConfig(64, PageOrder::k4K, kShared));
  ASSERT_TRUE(Convert(*inode, 4, 12, kPrivate).ok());
  EXPECT_THAT(listener_.Take(),
              ElementsAre(Begin(4, 12), Zap(4, 12, ZapFilter::kShared), End(4, 12)));
  EXPECT_EQ(Runs(*inode),
            (std::vector<AttrRun>{{0, 4, kShared}, {4, 12, kPrivate}, {12, 64, kShared}}));
  EXPECT_INVARIANTS(*inode);

  // Over a mixed range both kinds of mappings may exist.
  ASSERT_TRUE(Convert(*inode, 0, 16, kPrivate).ok());
  EXPECT_THAT(listener_.Take(),
              ElementsAre(Begin(0, 16), Zap(0, 16, ZapFilter::kBoth), End(0, 16)));
  EXPECT_EQ(Runs(*inode), (std::vector<AttrRun>{{0, 16, kPrivate}, {16, 64, kShared}}));
  EXPECT_EQ(inode->stats().Get("conversions"), 2u);
  EXPECT_EQ(inode->stats().Get("invalidations"), 2u);
  EXPECT_INVARIANTS(*inode);
}

TEST_F(InodeTest, ToSharedSplitsCrossingMappingsThenZaps) {
  auto inode = Make(MakeConfig(64));
  ASSERT_TRUE(Convert(*inode, 4, 12, kShared).ok());
  EXPECT_THAT(listener_.Take(),
              ElementsAre(Begin(4, 12), Split(4, 12), Zap(4, 12, ZapFilter::kPrivate), End(4, 12)));
  EXPECT_EQ(Runs(*inode),
            (std::vector<AttrRun>{{0, 4, kPrivate}, {4, 12, kShared}, {12, 64, kPrivate}}));
  ASSERT_TRUE(Convert(*inode, 0, 64, kShared).ok());
  EXPECT_THAT(listener_.Take(),
              ElementsAre(Begin(0, 64), Split(0, 64), Zap(0, 64, ZapFilter::kBoth), End(0, 64)));
  EXPECT_EQ(Runs(*inode), (std::vector<AttrRun>{{0, 64, kShared}}));
  EXPECT_INVARIANTS(*inode);
}

TEST_F(InodeTest, ToSharedFailsCleanlyWhenASplitFails) {
  auto inode = Make(MakeConfig(64));
  ASSERT_TRUE(Checked(*inode)->Allocate(PgOff(0), PgOff(32)).ok());
  ASSERT_TRUE(Checked(*inode)->GetPfn(PgOff(6)).ok());
  for (uint64_t p = 0; p < 64; ++p) SetTag(*inode, p, 0x2000 + p);
  const std::vector<uint64_t> sample = {3, 4, 6, 11, 12, 40};
  const Snapshot before = SnapshotOf(*inode, sample);
  listener_.Take();
  listener_.FailSplitWith(ENOMEM);

  uint64_t idx = 0;
  Status s = Convert(*inode, 4, 12, kShared, &idx);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error(), ENOMEM);
  EXPECT_EQ(idx, 4u);
  EXPECT_THAT(listener_.Take(), ElementsAre(Begin(4, 12), Split(4, 12), End(4, 12)));
  EXPECT_EQ(SnapshotOf(*inode, sample), before);
  EXPECT_EQ(inode->stats().Get("conversions"), 0u);
  EXPECT_INVARIANTS(*inode);

  listener_.FailSplitWith(0);
  ASSERT_TRUE(Convert(*inode, 4, 12, kShared).ok());
  EXPECT_EQ(inode->AttrAt(PgOff(4)), kShared);
  EXPECT_INVARIANTS(*inode);
}

TEST_F(InodeTest, UnchangedConversionReturnsEarlyWithoutCalls) {
  auto inode = Make(MakeConfig(64));
  ASSERT_TRUE(Convert(*inode, 8, 16, kShared).ok());
  listener_.Take();
  uint64_t idx = 0;
  ASSERT_TRUE(Convert(*inode, 0, 8, kPrivate, &idx).ok());
  ASSERT_TRUE(Convert(*inode, 8, 16, kShared, &idx).ok());
  ASSERT_TRUE(Convert(*inode, 10, 11, kShared, &idx).ok());
  EXPECT_EQ(idx, ~uint64_t{0});  // untouched
  EXPECT_THAT(listener_.Take(), IsEmpty());
  EXPECT_EQ(inode->stats().Get("conversions"), 1u);
  EXPECT_EQ(inode->stats().Get("invalidations"), 1u);
  // Even a failing listener is never asked.
  listener_.FailSplitWith(ENOMEM);
  ASSERT_TRUE(Convert(*inode, 8, 16, kShared).ok());
  EXPECT_THAT(listener_.Take(), IsEmpty());
  EXPECT_INVARIANTS(*inode);
}

TEST_F(InodeTest, ConversionPreservesContentsBothWays) {
  auto inode = Make(MakeConfig(32, PageOrder::k4K, kShared));
  ASSERT_TRUE(Checked(*inode)->Allocate(PgOff(0), PgOff(32)).ok());
  for (uint64_t p = 0; p < 32; ++p) SetTag(*inode, p, 0x5eed0000 + p);
  std::memset(arena_->HardwareView(inode->PfnOf(PgOff(5))) + 8, 0x77, kPageSize - 8);

  ASSERT_TRUE(Convert(*inode, 0, 32, kPrivate).ok());
  for (uint64_t p = 0; p < 32; ++p) EXPECT_EQ(Tag(*inode, p), 0x5eed0000 + p) << p;
  const std::byte* page5 = arena_->HardwareView(inode->PfnOf(PgOff(5)));
  EXPECT_EQ(std::count(page5 + 8, page5 + kPageSize, std::byte{0x77}),
            static_cast<long>(kPageSize - 8));
  // The guest writes while private; the host sees it after converting back.
  for (uint64_t p = 0; p < 32; ++p) ASSERT_TRUE(Checked(*inode)->GetPfn(PgOff(p)).ok());
  for (uint64_t p = 0; p < 32; ++p) SetTag(*inode, p, 0xfeed0000 + p);
  ASSERT_TRUE(Convert(*inode, 0, 32, kShared).ok());
  for (uint64_t p = 0; p < 32; ++p) EXPECT_EQ(Tag(*inode, p), 0xfeed0000 + p) << p;
  EXPECT_EQ(std::count(page5 + 8, page5 + kPageSize, std::byte{0x77}),
            static_cast<long>(kPageSize - 8));
  EXPECT_INVARIANTS(*inode);
}

// ---- pins and EAGAIN ----------------------------------------------------------------------

TEST_F(InodeTest, PinnedPageRefusesConversionToPrivateWithEagain) {
  auto inode = Make(MakeConfig(64, PageOrder::k4K, kShared));
  ASSERT_TRUE(Checked(*inode)->Pin(PgOff(5)).ok());
  ASSERT_TRUE(Checked(*inode)->Pin(PgOff(9)).ok());
  for (uint64_t p = 0; p < 64; ++p) SetTag(*inode, p, 0x3000 + p);
  const std::vector<uint64_t> sample = {2, 5, 9, 19};
  const Snapshot before = SnapshotOf(*inode, sample);
  listener_.Take();

  uint64_t idx = 0;
  EXPECT_EQ(Convert(*inode, 2, 20, kPrivate, &idx).error(), EAGAIN);
  EXPECT_EQ(idx, 5u);  // the first pinned page in file order
  EXPECT_EQ(Convert(*inode, 5, 6, kPrivate, &idx).error(), EAGAIN);
  EXPECT_EQ(idx, 5u);  // at the range start
  EXPECT_EQ(Convert(*inode, 6, 64, kPrivate, &idx).error(), EAGAIN);
  EXPECT_EQ(idx, 9u);
  EXPECT_EQ(Convert(*inode, 9, 10, kPrivate, &idx).error(), EAGAIN);
  EXPECT_EQ(idx, 9u);
  EXPECT_THAT(listener_.Take(), IsEmpty());  // refused before invalidating
  EXPECT_EQ(SnapshotOf(*inode, sample), before);
  EXPECT_EQ(inode->stats().Get("conversions_eagain"), 4u);
  EXPECT_INVARIANTS(*inode);

  // Neighbouring pinned pages: the index is clamped to the start of the request.
  ASSERT_TRUE(Checked(*inode)->Pin(PgOff(6)).ok());
  EXPECT_EQ(Convert(*inode, 6, 8, kPrivate, &idx).error(), EAGAIN);
  EXPECT_EQ(idx, 6u);
  EXPECT_EQ(Convert(*inode, 4, 8, kPrivate, &idx).error(), EAGAIN);
  EXPECT_EQ(idx, 5u);
  Checked(*inode)->Unpin(PgOff(6));

  // A range without pins converts; two pins need two unpins.
  ASSERT_TRUE(Convert(*inode, 10, 20, kPrivate).ok());
  ASSERT_TRUE(Checked(*inode)->Pin(PgOff(5)).ok());
  Checked(*inode)->Unpin(PgOff(5));
  EXPECT_EQ(Convert(*inode, 0, 8, kPrivate, &idx).error(), EAGAIN);
  EXPECT_EQ(idx, 5u);
  Checked(*inode)->Unpin(PgOff(5));
  ASSERT_TRUE(Convert(*inode, 0, 8, kPrivate).ok());
  Checked(*inode)->Unpin(PgOff(9));
  ASSERT_TRUE(Convert(*inode, 0, 64, kPrivate).ok());
  EXPECT_EQ(Runs(*inode), (std::vector<AttrRun>{{0, 64, kPrivate}}));
  for (uint64_t p : sample) EXPECT_EQ(Tag(*inode, p), 0x3000 + p);
  // Unpinning what is not pinned (or not present) is harmless.
  Checked(*inode)->Unpin(PgOff(9));
  Checked(*inode)->Unpin(PgOff(40));
  EXPECT_INVARIANTS(*inode);
}

TEST_F(InodeTest, PinRules) {
  auto inode = Make(MakeConfig(16, PageOrder::k4K, kShared));
  ASSERT_TRUE(Convert(*inode, 8, 16, kPrivate).ok());
  EXPECT_EQ(Checked(*inode)->Pin(PgOff(8)).error(), EFAULT);   // private
  EXPECT_EQ(Checked(*inode)->Pin(PgOff(16)).error(), EFAULT);  // past EOF
  EXPECT_EQ(inode->present_pages(), 0u);
  ASSERT_TRUE(Checked(*inode)->Pin(PgOff(3)).ok());  // allocates like a fault
  EXPECT_THAT(FolioList(*inode), ElementsAre(FolioRec{3, PageOrder::k4K, true, false, 1}));
  ASSERT_TRUE(Checked(*inode)->InjectMemoryFailure(PgOff(4)).ok());
  EXPECT_EQ(Checked(*inode)->Pin(PgOff(4)).error(), EHWPOISON);
  // Punch drops the pin with the folio.
  ASSERT_TRUE(Checked(*inode)->Punch(PgOff(3), PgOff(4)).ok());
  EXPECT_EQ(inode->present_pages(), 1u);
  ASSERT_TRUE(Convert(*inode, 0, 4, kPrivate).ok());
  EXPECT_INVARIANTS(*inode);

  auto ndm_config = MakeConfig(16, PageOrder::k4K, kShared);
  ndm_config.no_direct_map = true;
  auto ndm = Make(ndm_config);
  EXPECT_EQ(Checked(*ndm)->Pin(PgOff(0)).error(), EFAULT);  // GUP refused on AS_NO_DIRECT_MAP
  EXPECT_EQ(ndm->present_pages(), 0u);
  EXPECT_INVARIANTS(*ndm);
}

// ---- memory failure -----------------------------------------------------------------------

TEST_F(InodeTest, PoisonedFolioFailsGetPfnUntilPunched) {
  auto inode = Make(MakeConfig(16));
  ASSERT_TRUE(Checked(*inode)->GetPfn(PgOff(3)).ok());
  SetTag(*inode, 3, 0xdead);
  listener_.Take();
  ASSERT_TRUE(Checked(*inode)->InjectMemoryFailure(PgOff(3)).ok());
  EXPECT_THAT(listener_.Take(), ElementsAre(Begin(3, 4), Zap(3, 4, ZapFilter::kBoth), End(3, 4)));
  EXPECT_EQ(Checked(*inode)->GetPfn(PgOff(3)).error(), EHWPOISON);
  EXPECT_TRUE(Checked(*inode)->GetPfn(PgOff(4)).ok());
  EXPECT_THAT(FolioList(*inode), ElementsAre(FolioRec{3, PageOrder::k4K, true, true, 0},
                                             FolioRec{4, PageOrder::k4K, true, false, 0}));
  EXPECT_EQ(Tag(*inode, 3), 0xdeadu);  // not truncated
  EXPECT_EQ(inode->stats().Get("memory_failures"), 1u);
  EXPECT_INVARIANTS(*inode);

  // A page never allocated is allocated to be poisoned.
  ASSERT_TRUE(Checked(*inode)->InjectMemoryFailure(PgOff(10)).ok());
  EXPECT_EQ(Checked(*inode)->GetPfn(PgOff(10)).error(), EHWPOISON);
  EXPECT_EQ(Checked(*inode)->InjectMemoryFailure(PgOff(16)).error(), EINVAL);
  listener_.Take();

  ASSERT_TRUE(Checked(*inode)->Punch(PgOff(3), PgOff(4)).ok());
  EXPECT_THAT(listener_.Take(),
              ElementsAre(Begin(3, 4), Split(3, 4), Zap(3, 4, ZapFilter::kBoth), End(3, 4)));
  Result<Inode::PfnInfo> r = Checked(*inode)->GetPfn(PgOff(3));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->pfn, inode->PfnOf(PgOff(3)));
  EXPECT_EQ(Tag(*inode, 3), 0u);
  EXPECT_EQ(Checked(*inode)->GetPfn(PgOff(10)).error(), EHWPOISON);  // other poison stays
  EXPECT_INVARIANTS(*inode);
}

// ---- NO_DIRECT_MAP ------------------------------------------------------------------------

TEST_F(InodeTest, NoDirectMapFileHasNoDirectMapWhileItLives) {
  auto config = MakeConfig(64, PageOrder::k4K, kShared);
  config.no_direct_map = true;
  auto inode = Make(config);
  const host::PfnRange pfns = inode->pfns();
  auto all_direct_mapped = [&](bool want) {
    for (Pfn p = pfns.start; p < pfns.end(); ++p) {
      if (arena_->IsDirectMapped(p) != want) return false;
    }
    return true;
  };
  EXPECT_TRUE(all_direct_mapped(false));
  EXPECT_EQ(arena_->CountDirectMapRemoved(pfns), 64u);
  // Using the memory changes nothing; the hardware view still works.
  ASSERT_TRUE(Checked(*inode)->Allocate(PgOff(0), PgOff(64)).ok());
  ASSERT_TRUE(Checked(*inode)->GetPfn(PgOff(7)).ok());
  ASSERT_TRUE(Convert(*inode, 0, 32, kPrivate).ok());
  ASSERT_TRUE(Checked(*inode)->Punch(PgOff(0), PgOff(8)).ok());
  SetTag(*inode, 9, 42);
  EXPECT_EQ(Tag(*inode, 9), 42u);
  EXPECT_TRUE(all_direct_mapped(false));
  EXPECT_INVARIANTS(*inode);

  inode->RemoveListener(&listener_);
  inode.reset();
  EXPECT_TRUE(all_direct_mapped(true));
  EXPECT_EQ(arena_->CountDirectMapRemoved(pfns), 0u);
  // A normal file next to it keeps its direct map.
  auto normal = Make(MakeConfig(16));
  EXPECT_TRUE(arena_->IsDirectMapped(normal->PfnOf(PgOff(0))));
  EXPECT_INVARIANTS(*normal);
}

// A real access check without a signal: the host kernel validates the address.
bool Readable(const void* p) {
  char byte;
  iovec local{&byte, 1};
  iovec remote{const_cast<void*>(p), 1};
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1;
}

TEST_F(InodeTest, KernelAccessUsesTheDirectMapOrALocalMapping) {
  auto inode = Make(MakeConfig(16));
  SetTag(*inode, 3, 0x31);
  std::byte* seen = nullptr;
  ASSERT_TRUE(inode
                  ->WithKernelMapping(PgOff(3), 2,
                                      [&](std::byte* p) {
                                        seen = p;
                                        uint64_t v;
                                        std::memcpy(&v, p, sizeof v);
                                        EXPECT_EQ(v, 0x31u);
                                        v = 0x41;
                                        std::memcpy(p + kPageSize, &v, sizeof v);
                                      })
                  .ok());
  EXPECT_EQ(seen, arena_->DirectMap(inode->PfnOf(PgOff(3))));
  EXPECT_EQ(Tag(*inode, 4), 0x41u);
  EXPECT_EQ(inode->WithKernelMapping(PgOff(3), 0, [](std::byte*) { ADD_FAILURE(); }).error(),
            EINVAL);
  EXPECT_EQ(inode->WithKernelMapping(PgOff(15), 2, [](std::byte*) { ADD_FAILURE(); }).error(),
            EINVAL);
  // A length that wraps around the end of the page index space.
  EXPECT_EQ(
      inode->WithKernelMapping(PgOff(1), ~uint64_t{0}, [](std::byte*) { ADD_FAILURE(); }).error(),
      EINVAL);
  EXPECT_EQ(
      inode->WithKernelMapping(PgOff(~uint64_t{0}), 2, [](std::byte*) { ADD_FAILURE(); }).error(),
      EINVAL);
  EXPECT_EQ(inode->WithKernelMapping(PgOff(16), 1, [](std::byte*) { ADD_FAILURE(); }).error(),
            EINVAL);

  // NO_DIRECT_MAP: a temporary mapping of the same memory, gone afterwards.
  auto config = MakeConfig(16);
  config.no_direct_map = true;
  auto ndm = Make(config);
  SetTag(*ndm, 5, 0x51);
  seen = nullptr;
  ASSERT_TRUE(ndm->WithKernelMapping(PgOff(5), 1,
                                     [&](std::byte* p) {
                                       seen = p;
                                       EXPECT_TRUE(Readable(p));
                                       uint64_t v;
                                       std::memcpy(&v, p, sizeof v);
                                       EXPECT_EQ(v, 0x51u);
                                       v = 0x52;
                                       std::memcpy(p, &v, sizeof v);
                                     })
                  .ok());
  ASSERT_NE(seen, nullptr);
  EXPECT_NE(seen, arena_->DirectMap(ndm->PfnOf(PgOff(5))));
  EXPECT_FALSE(Readable(seen));
  EXPECT_FALSE(Readable(arena_->DirectMap(ndm->PfnOf(PgOff(5)))));
  EXPECT_EQ(Tag(*ndm, 5), 0x52u);
  EXPECT_FALSE(arena_->IsDirectMapped(ndm->PfnOf(PgOff(5))));
  EXPECT_INVARIANTS(*ndm);
  EXPECT_INVARIANTS(*inode);
}

// ---- huge pages ---------------------------------------------------------------------------

class HugeInodeTest : public InodeTest, public ::testing::WithParamInterface<PageOrder> {
 protected:
  PageOrder order() const { return GetParam(); }
  uint64_t huge() const { return PagesIn(order()); }
  // Two huge pages, private.
  std::shared_ptr<Inode> MakeHuge() { return Make(MakeConfig(2 * huge(), order())); }
};

TEST_P(HugeInodeTest, GetPfnAllocatesOneHugeFolioOverAPrivateRange) {
  auto inode = MakeHuge();
  Result<Inode::PfnInfo> r = Checked(*inode)->GetPfn(PgOff(huge() + 3));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->pfn, inode->PfnOf(PgOff(huge() + 3)));
  EXPECT_EQ(r->max_order, order());
  EXPECT_THAT(FolioList(*inode), ElementsAre(FolioRec{huge(), order(), true, false, 0}));
  EXPECT_EQ(inode->present_pages(), huge());
  EXPECT_EQ(inode->folio_count(), 1u);
  EXPECT_EQ(inode->stats().Get("folios_allocated"), 1u);
  EXPECT_EQ(inode->stats().Get("folio_splits"), 0u);
  // Any page of the folio: same folio, its own PFN.
  r = Checked(*inode)->GetPfn(PgOff(2 * huge() - 1));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->pfn, inode->PfnOf(PgOff(2 * huge() - 1)));
  EXPECT_EQ(r->max_order, order());
  EXPECT_EQ(inode->folio_count(), 1u);
  EXPECT_TRUE(IsAlignedTo(inode->PfnOf(PgOff(huge())), order()));
  EXPECT_THAT(listener_.calls(), IsEmpty());
  EXPECT_INVARIANTS(*inode);
}

TEST_P(HugeInodeTest, GetPfnAllocates4KFoliosWhenTheRangeIsNotAllPrivate) {
  auto inode = MakeHuge();
  ASSERT_TRUE(Convert(*inode, 5, 6, kShared).ok());  // no folio yet: nothing to split
  EXPECT_EQ(inode->stats().Get("folio_splits"), 0u);
  Result<Inode::PfnInfo> r = Checked(*inode)->GetPfn(PgOff(7));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->max_order, PageOrder::k4K);
  EXPECT_EQ(r->pfn, inode->PfnOf(PgOff(7)));
  EXPECT_EQ(inode->present_pages(), huge());  // the whole huge page, as 4K folios
  EXPECT_EQ(inode->folio_count(), huge());
  EXPECT_EQ(inode->stats().Get("folio_splits"), 1u);  // split when fresh
  std::vector<FolioRec> folios = FolioList(*inode);
  ASSERT_EQ(folios.size(), huge());
  EXPECT_EQ(folios[7], (FolioRec{7, PageOrder::k4K, true, false, 0}));
  EXPECT_EQ(folios[8], (FolioRec{8, PageOrder::k4K, false, false, 0}));
  EXPECT_EQ(folios.back().start, huge() - 1);
  // The other huge page is all private: a huge folio.
  r = Checked(*inode)->GetPfn(PgOff(huge()));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->max_order, order());
  EXPECT_INVARIANTS(*inode);
}

TEST_P(HugeInodeTest, ConvertingOnePageSplitsAndConvertingBackMerges) {
  auto inode = MakeHuge();
  ASSERT_TRUE(Checked(*inode)->GetPfn(PgOff(0)).ok());
  const std::vector<uint64_t> pages = {0, 1, 5, 6, huge() / 2, huge() - 1};
  for (uint64_t p : pages) SetTag(*inode, p, 0x4000 + p);
  listener_.Take();

  ASSERT_TRUE(Convert(*inode, 5, 6, kShared).ok());
  EXPECT_THAT(listener_.Take(),
              ElementsAre(Begin(5, 6), Split(5, 6), Zap(5, 6, ZapFilter::kPrivate), End(5, 6)));
  EXPECT_EQ(inode->stats().Get("folio_splits"), 1u);
  EXPECT_EQ(inode->folio_count(), huge());
  EXPECT_EQ(inode->present_pages(), huge());
  std::vector<FolioRec> folios = FolioList(*inode);
  ASSERT_EQ(folios.size(), huge());
  for (uint64_t p : pages) EXPECT_EQ(folios[p], (FolioRec{p, PageOrder::k4K, true, false, 0}));
  Result<Inode::PfnInfo> r = Checked(*inode)->GetPfn(PgOff(5));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->max_order, PageOrder::k4K);
  for (uint64_t p : pages) EXPECT_EQ(Tag(*inode, p), 0x4000 + p) << p;
  EXPECT_INVARIANTS(*inode);

  ASSERT_TRUE(Convert(*inode, 5, 6, kPrivate).ok());
  EXPECT_THAT(listener_.Take(), ElementsAre(Begin(5, 6), Zap(5, 6, ZapFilter::kShared), End(5, 6)));
  EXPECT_EQ(inode->stats().Get("folio_merges"), 1u);
  EXPECT_THAT(FolioList(*inode), ElementsAre(FolioRec{0, order(), true, false, 0}));
  r = Checked(*inode)->GetPfn(PgOff(5));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->max_order, order());
  for (uint64_t p : pages) EXPECT_EQ(Tag(*inode, p), 0x4000 + p) << p;
  EXPECT_EQ(Runs(*inode), (std::vector<AttrRun>{{0, 2 * huge(), kPrivate}}));
  EXPECT_INVARIANTS(*inode);
}

TEST_P(HugeInodeTest, ConversionAcrossTwoHugeFoliosSplitsBoth) {
  auto inode = MakeHuge();
  ASSERT_TRUE(Checked(*inode)->GetPfn(PgOff(0)).ok());
  ASSERT_TRUE(Checked(*inode)->GetPfn(PgOff(huge())).ok());
  EXPECT_EQ(inode->folio_count(), 2u);
  ASSERT_TRUE(Convert(*inode, huge() - 1, huge() + 1, kShared).ok());
  EXPECT_EQ(inode->stats().Get("folio_splits"), 2u);
  EXPECT_EQ(inode->folio_count(), 2 * huge());
  EXPECT_INVARIANTS(*inode);
  ASSERT_TRUE(Convert(*inode, huge() - 1, huge() + 1, kPrivate).ok());
  EXPECT_EQ(inode->stats().Get("folio_merges"), 2u);
  EXPECT_THAT(FolioList(*inode), ElementsAre(FolioRec{0, order(), true, false, 0},
                                             FolioRec{huge(), order(), true, false, 0}));
  EXPECT_INVARIANTS(*inode);
}

TEST_P(HugeInodeTest, NoMergeWhileAPageOfTheHugeRangeIsShared) {
  auto inode = MakeHuge();
  ASSERT_TRUE(Checked(*inode)->GetPfn(PgOff(0)).ok());
  ASSERT_TRUE(Convert(*inode, 5, 7, kShared).ok());
  ASSERT_TRUE(Convert(*inode, 5, 6, kPrivate).ok());  // page 6 still shared
  EXPECT_EQ(inode->stats().Get("folio_merges"), 0u);
  EXPECT_EQ(inode->folio_count(), huge());
  ASSERT_TRUE(Convert(*inode, 6, 7, kPrivate).ok());
  EXPECT_EQ(inode->stats().Get("folio_merges"), 1u);
  EXPECT_EQ(inode->folio_count(), 1u);
  EXPECT_INVARIANTS(*inode);
}

TEST_P(HugeInodeTest, MergeFaultLeavesTheFolioSplitButValid) {
  auto inode = MakeHuge();
  ASSERT_TRUE(Checked(*inode)->GetPfn(PgOff(0)).ok());
  SetTag(*inode, 5, 0x55);
  ASSERT_TRUE(Convert(*inode, 5, 6, kShared).ok());
  {
    ScopedFault fault(kFolioMergeFault, 1);
    const uint64_t fired = kFolioMergeFault.fired();
    ASSERT_TRUE(Convert(*inode, 5, 6, kPrivate).ok());
    EXPECT_EQ(kFolioMergeFault.fired(), fired + 1);
  }
  EXPECT_EQ(inode->stats().Get("folio_merges"), 0u);
  EXPECT_EQ(inode->folio_count(), huge());
  EXPECT_EQ(Runs(*inode), (std::vector<AttrRun>{{0, 2 * huge(), kPrivate}}));
  Result<Inode::PfnInfo> r = Checked(*inode)->GetPfn(PgOff(0));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->max_order, PageOrder::k4K);
  EXPECT_EQ(Tag(*inode, 5), 0x55u);
  EXPECT_INVARIANTS(*inode);
  // The next conversion in that huge range merges it.
  ASSERT_TRUE(Convert(*inode, 9, 10, kShared).ok());
  ASSERT_TRUE(Convert(*inode, 9, 10, kPrivate).ok());
  EXPECT_EQ(inode->stats().Get("folio_merges"), 1u);
  EXPECT_EQ(inode->folio_count(), 1u);
  EXPECT_INVARIANTS(*inode);
}

TEST_P(HugeInodeTest, FailedSplitOnToSharedKeepsTheHugeFolio) {
  auto inode = MakeHuge();
  ASSERT_TRUE(Checked(*inode)->GetPfn(PgOff(0)).ok());
  SetTag(*inode, 5, 0x66);
  const Snapshot before = SnapshotOf(*inode, {0, 5, huge() - 1});
  listener_.Take();
  listener_.FailSplitWith(ENOMEM);
  uint64_t idx = 0;
  EXPECT_EQ(Convert(*inode, 5, 6, kShared, &idx).error(), ENOMEM);
  EXPECT_EQ(idx, 5u);
  EXPECT_THAT(listener_.Take(), ElementsAre(Begin(5, 6), Split(5, 6), End(5, 6)));
  EXPECT_EQ(SnapshotOf(*inode, {0, 5, huge() - 1}), before);
  EXPECT_THAT(FolioList(*inode), ElementsAre(FolioRec{0, order(), true, false, 0}));
  EXPECT_INVARIANTS(*inode);
}

TEST_P(HugeInodeTest, PunchOfAWholeHugePageFreesTheFolio) {
  auto inode = MakeHuge();
  // (GetPfn rather than Allocate: fallocate would commit 2 GiB for the 1G case.)
  ASSERT_TRUE(Checked(*inode)->GetPfn(PgOff(0)).ok());
  ASSERT_TRUE(Checked(*inode)->GetPfn(PgOff(huge())).ok());
  SetTag(*inode, huge() + 1, 0x77);
  SetTag(*inode, 1, 0x78);
  listener_.Take();
  ASSERT_TRUE(Checked(*inode)->Punch(PgOff(huge()), PgOff(2 * huge())).ok());
  EXPECT_THAT(listener_.Take(),
              ElementsAre(Begin(huge(), 2 * huge()), Split(huge(), 2 * huge()),
                          Zap(huge(), 2 * huge(), ZapFilter::kBoth), End(huge(), 2 * huge())));
  EXPECT_THAT(FolioList(*inode), ElementsAre(FolioRec{0, order(), true, false, 0}));
  EXPECT_EQ(Tag(*inode, huge() + 1), 0u);
  EXPECT_EQ(Tag(*inode, 1), 0x78u);
  // Split folios are punched whole too.
  ASSERT_TRUE(Convert(*inode, 3, 4, kShared).ok());
  ASSERT_TRUE(Checked(*inode)->Punch(PgOff(0), PgOff(huge())).ok());
  EXPECT_EQ(inode->present_pages(), 0u);
  EXPECT_EQ(Runs(*inode),
            (std::vector<AttrRun>{{0, 3, kPrivate}, {3, 4, kShared}, {4, 2 * huge(), kPrivate}}));
  EXPECT_INVARIANTS(*inode);
}

TEST_P(HugeInodeTest, PoisonOfAHugeFolioCoversTheWholeFolio) {
  auto inode = MakeHuge();
  ASSERT_TRUE(Checked(*inode)->GetPfn(PgOff(0)).ok());
  listener_.Take();
  ASSERT_TRUE(Checked(*inode)->InjectMemoryFailure(PgOff(7)).ok());
  EXPECT_THAT(listener_.Take(),
              ElementsAre(Begin(0, huge()), Zap(0, huge(), ZapFilter::kBoth), End(0, huge())));
  EXPECT_EQ(Checked(*inode)->GetPfn(PgOff(huge() - 1)).error(), EHWPOISON);
  EXPECT_TRUE(Checked(*inode)->GetPfn(PgOff(huge())).ok());
  // Split for a conversion, every 4K folio is poisoned; it never merges back.
  ASSERT_TRUE(Convert(*inode, 7, 8, kShared).ok());
  EXPECT_EQ(Checked(*inode)->GetPfn(PgOff(100)).error(), EHWPOISON);
  ASSERT_TRUE(Convert(*inode, 7, 8, kPrivate).ok());
  EXPECT_EQ(inode->stats().Get("folio_merges"), 0u);
  EXPECT_INVARIANTS(*inode);
  ASSERT_TRUE(Checked(*inode)->Punch(PgOff(0), PgOff(huge())).ok());
  Result<Inode::PfnInfo> r = Checked(*inode)->GetPfn(PgOff(7));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->max_order, order());
  EXPECT_INVARIANTS(*inode);
}

INSTANTIATE_TEST_SUITE_P(Orders, HugeInodeTest, ::testing::Values(PageOrder::k2M, PageOrder::k1G),
                         [](const ::testing::TestParamInfo<PageOrder>& info) {
                           return std::string(PageOrderName(info.param));
                         });

// ---- host mappings ------------------------------------------------------------------------

TEST_F(InodeTest, MmapNeedsTheMmapFlagAndASharedMapping) {
  auto nommap = Make(MakeConfig(4, PageOrder::k4K, kShared, /*flags=*/0));
  EXPECT_EQ(Checked(*nommap)->Mmap(nullptr, kPageSize, PROT_READ, MAP_SHARED, 0).error(), ENODEV);
  auto inode = Make(MakeConfig(4, PageOrder::k4K, kShared));
  EXPECT_EQ(Checked(*inode)->Mmap(nullptr, kPageSize, PROT_READ, MAP_PRIVATE, 0).error(), EINVAL);
  EXPECT_EQ(Checked(*inode)->Mmap(nullptr, 0, PROT_READ, MAP_SHARED, 0).error(), EINVAL);
  EXPECT_EQ(Checked(*inode)->Mmap(nullptr, kPageSize, PROT_READ, MAP_SHARED, 100).error(), EINVAL);
  EXPECT_EQ(inode->user_mapping_count(), 0u);
  EXPECT_INVARIANTS(*inode);
}

TEST_F(InodeTest, SharedPagesOfAMappingAreTheArenaPages) {
  auto inode = Make(MakeConfig(16, PageOrder::k4K, kShared));
  std::byte* base = Map(*inode, 16);
  EXPECT_EQ(inode->user_mapping_count(), 1u);
  EXPECT_INVARIANTS(*inode);
  // First touch reads zero.
  EXPECT_EQ(Read64(PageAddr(base, 2)).value, 0u);
  ASSERT_FALSE(Write64(PageAddr(base, 3), 0x1234).sigbus);
  EXPECT_EQ(Tag(*inode, 3), 0x1234u);
  SetTag(*inode, 4, 0x4321);
  Touch t = Read64(PageAddr(base, 4));
  ASSERT_FALSE(t.sigbus);
  EXPECT_EQ(t.value, 0x4321u);
  EXPECT_EQ(inode->PageAtAddress(PageAddr(base, 4) + 17), PgOff(4));
  EXPECT_EQ(inode->PageAtAddress(PageAddr(base, 16)), std::nullopt);
  // A second mapping at an offset sees the same pages.
  std::byte* second = Map(*inode, 4, /*first_page=*/3);
  EXPECT_EQ(inode->user_mapping_count(), 2u);
  EXPECT_EQ(Read64(second).value, 0x1234u);
  EXPECT_EQ(inode->PageAtAddress(PageAddr(second, 1)), PgOff(4));
  EXPECT_INVARIANTS(*inode);
  Checked(*inode)->Munmap(second, 4 * kPageSize);
  Checked(*inode)->Munmap(base, 16 * kPageSize);
  EXPECT_EQ(inode->user_mapping_count(), 0u);
}

TEST_F(InodeTest, PrivatePagesAndPagesPastEofSigbus) {
  auto inode = Make(MakeConfig(16, PageOrder::k4K, kShared));
  std::byte* base = Map(*inode, 20);  // 4 pages past EOF
  ASSERT_FALSE(Write64(PageAddr(base, 2), 0xaa).sigbus);
  ASSERT_TRUE(Convert(*inode, 2, 4, kPrivate).ok());
  EXPECT_INVARIANTS(*inode);

  Touch t = Read64(PageAddr(base, 2));
  EXPECT_TRUE(t.sigbus);
  EXPECT_EQ(t.code, BUS_ADRERR);
  t = Write64(PageAddr(base, 3), 1);
  EXPECT_TRUE(t.sigbus);
  EXPECT_EQ(t.code, BUS_ADRERR);
  EXPECT_EQ(Tag(*inode, 3), 0u);  // the write never landed
  EXPECT_FALSE(Read64(PageAddr(base, 4)).sigbus);
  EXPECT_FALSE(Read64(PageAddr(base, 1)).sigbus);
  for (uint64_t p : {16, 17, 19}) {
    t = Read64(PageAddr(base, p));
    EXPECT_TRUE(t.sigbus) << p;
    EXPECT_EQ(t.code, BUS_ADRERR) << p;
  }
  // Back to shared: the contents are there again.
  ASSERT_TRUE(Convert(*inode, 2, 4, kShared).ok());
  t = Read64(PageAddr(base, 2));
  ASSERT_FALSE(t.sigbus);
  EXPECT_EQ(t.value, 0xaau);
  EXPECT_TRUE(Read64(PageAddr(base, 16)).sigbus);
  EXPECT_INVARIANTS(*inode);

  // A mapping of a private file SIGBUSes everywhere.
  auto priv = Make(MakeConfig(4));
  std::byte* pbase = Map(*priv, 4);
  for (uint64_t p = 0; p < 4; ++p) EXPECT_TRUE(Read64(PageAddr(pbase, p)).sigbus) << p;
  EXPECT_INVARIANTS(*priv);
  Checked(*priv)->Munmap(pbase, 4 * kPageSize);
  Checked(*inode)->Munmap(base, 20 * kPageSize);
}

TEST_F(InodeTest, PoisonedSharedPageRaisesMemoryFailureSigbus) {
  auto inode = Make(MakeConfig(16, PageOrder::k4K, kShared));
  std::byte* base = Map(*inode, 16);
  ASSERT_FALSE(Write64(PageAddr(base, 6), 0x66).sigbus);
  // Our handler was installed (SetUp) before the injection: it sees the kernel's code.
  ASSERT_TRUE(Checked(*inode)->InjectMemoryFailure(PgOff(6)).ok());
  Touch t = Read64(PageAddr(base, 6));
  EXPECT_TRUE(t.sigbus);
  EXPECT_EQ(t.code, BUS_MCEERR_AR);
  EXPECT_FALSE(Read64(PageAddr(base, 7)).sigbus);
  EXPECT_EQ(Read64(PageAddr(base, 5)).value, 0u);
  EXPECT_INVARIANTS(*inode);
  // A private page is plain BUS_ADRERR.
  ASSERT_TRUE(Convert(*inode, 8, 9, kPrivate).ok());
  t = Read64(PageAddr(base, 8));
  EXPECT_TRUE(t.sigbus);
  EXPECT_EQ(t.code, BUS_ADRERR);
  // Punched, the page is back and reads zero.
  ASSERT_TRUE(Checked(*inode)->Punch(PgOff(6), PgOff(7)).ok());
  t = Read64(PageAddr(base, 6));
  ASSERT_FALSE(t.sigbus);
  EXPECT_EQ(t.value, 0u);
  EXPECT_INVARIANTS(*inode);
  Checked(*inode)->Munmap(base, 16 * kPageSize);
}

TEST_F(InodeTest, PunchOfAMappedSharedPageReadsZeroThroughTheMapping) {
  auto inode = Make(MakeConfig(8, PageOrder::k4K, kShared));
  std::byte* base = Map(*inode, 8);
  for (uint64_t p = 0; p < 8; ++p) ASSERT_FALSE(Write64(PageAddr(base, p), 0x900 + p).sigbus);
  ASSERT_TRUE(Checked(*inode)->Punch(PgOff(2), PgOff(4)).ok());
  EXPECT_EQ(Read64(PageAddr(base, 2)).value, 0u);
  EXPECT_EQ(Read64(PageAddr(base, 3)).value, 0u);
  EXPECT_EQ(Read64(PageAddr(base, 4)).value, 0x904u);
  EXPECT_INVARIANTS(*inode);
  Checked(*inode)->Munmap(base, 8 * kPageSize);
}

TEST_F(InodeTest, MunmapOfTheMiddleSplitsTheMapping) {
  auto inode = Make(MakeConfig(16, PageOrder::k4K, kShared));
  std::byte* base = Map(*inode, 16);
  ASSERT_EQ(inode->user_mapping_count(), 1u);
  Checked(*inode)->Munmap(PageAddr(base, 4), 4 * kPageSize);
  EXPECT_EQ(inode->user_mapping_count(), 2u);
  EXPECT_EQ(inode->PageAtAddress(PageAddr(base, 3)), PgOff(3));
  EXPECT_EQ(inode->PageAtAddress(PageAddr(base, 4)), std::nullopt);
  EXPECT_EQ(inode->PageAtAddress(PageAddr(base, 7)), std::nullopt);
  EXPECT_EQ(inode->PageAtAddress(PageAddr(base, 8)), PgOff(8));
  EXPECT_EQ(inode->PageAtAddress(PageAddr(base, 15)), PgOff(15));
  EXPECT_INVARIANTS(*inode);
  // The two halves still work and still follow conversions.
  ASSERT_FALSE(Write64(PageAddr(base, 9), 0x99).sigbus);
  EXPECT_EQ(Tag(*inode, 9), 0x99u);
  ASSERT_FALSE(Write64(PageAddr(base, 1), 0x11).sigbus);
  EXPECT_EQ(Tag(*inode, 1), 0x11u);
  ASSERT_TRUE(Convert(*inode, 0, 16, kPrivate).ok());
  EXPECT_TRUE(Read64(PageAddr(base, 9)).sigbus);
  EXPECT_TRUE(Read64(PageAddr(base, 1)).sigbus);
  EXPECT_INVARIANTS(*inode);
  ASSERT_TRUE(Convert(*inode, 0, 16, kShared).ok());
  EXPECT_EQ(Read64(PageAddr(base, 9)).value, 0x99u);
  EXPECT_INVARIANTS(*inode);
  // Unmapping a range that straddles both halves and the hole.
  Checked(*inode)->Munmap(PageAddr(base, 2), 8 * kPageSize);
  EXPECT_EQ(inode->user_mapping_count(), 2u);
  EXPECT_EQ(inode->PageAtAddress(PageAddr(base, 1)), PgOff(1));
  EXPECT_EQ(inode->PageAtAddress(PageAddr(base, 9)), std::nullopt);
  EXPECT_EQ(inode->PageAtAddress(PageAddr(base, 10)), PgOff(10));
  EXPECT_INVARIANTS(*inode);
  // Unmapping the head of one part shrinks it without splitting.
  Checked(*inode)->Munmap(PageAddr(base, 10), kPageSize);
  EXPECT_EQ(inode->user_mapping_count(), 2u);
  EXPECT_EQ(inode->PageAtAddress(PageAddr(base, 11)), PgOff(11));
  Checked(*inode)->Munmap(base, 16 * kPageSize);
  EXPECT_EQ(inode->user_mapping_count(), 0u);
  EXPECT_INVARIANTS(*inode);
}

}  // namespace
}  // namespace cocomem::gmem
