// TDX module emulator: the hot SEAMCALLs of a 4K private fault (AUG + guest ACCEPT) and
// of a zap (BLOCK + TRACK + REMOVE), the guest's S-EPT walk, and MR.EXTEND.
#include <benchmark/benchmark.h>

#include <memory>

#include "host/arena.h"
#include "tdx/module/tdx_module.h"

namespace cocomem::tdx {
namespace {

constexpr uint64_t kGpa = 1ull << 30;

struct Td {
  std::unique_ptr<host::Arena> arena;
  std::unique_ptr<TdxModule> module;
  uint64_t tdr = 0, tdvpr = 0;

  uint64_t Page() { return HpaOf(arena->Reserve(1, PageOrder::k4K)->start).value(); }
  TdxStatus Call(Leaf leaf, uint64_t rcx, uint64_t rdx = 0, uint64_t r8 = 0, uint64_t r9 = 0) {
    Regs r;
    r.rax = static_cast<uint64_t>(leaf);
    r.rcx = rcx;
    r.rdx = rdx;
    r.r8 = r8;
    r.r9 = r9;
    return module->Seamcall(r);
  }
  explicit Td(bool finalize) {
    arena = std::move(host::Arena::Create(host::ArenaOptions{.capacity_bytes = 4ull << 30})).value();
    module = std::move(TdxModule::Create(*arena)).value();
    tdr = Page();
    Call(Leaf::kMngCreate, tdr, 32);
    Call(Leaf::kMngKeyConfig, tdr);
    for (unsigned i = 0; i < kTdcsPages; ++i) Call(Leaf::kMngAddcx, Page(), tdr);
    Call(Leaf::kMngInit, tdr);
    tdvpr = Page();
    Call(Leaf::kVpCreate, tdvpr, tdr);
    for (unsigned i = 0; i < kTdvpxPages; ++i) Call(Leaf::kVpAddcx, Page(), tdvpr);
    Call(Leaf::kVpInit, tdvpr);
    for (unsigned l = 3; l >= 1; --l)
      Call(Leaf::kMemSeptAdd, (kGpa & ~((1ull << (12 + 9 * l)) - 1)) | l, tdr, Page());
    if (finalize) Call(Leaf::kMrFinalize, tdr);
  }
};

void BM_FaultAndZap4K(benchmark::State& state) {
  Td td(true);
  const uint64_t page = td.Page();
  for (auto _ : state) {
    td.Call(Leaf::kMemPageAug, kGpa, td.tdr, page);
    benchmark::DoNotOptimize(td.module->TdgMemPageAccept(Hpa(td.tdvpr), kGpa));
    td.Call(Leaf::kMemRangeBlock, kGpa, td.tdr);
    td.Call(Leaf::kMemTrack, td.tdr);
    if (td.Call(Leaf::kMemPageRemove, kGpa, td.tdr) != TDX_SUCCESS) state.SkipWithError("remove");
  }
}
BENCHMARK(BM_FaultAndZap4K);

void BM_AugRemove4K(benchmark::State& state) {
  Td td(false);  // INITIALIZED: REMOVE needs no BLOCK/TRACK
  const uint64_t page = td.Page();
  for (auto _ : state) {
    td.Call(Leaf::kMemPageAug, kGpa, td.tdr, page);
    if (td.Call(Leaf::kMemPageRemove, kGpa, td.tdr) != TDX_SUCCESS) state.SkipWithError("remove");
  }
}
BENCHMARK(BM_AugRemove4K);

void BM_GuestWalk(benchmark::State& state) {
  Td td(true);
  td.Call(Leaf::kMemPageAug, kGpa, td.tdr, td.Page());
  td.module->TdgMemPageAccept(Hpa(td.tdvpr), kGpa);
  for (auto _ : state) benchmark::DoNotOptimize(td.module->Walk(Hpa(td.tdr), kGpa + 8, true));
}
BENCHMARK(BM_GuestWalk);

void BM_MrExtend(benchmark::State& state) {
  Td td(false);
  const uint64_t page = td.Page();
  td.Call(Leaf::kMemPageAdd, kGpa, td.tdr, page, page);
  uint64_t off = 0;
  for (auto _ : state) {
    td.Call(Leaf::kMrExtend, kGpa + off, td.tdr);
    off = (off + 256) & 0xFFF;
  }
  state.SetBytesProcessed(state.iterations() * 256);
}
BENCHMARK(BM_MrExtend);

}  // namespace
}  // namespace cocomem::tdx
