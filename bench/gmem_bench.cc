// guest_memfd: allocation + first touch and punch of 1 GiB against the kernel's
// guest_memfd (same run, ratios reported), 4K conversion round trips with a live host
// mapping, split/merge of a 1G folio, and folio metadata per page.
#include <benchmark/benchmark.h>
#include <cocomem/kvm.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>

#include <chrono>
#include <cstring>

#include "gmem/gmem_file.h"
#include "sys/backend.h"
#include "sys/emu_backend.h"

namespace cocomem {
namespace {

using sys::Backend;
using sys::BackendKind;
using sys::GetBackend;

constexpr uint64_t kGiB = uint64_t{1} << 30;

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A VM with one mapped guest_memfd, on either backend.
struct GmemSetup {
  Backend* b = nullptr;
  int kvm = -1, vm = -1, gmem = -1;
  char* map = nullptr;
  uint64_t size = 0;
  std::string error;

  GmemSetup(BackendKind kind, unsigned long vm_type, uint64_t bytes, uint64_t flags,
            uint8_t page_order = 0, bool mmap_it = true)
      : b(&GetBackend(kind)), size(bytes) {
    kvm = b->Open("/dev/kvm", O_RDWR | O_CLOEXEC, 0);
    if (kvm < 0) {
      error = std::string("/dev/kvm: ") + std::strerror(errno);
      return;
    }
    vm = b->Ioctl(kvm, KVM_CREATE_VM, vm_type);
    kvm_create_guest_memfd g{};
    g.size = bytes;
    g.flags = flags;
    g.page_order = page_order;
    gmem = vm >= 0 ? b->Ioctl(vm, KVM_CREATE_GUEST_MEMFD, reinterpret_cast<uintptr_t>(&g)) : -1;
    if (gmem < 0) {
      error = std::string("KVM_CREATE_GUEST_MEMFD: ") + std::strerror(errno);
      return;
    }
    if (mmap_it) {
      void* p = b->Mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, gmem, 0);
      if (p == MAP_FAILED) error = std::string("mmap: ") + std::strerror(errno);
      else map = static_cast<char*>(p);
    }
  }
  ~GmemSetup() {
    if (map) b->Munmap(map, size);
    for (int fd : {gmem, vm, kvm}) {
      if (fd >= 0) b->Close(fd);
    }
  }
  gmem::Inode& inode() {
    auto& emu = static_cast<sys::EmuBackend&>(GetBackend(BackendKind::kEmu));
    return emu.fds().GetAs<gmem::GmemFile>(gmem)->inode();
  }
  int Convert(uint64_t offset, uint64_t len, uint64_t attrs) {
    kvm_memory_attributes2 a{};
    a.offset = offset;
    a.size = len;
    a.attributes = attrs;
    return b->Ioctl(gmem, KVM_SET_MEMORY_ATTRIBUTES2, reinterpret_cast<uintptr_t>(&a));
  }
};

// fallocate(KEEP_SIZE) 1 GiB + first touch of every 4K page through the mapping, then
// PUNCH_HOLE of the whole GiB; emulator and kernel alternate inside each iteration.
void BM_AllocTouchPunch1G_EmuVsKernel(benchmark::State& state) {
  const uint64_t flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
  GmemSetup emu(BackendKind::kEmu, KVM_X86_DEFAULT_VM, kGiB, flags);
  GmemSetup host(BackendKind::kHost, KVM_X86_DEFAULT_VM, kGiB, flags);
  if (!emu.error.empty() || !host.error.empty()) {
    state.SkipWithError(("emulator: " + emu.error + " host: " + host.error).c_str());
    return;
  }
  double t[2][2] = {};  // [emu/host][alloc+touch / punch]
  double alloc[2] = {};
  for (auto _ : state) {
    int i = 0;
    for (GmemSetup* s : {&emu, &host}) {
      auto t0 = std::chrono::steady_clock::now();
      if (s->b->Fallocate(s->gmem, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(kGiB)) != 0)
        state.SkipWithError("fallocate");
      alloc[i] += Seconds(t0);
      for (uint64_t off = 0; off < kGiB; off += kPageSize) s->map[off] = 1;
      t[i][0] += Seconds(t0);
      t0 = std::chrono::steady_clock::now();
      if (s->b->Fallocate(s->gmem, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0,
                          static_cast<off_t>(kGiB)) != 0)
        state.SkipWithError("punch");
      t[i][1] += Seconds(t0);
      i++;
    }
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["emu_alloc_touch_ms"] = t[0][0] * 1e3 / n;
  state.counters["kernel_alloc_touch_ms"] = t[1][0] * 1e3 / n;
  state.counters["alloc_touch_ratio"] = t[0][0] / t[1][0];
  state.counters["emu_alloc_ms"] = alloc[0] * 1e3 / n;
  state.counters["kernel_alloc_ms"] = alloc[1] * 1e3 / n;
  state.counters["emu_punch_ms"] = t[0][1] * 1e3 / n;
  state.counters["kernel_punch_ms"] = t[1][1] * 1e3 / n;
  state.counters["punch_ratio"] = t[0][1] / t[1][1];
}
BENCHMARK(BM_AllocTouchPunch1G_EmuVsKernel)->Iterations(3)->Unit(benchmark::kMillisecond);

// shared -> private -> shared of one 4K page while a host mapping of the file is live.
void BM_ConvertRoundTrip4K(benchmark::State& state) {
  GmemSetup s(BackendKind::kEmu, KVM_X86_SW_PROTECTED_VM, 2 << 20,
              GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
  if (!s.error.empty()) return state.SkipWithError(s.error.c_str());
  s.map[0] = 1;
  for (auto _ : state) {
    if (s.Convert(0, kPageSize, KVM_MEMORY_ATTRIBUTE_PRIVATE) != 0 || s.Convert(0, kPageSize, 0) != 0)
      state.SkipWithError("conversion failed");
  }
  state.counters["conversions"] = static_cast<double>(s.inode().stats().Get("conversions"));
}
BENCHMARK(BM_ConvertRoundTrip4K)->Repetitions(5)->ReportAggregatesOnly(true)->Unit(benchmark::kMicrosecond);

// One 4K page in the middle of a 1G folio to shared (split) and back (merge).
void BM_SplitMerge1GFolio(benchmark::State& state) {
  GmemSetup s(BackendKind::kEmu, KVM_X86_SW_PROTECTED_VM, kGiB,
              GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_HUGETLB, 18, /*mmap_it=*/false);
  if (!s.error.empty()) return state.SkipWithError(s.error.c_str());
  auto pfn = s.inode().GetPfn(PgOff(0));  // allocates the 1G folio (metadata only)
  if (!pfn.ok() || pfn->max_order != PageOrder::k1G) return state.SkipWithError("no 1G folio");
  const uint64_t page = kGiB / 2 + 5 * kPageSize;
  for (auto _ : state) {
    if (s.Convert(page, kPageSize, 0) != 0 || s.Convert(page, kPageSize, KVM_MEMORY_ATTRIBUTE_PRIVATE) != 0)
      state.SkipWithError("conversion failed");
  }
  state.counters["splits"] = static_cast<double>(s.inode().stats().Get("folio_splits"));
  state.counters["merges"] = static_cast<double>(s.inode().stats().Get("folio_merges"));
  state.counters["folios_after"] = static_cast<double>(s.inode().folio_count());
}
BENCHMARK(BM_SplitMerge1GFolio)->Repetitions(5)->ReportAggregatesOnly(true)->Unit(benchmark::kMicrosecond);

// Folio metadata: a fallocated GiB of 4K folios; the same after every other page was
// touched by the guest (the worst case: alike neighbours never coalesce); a 1G folio.
void BM_FolioMetadata(benchmark::State& state) {
  GmemSetup s4k(BackendKind::kEmu, KVM_X86_SW_PROTECTED_VM, kGiB, GUEST_MEMFD_FLAG_MMAP, 0, false);
  GmemSetup s1g(BackendKind::kEmu, KVM_X86_SW_PROTECTED_VM, kGiB,
                GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_HUGETLB, 18, false);
  if (!s4k.error.empty() || !s1g.error.empty()) return state.SkipWithError("setup");
  const uint64_t pages = kGiB / kPageSize;
  for (auto _ : state) {
    for (uint64_t p = 0; p < pages; p += 2) (void)s4k.inode().GetPfn(PgOff(p));
    benchmark::DoNotOptimize(s1g.inode().GetPfn(PgOff(0)));
  }
  gmem::Inode& a = s4k.inode();
  state.counters["bytes_per_4k_folio_worst"] =
      static_cast<double>(a.folio_metadata_bytes()) / static_cast<double>(a.folio_count());
  state.counters["bytes_per_1g_folio"] = static_cast<double>(s1g.inode().folio_metadata_bytes());
  (void)a.Allocate(PgOff(0), PgOff(pages));  // fills the gaps: alike runs coalesce
  state.counters["runs_after_fallocate"] = static_cast<double>(a.folio_run_count());
}
BENCHMARK(BM_FolioMetadata)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace cocomem
