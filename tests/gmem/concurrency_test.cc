// Host threads touching a guest_memfd mapping, GetPfn callers and pinners, all while another
// thread converts ranges to private and back and punches them. Runs under TSan too
// (LABELS concurrency).
#include <cocomem/kvm.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gmem/inode.h"
#include "gmem_test_util.h"

namespace cocomem::gmem {
namespace {

using ::testing::IsEmpty;
using namespace ::cocomem::gmem::test;  // NOLINT: test helpers

constexpr uint64_t kPages = 64;
// The converter works on [0, kConvertEnd); [kConvertEnd, kPrivateStart) stays shared and
// [kPrivateStart, kPages) stays private, so both outcomes of a touch are always seen.
constexpr uint64_t kConvertEnd = 56;
constexpr uint64_t kPrivateStart = 60;
constexpr int kTouchers = 3;
constexpr int kTouchesPerThread = 3000;
constexpr int kMinConversions = 400;

// Values written to page p by thread t: magic | t | p | seq, with seq published (per thread
// and page) before the store, so a reader can tell a real write from garbage.
constexpr uint64_t kMagic = 0xC0C0ull << 48;
uint64_t Encode(int t, uint64_t page, uint32_t seq) {
  return kMagic | (static_cast<uint64_t>(t) << 40) | (page << 32) | seq;
}

struct Published {
  std::atomic<uint32_t> seq[kTouchers][kPages] = {};
};

// Empty when `v` read from `page` is 0 or a value some thread wrote there.
std::string CheckValue(const Published& pub, uint64_t page, uint64_t v) {
  if (v == 0) return "";
  const int t = static_cast<int>((v >> 40) & 0xff);
  const uint64_t p = (v >> 32) & 0xff;
  const uint32_t seq = static_cast<uint32_t>(v);
  if ((v & (0xffffull << 48)) != kMagic || t >= kTouchers || p != page || seq == 0 ||
      seq > pub.seq[t][page].load(std::memory_order_acquire)) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "page %llu holds %#llx, which no thread wrote there",
                  static_cast<unsigned long long>(page), static_cast<unsigned long long>(v));
    return buf;
  }
  return "";
}

class GmemConcurrencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Once, process-wide, before any thread starts.
    InstallSigbusHandlerOnce();
    FaultPoint::DisarmAll();
  }
  std::unique_ptr<host::Arena> arena_ = MakeArena();
};

TEST_F(GmemConcurrencyTest, HostTouchesRaceWithConversionsPunchesPinsAndGetPfn) {
  const uint64_t seed = std::random_device{}();
  std::printf("seed=%llu\n", static_cast<unsigned long long>(seed));
  SCOPED_TRACE("seed=" + std::to_string(seed));
  auto inode = MakeInode(
      *arena_, MakeConfig(kPages, PageOrder::k4K, MemAttr::kShared, GUEST_MEMFD_FLAG_MMAP));
  ASSERT_TRUE(inode->flags() & GUEST_MEMFD_FLAG_INIT_SHARED);
  PgOff idx;
  ASSERT_TRUE(
      inode->SetAttributes(PgOff(kPrivateStart), PgOff(kPages), MemAttr::kPrivate, &idx).ok());
  Result<void*> m = inode->Mmap(nullptr, kPages * kPageSize, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
  ASSERT_TRUE(m.ok());
  auto* base = static_cast<std::byte*>(*m);

  Published pub;
  std::atomic<int> touchers_running{kTouchers};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> sigbus{0}, reads{0}, nonzero_reads{0}, writes{0};
  std::atomic<uint64_t> conversions{0}, eagains{0}, punches{0}, get_pfns{0}, pins{0};
  std::vector<std::string> errors[kTouchers + 3];

  std::vector<std::thread> threads;
  for (int t = 0; t < kTouchers; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seed + static_cast<uint64_t>(t));
      uint32_t seq = 0;
      for (int i = 0; i < kTouchesPerThread; ++i) {
        const uint64_t p = rng() % kPages;
        std::byte* addr = base + (p << kPageShift);
        if (rng() & 1) {
          const Touch r = Read64(addr);
          if (r.sigbus) {
            sigbus.fetch_add(1, std::memory_order_relaxed);
            if (r.code != BUS_ADRERR)
              errors[t].push_back("read: si_code " + std::to_string(r.code));
            if (p >= kConvertEnd && p < kPrivateStart)
              errors[t].push_back("SIGBUS on an always-shared page");
            continue;
          }
          if (p >= kPrivateStart) errors[t].push_back("read of an always-private page worked");
          reads.fetch_add(1, std::memory_order_relaxed);
          if (r.value != 0) nonzero_reads.fetch_add(1, std::memory_order_relaxed);
          if (std::string e = CheckValue(pub, p, r.value); !e.empty()) errors[t].push_back(e);
        } else {
          const uint64_t v = Encode(t, p, ++seq);
          pub.seq[t][p].store(seq, std::memory_order_release);
          const Touch w = Write64(addr, v);
          if (w.sigbus) {
            sigbus.fetch_add(1, std::memory_order_relaxed);
            if (w.code != BUS_ADRERR)
              errors[t].push_back("write: si_code " + std::to_string(w.code));
            if (p >= kConvertEnd && p < kPrivateStart)
              errors[t].push_back("SIGBUS on an always-shared page");
            continue;
          }
          if (p >= kPrivateStart) errors[t].push_back("write to an always-private page worked");
          writes.fetch_add(1, std::memory_order_relaxed);
        }
      }
      touchers_running.fetch_sub(1);
    });
  }
  // The converter: to private and back, and punches, until the touchers are done.
  threads.emplace_back([&] {
    std::vector<std::string>& err = errors[kTouchers];
    std::mt19937_64 rng(seed + 100);
    for (int i = 0; i < kMinConversions || touchers_running.load() > 0; ++i) {
      const uint64_t s = rng() % kConvertEnd;
      const uint64_t e = std::min(kConvertEnd, s + 1 + rng() % 8);
      if (i % 8 == 7) {
        if (!inode->Punch(PgOff(s), PgOff(e)).ok()) err.push_back("punch failed");
        punches.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      PgOff at;
      Status st = inode->SetAttributes(PgOff(s), PgOff(e), MemAttr::kPrivate, &at);
      if (!st.ok()) {
        if (st.error() != EAGAIN) err.push_back("to private: errno " + std::to_string(st.error()));
        if (at.value() < s || at.value() >= e) err.push_back("EAGAIN index outside the range");
        eagains.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      conversions.fetch_add(1, std::memory_order_relaxed);
      // Every host mapping was updated before the conversion returned.
      const uint64_t probe = s + rng() % (e - s);
      if (Touch r = Read64(base + (probe << kPageShift)); !r.sigbus || r.code != BUS_ADRERR) {
        err.push_back("page " + std::to_string(probe) + " readable right after going private");
      }
      for (int y = 0; y < 20; ++y) std::this_thread::yield();  // let touchers hit it
      st = inode->SetAttributes(PgOff(s), PgOff(e), MemAttr::kShared, &at);
      if (!st.ok()) err.push_back("to shared: errno " + std::to_string(st.error()));
      if (Touch r = Read64(base + (probe << kPageShift)); r.sigbus) {
        err.push_back("page " + std::to_string(probe) + " SIGBUSes right after going shared");
      } else if (std::string bad = CheckValue(pub, probe, r.value); !bad.empty()) {
        err.push_back(bad);
      }
    }
    stop.store(true);
  });
  // GetPfn callers (a guest faulting pages in), and a pinner (a VMM's long-term GUP).
  threads.emplace_back([&] {
    std::vector<std::string>& err = errors[kTouchers + 1];
    std::mt19937_64 rng(seed + 200);
    while (!stop.load()) {
      const uint64_t p = rng() % kPages;
      Result<Inode::PfnInfo> r = inode->GetPfn(PgOff(p));
      if (!r.ok()) {
        err.push_back("get_pfn: errno " + std::to_string(r.error()));
        continue;
      }
      if (r->pfn != inode->PfnOf(PgOff(p))) err.push_back("get_pfn: wrong pfn");
      if (r->max_order != PageOrder::k4K) err.push_back("get_pfn: huge order on a 4K file");
      get_pfns.fetch_add(1, std::memory_order_relaxed);
    }
  });
  threads.emplace_back([&] {
    std::vector<std::string>& err = errors[kTouchers + 2];
    std::mt19937_64 rng(seed + 300);
    while (!stop.load()) {
      const uint64_t p = rng() % kPages;
      Status st = inode->Pin(PgOff(p));
      if (!st.ok()) {
        if (st.error() != EFAULT) err.push_back("pin: errno " + std::to_string(st.error()));
        if (p >= kConvertEnd && p < kPrivateStart)
          err.push_back("pin of an always-shared page failed");
        continue;
      }
      if (p >= kPrivateStart) err.push_back("pin of an always-private page worked");
      pins.fetch_add(1, std::memory_order_relaxed);
      std::this_thread::yield();
      inode->Unpin(PgOff(p));
    }
  });
  for (std::thread& th : threads) th.join();

  for (const auto& list : errors) {
    for (size_t i = 0; i < list.size() && i < 10; ++i) ADD_FAILURE() << list[i];
  }
  std::printf(
      "touches: %llu reads (%llu non-zero), %llu writes, %llu SIGBUS; converter: %llu "
      "round trips, %llu EAGAIN, %llu punches; %llu get_pfn, %llu pins\n",
      static_cast<unsigned long long>(reads.load()),
      static_cast<unsigned long long>(nonzero_reads.load()),
      static_cast<unsigned long long>(writes.load()),
      static_cast<unsigned long long>(sigbus.load()),
      static_cast<unsigned long long>(conversions.load()),
      static_cast<unsigned long long>(eagains.load()),
      static_cast<unsigned long long>(punches.load()),
      static_cast<unsigned long long>(get_pfns.load()),
      static_cast<unsigned long long>(pins.load()));
  // The fixed private and shared pages guarantee both outcomes.
  EXPECT_GT(sigbus.load(), 0u);
  EXPECT_GT(reads.load() + writes.load(), 0u);
  EXPECT_GE(conversions.load() + eagains.load() + punches.load(), uint64_t{kMinConversions});
  EXPECT_GT(get_pfns.load(), 0u);

  // Quiescent: everything the converter touched is shared again, every value is legal, and
  // the invariants hold (including the host page tables).
  EXPECT_EQ(Runs(*inode), (std::vector<AttrRun>{{0, kPrivateStart, MemAttr::kShared},
                                                {kPrivateStart, kPages, MemAttr::kPrivate}}));
  for (uint64_t p = 0; p < kPrivateStart; ++p) {
    const Touch r = Read64(base + (p << kPageShift));
    ASSERT_FALSE(r.sigbus) << p;
    EXPECT_EQ(CheckValue(pub, p, r.value), "");
    EXPECT_EQ(r.value, Tag(*inode, p));
  }
  for (const FolioRec& f : FolioList(*inode)) EXPECT_EQ(f.pins, 0u) << f;
  EXPECT_THAT(inode->CheckInvariants(), IsEmpty());
  inode->Munmap(base, kPages * kPageSize);
  EXPECT_THAT(inode->CheckInvariants(), IsEmpty());
}

TEST_F(GmemConcurrencyTest, GetPfnRacesWithSplitsAndMergesOfHugeFolios) {
  const uint64_t seed = std::random_device{}();
  std::printf("seed=%llu\n", static_cast<unsigned long long>(seed));
  SCOPED_TRACE("seed=" + std::to_string(seed));
  constexpr uint64_t kHuge = PagesIn(PageOrder::k2M);
  auto inode = MakeInode(*arena_, MakeConfig(2 * kHuge, PageOrder::k2M));
  constexpr int kRoundTrips = 600;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> huge_results{0}, small_results{0};
  std::vector<std::string> errors[3];
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seed + static_cast<uint64_t>(t));
      while (!stop.load()) {
        const uint64_t p = rng() % (2 * kHuge);
        Result<Inode::PfnInfo> r = inode->GetPfn(PgOff(p));
        if (!r.ok()) {
          errors[t].push_back("get_pfn: errno " + std::to_string(r.error()));
          continue;
        }
        if (r->pfn != inode->PfnOf(PgOff(p))) errors[t].push_back("wrong pfn");
        if (r->max_order == PageOrder::k2M) {
          huge_results.fetch_add(1, std::memory_order_relaxed);
        } else if (r->max_order == PageOrder::k4K) {
          small_results.fetch_add(1, std::memory_order_relaxed);
        } else {
          errors[t].push_back("1G order on a 2M file");
        }
      }
    });
  }
  threads.emplace_back([&] {
    std::vector<std::string>& err = errors[2];
    std::mt19937_64 rng(seed + 100);
    for (int i = 0; i < kRoundTrips; ++i) {
      const uint64_t b = (rng() % 2) * kHuge;
      if (i % 16 == 15) {
        if (!inode->Punch(PgOff(b), PgOff(b + kHuge)).ok()) err.push_back("punch failed");
        continue;
      }
      const uint64_t s = b + rng() % kHuge;
      const uint64_t e = std::min(b + kHuge, s + 1 + rng() % 4);
      PgOff at;
      if (!inode->SetAttributes(PgOff(s), PgOff(e), MemAttr::kShared, &at).ok())
        err.push_back("to shared");
      std::this_thread::yield();
      if (!inode->SetAttributes(PgOff(s), PgOff(e), MemAttr::kPrivate, &at).ok())
        err.push_back("to private");
    }
    stop.store(true);
  });
  for (std::thread& th : threads) th.join();
  for (const auto& list : errors) {
    for (size_t i = 0; i < list.size() && i < 10; ++i) ADD_FAILURE() << list[i];
  }
  std::printf("get_pfn: %llu huge, %llu 4K; %llu splits, %llu merges\n",
              static_cast<unsigned long long>(huge_results.load()),
              static_cast<unsigned long long>(small_results.load()),
              static_cast<unsigned long long>(inode->stats().Get("folio_splits")),
              static_cast<unsigned long long>(inode->stats().Get("folio_merges")));
  EXPECT_GT(huge_results.load() + small_results.load(), 0u);
  EXPECT_GT(inode->stats().Get("folio_splits"), 0u);
  EXPECT_GT(inode->stats().Get("folio_merges"), 0u);
  // All private again, with every allocated huge page merged back.
  EXPECT_EQ(Runs(*inode), (std::vector<AttrRun>{{0, 2 * kHuge, MemAttr::kPrivate}}));
  for (const FolioRec& f : FolioList(*inode)) EXPECT_EQ(f.order, PageOrder::k2M) << f;
  EXPECT_THAT(inode->CheckInvariants(), IsEmpty());
}

}  // namespace
}  // namespace cocomem::gmem
