// Host arena: first-touch cost against a plain memfd (same run, ratio reported), punch
// throughput, and direct-map removal/restoration of 1 GiB.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "host/arena.h"

namespace cocomem::host {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint64_t kChunk = 64ull << 20;  // bytes touched per iteration

std::unique_ptr<Arena> NewArena(uint64_t bytes) {
  ArenaOptions o;
  o.capacity_bytes = bytes;
  auto a = Arena::Create(o);
  CHECK(a.ok());
  return std::move(a).value();
}

double TouchPages(std::byte* p, uint64_t bytes) {
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t off = 0; off < bytes; off += kPageSize) p[off] = std::byte{1};
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Each iteration first-touches kChunk through the arena's hardware view, then the same
// amount of a plain memfd mapped the ordinary way; both are punched afterwards (untimed).
void BM_FirstTouchArenaVsMemfd(benchmark::State& state) {
  auto arena = NewArena(4 * kGiB);
  auto r = arena->Reserve(kChunk / kPageSize, PageOrder::k2M);
  CHECK(r.ok());
  int memfd = memfd_create("plain", MFD_CLOEXEC);
  CHECK(memfd >= 0 && ftruncate(memfd, kChunk) == 0);
  auto* plain = static_cast<std::byte*>(
      mmap(nullptr, kChunk, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0));
  CHECK(plain != MAP_FAILED);

  double arena_s = 0, plain_s = 0;
  for (auto _ : state) {
    const double a = TouchPages(arena->HardwareView(r->start), kChunk);
    const double p = TouchPages(plain, kChunk);
    state.SetIterationTime(a);
    arena_s += a;
    plain_s += p;
    CHECK(arena->Punch(*r).ok());
    CHECK(fallocate(memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, kChunk) == 0);
  }
  const double pages = static_cast<double>(state.iterations()) * (kChunk / kPageSize);
  state.counters["arena_ns_per_4k"] = arena_s * 1e9 / pages;
  state.counters["memfd_ns_per_4k"] = plain_s * 1e9 / pages;
  state.counters["arena_over_memfd"] = arena_s / plain_s;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunk));
  state.SetLabel(arena->backing_description());
  munmap(plain, kChunk);
  close(memfd);
}
BENCHMARK(BM_FirstTouchArenaVsMemfd)->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(2);

void BM_Punch(benchmark::State& state) {
  auto arena = NewArena(4 * kGiB);
  auto r = arena->Reserve(kChunk / kPageSize, PageOrder::k2M);
  CHECK(r.ok());
  for (auto _ : state) {
    state.PauseTiming();
    TouchPages(arena->HardwareView(r->start), kChunk);
    state.ResumeTiming();
    CHECK(arena->Punch(*r).ok());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunk));
}
BENCHMARK(BM_Punch)->Unit(benchmark::kMillisecond);

void BM_DirectMapRemoveRestore1G(benchmark::State& state) {
  auto arena = NewArena(4 * kGiB);
  auto r = arena->Reserve(kGiB / kPageSize, PageOrder::k1G);
  CHECK(r.ok());
  for (auto _ : state) {
    CHECK(arena->RemoveDirectMap(*r).ok());
    CHECK(arena->RestoreDirectMap(*r).ok());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kGiB));
}
BENCHMARK(BM_DirectMapRemoveRestore1G)->Unit(benchmark::kMicrosecond);

// The same on a range the "kernel" has touched through the direct map (page tables
// populated), which is what removal costs for memory in use.
void BM_DirectMapRemoveRestore1GTouched(benchmark::State& state) {
  auto arena = NewArena(4 * kGiB);
  auto r = arena->Reserve(kGiB / kPageSize, PageOrder::k1G);
  CHECK(r.ok());
  for (auto _ : state) {
    state.PauseTiming();
    for (uint64_t i = 0; i < r->npages; i += 512) *arena->DirectMap(r->start + i) = std::byte{1};
    state.ResumeTiming();
    CHECK(arena->RemoveDirectMap(*r).ok());
    CHECK(arena->RestoreDirectMap(*r).ok());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kGiB));
}
BENCHMARK(BM_DirectMapRemoveRestore1GTouched)->Unit(benchmark::kMicrosecond);

void BM_ReserveRelease4K(benchmark::State& state) {
  auto arena = NewArena(4 * kGiB);
  for (auto _ : state) {
    auto r = arena->Reserve(1, PageOrder::k4K);
    arena->Release(*r);
  }
}
BENCHMARK(BM_ReserveRelease4K);

}  // namespace
}  // namespace cocomem::host
