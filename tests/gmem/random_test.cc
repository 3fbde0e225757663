// Seeded random operation sequences on an Inode, checked after every step against a plain
// per-page reference model: attributes, folios (order, uptodate, poison, pins), page
// contents, errnos, invalidation calls, split/merge counts, host mappings and
// CheckInvariants().
//
// Reproduce a failure with COCOMEM_SEED=<seed printed at start>.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_seed.h"
#include <signal.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "gmem/inode.h"
#include "gmem_test_util.h"

namespace cocomem::gmem {
namespace {

using ::testing::IsEmpty;
using namespace ::cocomem::gmem::test;  // NOLINT: test helpers

using ::cocomem::test::BaseSeed;

// ---- the reference model ------------------------------------------------------------------

enum class Block { kAbsent, kHuge, kSplit };  // kSplit: present as 4K folios

struct Page {
  MemAttr attr;
  uint64_t tag = 0;  // first 8 bytes of the page
  bool uptodate = false;
  bool poisoned = false;
  uint32_t pins = 0;
};

struct Mapping {
  std::byte* base;
  uint64_t first;
  uint64_t npages;
};

class Model {
 public:
  Model(uint64_t npages, PageOrder o, MemAttr initial)
      : n(npages),
        order(o),
        bp(PagesIn(o)),
        pages(npages, Page{initial}),
        blocks(npages / PagesIn(o), Block::kAbsent) {}

  uint64_t BlockOf(uint64_t p) const { return p / bp; }
  bool AllAttr(uint64_t s, uint64_t e, MemAttr a) const {
    for (uint64_t p = s; p < e; ++p) {
      if (pages[p].attr != a) return false;
    }
    return true;
  }
  ZapFilter FilterOver(uint64_t s, uint64_t e) const {
    ZapFilter f = ZapFilter::kNone;
    for (uint64_t p = s; p < e; ++p) f = f | FilterFor(pages[p].attr);
    return f;
  }
  bool IsHuge(uint64_t p) const {
    return order != PageOrder::k4K && blocks[BlockOf(p)] == Block::kHuge;
  }
  PageOrder FolioOrder(uint64_t p) const { return IsHuge(p) ? order : PageOrder::k4K; }
  // The folio holding p: [first, second).
  std::pair<uint64_t, uint64_t> FolioRange(uint64_t p) const {
    if (IsHuge(p)) return {BlockOf(p) * bp, BlockOf(p) * bp + bp};
    return {p, p + 1};
  }
  bool Present(uint64_t p) const { return blocks[BlockOf(p)] != Block::kAbsent; }

  // GetOrAllocFolioLocked for one page's block.
  void EnsureAllocated(uint64_t p) {
    const uint64_t b = BlockOf(p);
    if (blocks[b] != Block::kAbsent) return;
    const uint64_t s = b * bp, e = s + bp;
    if (order == PageOrder::k4K || AllAttr(s, e, MemAttr::kPrivate)) {
      blocks[b] = order == PageOrder::k4K ? Block::kSplit : Block::kHuge;
    } else {
      blocks[b] = Block::kSplit;  // a fresh huge page over shared pages is split at once
      ++splits;
    }
    for (uint64_t q = s; q < e; ++q) {
      pages[q].uptodate = false;
      pages[q].poisoned = false;
      pages[q].pins = 0;
    }
  }
  void ForFolio(uint64_t p, const std::function<void(Page&)>& fn) {
    auto [s, e] = FolioRange(p);
    for (uint64_t q = s; q < e; ++q) fn(pages[q]);
  }

  std::vector<FolioRec> Folios() const {
    std::vector<FolioRec> out;
    for (uint64_t b = 0; b < blocks.size(); ++b) {
      const uint64_t s = b * bp;
      if (blocks[b] == Block::kHuge) {
        out.push_back({s, order, pages[s].uptodate, pages[s].poisoned, pages[s].pins});
      } else if (blocks[b] == Block::kSplit) {
        for (uint64_t q = s; q < s + bp; ++q) {
          out.push_back({q, PageOrder::k4K, pages[q].uptodate, pages[q].poisoned, pages[q].pins});
        }
      }
    }
    return out;
  }
  std::vector<AttrRun> Runs() const {
    std::vector<AttrRun> out;
    uint64_t s = 0;
    for (uint64_t p = 1; p <= n; ++p) {
      if (p == n || pages[p].attr != pages[s].attr) {
        out.emplace_back(s, p, pages[s].attr);
        s = p;
      }
    }
    return out;
  }
  uint64_t FolioCount() const {
    uint64_t c = 0;
    for (Block b : blocks) c += b == Block::kAbsent ? 0 : b == Block::kHuge ? 1 : bp;
    return c;
  }
  uint64_t PresentPages() const {
    uint64_t c = 0;
    for (Block b : blocks) c += b == Block::kAbsent ? 0 : bp;
    return c;
  }

  const uint64_t n;
  const PageOrder order;
  const uint64_t bp;  // pages per block (folio allocation unit)
  std::vector<Page> pages;
  std::vector<Block> blocks;
  uint64_t splits = 0, merges = 0;
  std::vector<Mapping> mappings;
  std::set<uint64_t> touched;  // pages whose tag was ever made non-zero
};

// ---- the test -----------------------------------------------------------------------------

struct RandomConfig {
  const char* name;
  PageOrder order;
  uint64_t npages;
  int rounds;
  int steps;
};

void PrintTo(const RandomConfig& c, std::ostream* os) {
  *os << c.name;
}

class RandomOps {
 public:
  RandomOps(host::Arena& arena, const RandomConfig& cfg, uint64_t seed)
      : arena_(arena),
        cfg_(cfg),
        rng_(seed),
        model_(cfg.npages, cfg.order,
               cfg.order == PageOrder::k4K && Coin(rng_) ? MemAttr::kShared : MemAttr::kPrivate) {
    inode_ = MakeInode(arena_, MakeConfig(cfg.npages, cfg.order, model_.pages[0].attr));
    inode_->AddListener(&listener_);
  }
  // How often each kind of step and outcome happened ("to private [,) (EAGAIN at )" ...).
  const std::map<std::string, int>& tally() const { return tally_; }

  ~RandomOps() {
    for (const Mapping& m : model_.mappings) inode_->Munmap(m.base, m.npages << kPageShift);
    inode_->RemoveListener(&listener_);
  }

  void Run() {
    CheckAll();
    for (int step = 0; step < cfg_.steps && !::testing::Test::HasFailure(); ++step) {
      step_ = step;
      SCOPED_TRACE("step " + std::to_string(step));
      const std::string what = Step();
      SCOPED_TRACE("after " + what);
      Tally(what);
      CheckAll();
    }
    tally_["(folio splits)"] += static_cast<int>(model_.splits);
    tally_["(folio merges)"] += static_cast<int>(model_.merges);
  }

 private:
  static bool Coin(std::mt19937_64& rng) { return (rng() & 1) != 0; }
  uint64_t Uniform(uint64_t lo, uint64_t hi) {  // [lo, hi]
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }
  // A 4K-granular range inside the file, mostly short.
  std::pair<uint64_t, uint64_t> RandomRange() {
    const uint64_t n = model_.n;
    if (model_.bp > 1) {
      // Huge files: most conversions hit a small window at the start of a huge page, or a
      // whole huge page, so that split huge pages also become entirely private again and
      // merge.
      const int kind = static_cast<int>(Uniform(0, 9));
      const uint64_t bs = Uniform(0, model_.blocks.size() - 1) * model_.bp;
      constexpr uint64_t kWindow = 16;
      if (kind < 2) return {bs, bs + kWindow};
      if (kind < 5) {
        const uint64_t ws = bs + Uniform(0, kWindow - 1);
        return {ws, Uniform(ws + 1, bs + kWindow)};
      }
      if (kind < 6) return {bs, bs + model_.bp};
    }
    const uint64_t s = Uniform(0, n - 1);
    const int kind = static_cast<int>(Uniform(0, 9));
    uint64_t len = kind < 6 ? Uniform(1, 8) : kind < 9 ? Uniform(1, 64) : Uniform(1, n - s);
    return {s, std::min(n, s + len)};
  }
  uint64_t NewTag() {
    return 0x7a90000000000000ull | (uint64_t{static_cast<uint32_t>(step_)} << 16) | ++tag_seq_;
  }
  void Expect(const std::vector<Call>& calls) { expected_calls_ = calls; }
  static std::string Range(uint64_t s, uint64_t e) {
    return "[" + std::to_string(s) + "," + std::to_string(e) + ")";
  }

  std::string Step() {
    const int op = static_cast<int>(Uniform(0, 99));
    if (op < 6) return OpAllocate();
    if (op < 14) return OpPunch();
    if (op < 40) return OpConvert();
    // Pins block merging too: huge files unpin as often as they pin.
    if (op < 48) return model_.bp == 1 || Coin(rng_) ? OpPin() : OpUnpin();
    if (op < 53) return OpUnpin();
    // A poisoned huge page never merges again until punched: poison huge files less.
    if (op < 56) return model_.bp == 1 || Uniform(0, 2) == 0 ? OpPoison() : OpConvert();
    if (op < 62) return OpMmap();
    if (op < 67) return OpMunmap();
    if (op < 77) return OpHostRead();
    if (op < 86) return OpHostWrite();
    if (op < 91) return OpGuestWrite();
    return OpGetPfn();
  }

  std::string OpAllocate() {
    const uint64_t bp = model_.bp;
    if (cfg_.order == PageOrder::k1G) return OpGetPfn();  // fallocate would commit 1 GiB
    const uint64_t nb = model_.blocks.size();
    uint64_t s, e;
    if (bp == 1) {
      std::tie(s, e) = RandomRange();
    } else {
      const uint64_t b = Uniform(0, nb - 1);
      s = b * bp;
      e = Uniform(b + 1, nb) * bp;
    }
    Expect({});
    Status st = inode_->Allocate(PgOff(s), PgOff(e));
    EXPECT_TRUE(st.ok()) << st.error();
    for (uint64_t p = s; p < e; p += bp) model_.EnsureAllocated(p);
    return "allocate " + Range(s, e);
  }

  std::string OpPunch() {
    const uint64_t bp = model_.bp, n = model_.n;
    uint64_t s, e;
    if (bp == 1) {
      s = Uniform(0, n + 3);
      e = s + Uniform(1, 16);
    } else {
      const uint64_t b = Uniform(0, model_.blocks.size());  // may start at EOF
      s = b * bp;
      e = s + Uniform(1, 2) * bp;
    }
    const uint64_t ce = std::min(e, n);
    if (s < ce) {
      Expect({Begin(s, ce), Split(s, ce), Zap(s, ce, ZapFilter::kBoth), End(s, ce)});
    } else {
      Expect({});
    }
    Status st = inode_->Punch(PgOff(s), PgOff(e));
    EXPECT_TRUE(st.ok()) << st.error();
    for (uint64_t p = s; p < ce; ++p) {
      Page& pg = model_.pages[p];
      pg.tag = 0;
      pg.uptodate = pg.poisoned = false;
      pg.pins = 0;
      model_.blocks[model_.BlockOf(p)] = Block::kAbsent;
    }
    return "punch " + Range(s, e);
  }

  std::string OpConvert() {
    auto [s, e] = RandomRange();
    const MemAttr attr = Coin(rng_) ? MemAttr::kShared : MemAttr::kPrivate;
    const std::string what =
        std::string(attr == MemAttr::kShared ? "to shared " : "to private ") + Range(s, e);
    PgOff idx(~uint64_t{0});
    Status st = inode_->SetAttributes(PgOff(s), PgOff(e), attr, &idx);
    if (model_.AllAttr(s, e, attr)) {
      Expect({});
      EXPECT_TRUE(st.ok()) << what << ": " << st.error();
      return what + " (no change)";
    }
    const bool to_private = attr == MemAttr::kPrivate;
    if (to_private) {
      for (uint64_t p = s; p < e; ++p) {
        if (model_.pages[p].pins != 0) {
          Expect({});
          EXPECT_EQ(st.error(), EAGAIN) << what;
          EXPECT_EQ(idx.value(), p) << what;
          return what + " (EAGAIN at " + std::to_string(p) + ")";
        }
      }
    }
    EXPECT_TRUE(st.ok()) << what << ": " << st.error();
    const ZapFilter filter = model_.FilterOver(s, e);
    if (to_private) {
      Expect({Begin(s, e), Zap(s, e, filter), End(s, e)});
    } else {
      Expect({Begin(s, e), Split(s, e), Zap(s, e, filter), End(s, e)});
      for (uint64_t b = model_.BlockOf(s); b <= model_.BlockOf(e - 1); ++b) {
        if (model_.blocks[b] == Block::kHuge) {
          model_.blocks[b] = Block::kSplit;
          ++model_.splits;
        }
      }
    }
    for (uint64_t p = s; p < e; ++p) model_.pages[p].attr = attr;
    if (to_private && cfg_.order != PageOrder::k4K) {
      for (uint64_t b = model_.BlockOf(s); b <= model_.BlockOf(e - 1); ++b) {
        const uint64_t bs = b * model_.bp, be = bs + model_.bp;
        if (model_.blocks[b] != Block::kSplit || !model_.AllAttr(bs, be, MemAttr::kPrivate))
          continue;
        bool ok = true, uptodate = true;
        for (uint64_t q = bs; q < be; ++q) {
          ok &= model_.pages[q].pins == 0 && !model_.pages[q].poisoned;
          uptodate &= model_.pages[q].uptodate;
        }
        if (!ok) continue;
        model_.blocks[b] = Block::kHuge;
        ++model_.merges;
        for (uint64_t q = bs; q < be; ++q) model_.pages[q].uptodate = uptodate;
      }
    }
    return what;
  }

  // A page that is shared in the model, if any (a few tries), else any page.
  uint64_t MostlyShared() {
    for (int i = 0; i < 8; ++i) {
      const uint64_t p = Uniform(0, model_.n - 1);
      if (model_.pages[p].attr == MemAttr::kShared) return p;
    }
    return Uniform(0, model_.n - 1);
  }

  std::string OpPin() {
    const uint64_t p = Uniform(0, 19) == 0 ? model_.n + Uniform(0, 3) : MostlyShared();
    Expect({});
    Status st = inode_->Pin(PgOff(p));
    const std::string what = "pin " + std::to_string(p);
    if (p >= model_.n || model_.pages[p].attr != MemAttr::kShared) {
      EXPECT_EQ(st.error(), EFAULT) << what;
      return what + " (EFAULT)";
    }
    model_.EnsureAllocated(p);
    if (model_.pages[p].poisoned) {
      EXPECT_EQ(st.error(), EHWPOISON) << what;
      return what + " (EHWPOISON)";
    }
    EXPECT_TRUE(st.ok()) << what << ": " << st.error();
    model_.pages[p].pins++;
    model_.pages[p].uptodate = true;
    return what;
  }

  std::string OpUnpin() {
    std::vector<uint64_t> pinned;
    for (uint64_t p = 0; p < model_.n && pinned.size() < 64; ++p) {
      if (model_.pages[p].pins) pinned.push_back(p);
    }
    const uint64_t p = !pinned.empty() && Uniform(0, 3) != 0 ? pinned[Uniform(0, pinned.size() - 1)]
                                                             : Uniform(0, model_.n - 1);
    Expect({});
    inode_->Unpin(PgOff(p));
    if (model_.Present(p) && model_.pages[p].pins > 0) model_.pages[p].pins--;
    return "unpin " + std::to_string(p);
  }

  std::string OpPoison() {
    const uint64_t p = Uniform(0, model_.n - 1);
    model_.EnsureAllocated(p);
    auto [s, e] = model_.FolioRange(p);
    Expect({Begin(s, e), Zap(s, e, ZapFilter::kBoth), End(s, e)});
    Status st = inode_->InjectMemoryFailure(PgOff(p));
    EXPECT_TRUE(st.ok()) << st.error();
    model_.ForFolio(p, [](Page& pg) { pg.poisoned = true; });
    return "poison " + std::to_string(p) + " (folio " + Range(s, e) + ")";
  }

  std::string OpMmap() {
    if (model_.mappings.size() >= 6) return OpMunmap();
    const uint64_t first = Uniform(0, model_.n - 1);
    // Small windows; on the small file they may reach past EOF.
    const uint64_t limit = cfg_.order == PageOrder::k4K ? model_.n + 4 : model_.n;
    const uint64_t npages = std::min(Uniform(1, 32), limit - first);
    Expect({});
    Result<void*> r = inode_->Mmap(nullptr, npages << kPageShift, PROT_READ | PROT_WRITE,
                                   MAP_SHARED, first << kPageShift);
    EXPECT_TRUE(r.ok()) << r.error();
    if (r.ok()) model_.mappings.push_back({static_cast<std::byte*>(*r), first, npages});
    return "mmap " + Range(first, first + npages);
  }

  std::string OpMunmap() {
    if (model_.mappings.empty()) return OpMmap();
    const Mapping m = model_.mappings[Uniform(0, model_.mappings.size() - 1)];
    const uint64_t a = Uniform(0, m.npages - 1);
    const uint64_t b = Uniform(a + 1, m.npages);
    Expect({});
    inode_->Munmap(m.base + (a << kPageShift), (b - a) << kPageShift);
    std::vector<Mapping> kept;
    for (const Mapping& x : model_.mappings) {
      if (x.base != m.base) {
        kept.push_back(x);
        continue;
      }
      if (a > 0) kept.push_back({x.base, x.first, a});
      if (b < x.npages) kept.push_back({x.base + (b << kPageShift), x.first + b, x.npages - b});
    }
    model_.mappings = std::move(kept);
    return "munmap pages " + Range(m.first + a, m.first + b);
  }

  // What a host access to file page p through a mapping must do: 0 = works, else si_code.
  int ExpectedSigbus(uint64_t p) const {
    if (p >= model_.n || model_.pages[p].attr == MemAttr::kPrivate) return BUS_ADRERR;
    if (model_.Present(p) && model_.pages[p].poisoned) return BUS_MCEERR_AR;
    return 0;
  }

  static std::string Outcome(int si_code) {
    return si_code == BUS_ADRERR      ? " (SIGBUS)"
           : si_code == BUS_MCEERR_AR ? " (SIGBUS MCEERR_AR)"
                                      : "";
  }

  std::string OpHostRead() {
    if (model_.mappings.empty()) return OpMmap();
    const Mapping& m = model_.mappings[Uniform(0, model_.mappings.size() - 1)];
    const uint64_t i = Uniform(0, m.npages - 1), p = m.first + i;
    Expect({});
    const Touch t = Read64(m.base + (i << kPageShift));
    const int want = ExpectedSigbus(p);
    const std::string what = "host read of page " + std::to_string(p);
    if (want != 0) {
      EXPECT_TRUE(t.sigbus) << what << " got " << t;
      EXPECT_EQ(t.code, want) << what;
    } else {
      EXPECT_FALSE(t.sigbus) << what << " got " << t;
      EXPECT_EQ(t.value, model_.pages[p].tag) << what;
    }
    return what + Outcome(want);
  }

  std::string OpHostWrite() {
    if (model_.mappings.empty()) return OpMmap();
    const Mapping& m = model_.mappings[Uniform(0, model_.mappings.size() - 1)];
    const uint64_t i = Uniform(0, m.npages - 1), p = m.first + i;
    const uint64_t v = NewTag();
    Expect({});
    const Touch t = Write64(m.base + (i << kPageShift), v);
    const int want = ExpectedSigbus(p);
    const std::string what = "host write of page " + std::to_string(p);
    if (want != 0) {
      EXPECT_TRUE(t.sigbus) << what << " got " << t;
      EXPECT_EQ(t.code, want) << what;
    } else {
      EXPECT_FALSE(t.sigbus) << what << " got " << t;
      model_.pages[p].tag = v;
      model_.touched.insert(p);
    }
    return what + Outcome(want);
  }

  // The guest writes a private page: get its PFN, write through the hardware view.
  std::string OpGuestWrite() {
    uint64_t p = Uniform(0, model_.n - 1);
    for (int i = 0; i < 8 && model_.pages[p].attr != MemAttr::kPrivate; ++i)
      p = Uniform(0, model_.n - 1);
    if (model_.pages[p].attr != MemAttr::kPrivate) return OpGetPfn();
    std::string what = "guest write of page " + std::to_string(p);
    Result<Inode::PfnInfo> r = GetPfnChecked(p);
    if (!r.ok()) return what + " (no pfn)";
    const uint64_t v = NewTag();
    std::memcpy(arena_.HardwareView(r->pfn), &v, sizeof v);
    model_.pages[p].tag = v;
    model_.touched.insert(p);
    return what;
  }

  std::string OpGetPfn() {
    const uint64_t p = Uniform(0, 19) == 0 ? model_.n + Uniform(0, 3) : Uniform(0, model_.n - 1);
    (void)GetPfnChecked(p);
    return "get_pfn " + std::to_string(p);
  }

  Result<Inode::PfnInfo> GetPfnChecked(uint64_t p) {
    Expect({});
    Result<Inode::PfnInfo> r = inode_->GetPfn(PgOff(p));
    const std::string what = "get_pfn " + std::to_string(p);
    if (p >= model_.n) {
      EXPECT_EQ(r.error(), EINVAL) << what;
      return r;
    }
    model_.EnsureAllocated(p);
    if (model_.pages[p].poisoned) {
      EXPECT_EQ(r.error(), EHWPOISON) << what;
      return r;
    }
    EXPECT_TRUE(r.ok()) << what << ": " << r.error();
    if (!r.ok()) return r;
    EXPECT_EQ(r->pfn, inode_->PfnOf(PgOff(p))) << what;
    EXPECT_EQ(r->max_order, model_.FolioOrder(p)) << what;
    model_.ForFolio(p, [](Page& pg) { pg.uptodate = true; });
    return r;
  }

  void Tally(const std::string& what) {
    std::string kind;
    for (char c : what) {
      if (c < '0' || c > '9') kind += c;
    }
    tally_[kind]++;
  }

  void CheckAll() {
    EXPECT_THAT(listener_.Take(), ::testing::ElementsAreArray(expected_calls_));
    expected_calls_.clear();
    EXPECT_EQ(Runs(*inode_), model_.Runs());
    EXPECT_EQ(inode_->present_pages(), model_.PresentPages());
    EXPECT_EQ(inode_->stats().Get("folio_splits"), model_.splits);
    EXPECT_EQ(inode_->stats().Get("folio_merges"), model_.merges);
    EXPECT_EQ(inode_->user_mapping_count(), model_.mappings.size());
    EXPECT_EQ(inode_->folio_count(), model_.FolioCount());
    // The full folio list of a split 1G folio has 262144 entries: compare it every step
    // while it is small, else every 8th step and at the end.
    if (model_.FolioCount() <= 8192 || step_ % 8 == 7 || step_ == cfg_.steps - 1) CheckFolios();
    // Contents: every page ever written, plus a random sample (first 8 bytes only).
    auto check_tag = [&](uint64_t p) {
      EXPECT_EQ(Tag(*inode_, p), model_.pages[p].tag) << "content of page " << p;
    };
    for (uint64_t p : model_.touched) check_tag(p);
    const uint64_t samples = std::min<uint64_t>(model_.n, 32);
    for (uint64_t i = 0; i < samples; ++i) check_tag(Uniform(0, model_.n - 1));
    EXPECT_THAT(inode_->CheckInvariants(), IsEmpty());
  }

  void CheckFolios() {
    const std::vector<FolioRec> got = FolioList(*inode_), want = model_.Folios();
    EXPECT_EQ(got.size(), want.size());
    if (got != want) {
      // Name the first difference rather than printing 262144 folios.
      size_t i = 0;
      while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
      ADD_FAILURE() << "folios differ at index " << i << ": got "
                    << (i < got.size() ? ::testing::PrintToString(got[i]) : "(none)") << ", model "
                    << (i < want.size() ? ::testing::PrintToString(want[i]) : "(none)");
    }
  }

  host::Arena& arena_;
  const RandomConfig cfg_;
  std::mt19937_64 rng_;
  Model model_;
  std::shared_ptr<Inode> inode_;
  RecordingListener listener_;
  std::vector<Call> expected_calls_;
  int step_ = 0;
  uint64_t tag_seq_ = 0;
  std::map<std::string, int> tally_;
};

class GmemRandomTest : public ::testing::TestWithParam<RandomConfig> {
 protected:
  void SetUp() override {
    InstallSigbusHandlerOnce();
    FaultPoint::DisarmAll();
  }
};

TEST_P(GmemRandomTest, MatchesTheModel) {
  const RandomConfig& cfg = GetParam();
  auto arena = MakeArena();
  const auto t0 = std::chrono::steady_clock::now();
  std::map<std::string, int> total;
  for (int round = 0; round < cfg.rounds && !HasFailure(); ++round) {
    // Each configuration and round has its own stream, derived from the printed seed.
    const uint64_t seed = BaseSeed() + static_cast<uint64_t>(round) * 1000 + OrderBits(cfg.order);
    SCOPED_TRACE("seed=" + std::to_string(BaseSeed()) + " (COCOMEM_SEED=" +
                 std::to_string(BaseSeed()) + ") round " + std::to_string(round) + " " + cfg.name);
    RandomOps ops(*arena, cfg, seed);
    ops.Run();
    for (const auto& [kind, count] : ops.tally()) total[kind] += count;
  }
  // Every inode is gone: the arena holds nothing.
  EXPECT_EQ(arena->reserved_bytes(), 0u);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf("%s: %d rounds x %d steps in %lld ms\n", cfg.name, cfg.rounds, cfg.steps,
              static_cast<long long>(ms));
  for (const auto& [kind, count] : total) std::printf("  %5d  %s\n", count, kind.c_str());
}

INSTANTIATE_TEST_SUITE_P(
    Orders, GmemRandomTest,
    ::testing::Values(RandomConfig{"4K", PageOrder::k4K, 64, 5, 400},
                      RandomConfig{"2M", PageOrder::k2M, 2 * PagesIn(PageOrder::k2M), 3, 300},
                      RandomConfig{"1G", PageOrder::k1G, PagesIn(PageOrder::k1G), 2, 60}),
    [](const ::testing::TestParamInfo<RandomConfig>& info) {
      return std::string(info.param.name);
    });

}  // namespace
}  // namespace cocomem::gmem
