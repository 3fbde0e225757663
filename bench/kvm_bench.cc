// KVM memory core: 4K guest faults (shared and private) from guest access to installed
// mapping; faulting in 1 GiB of a 1G-folio file; converting a 2M range while 4 vCPUs
// keep touching it.
#include <benchmark/benchmark.h>
#include <cocomem/cocomem.hpp>
#include <cocomem/guest.h>
#include <fcntl.h>
#include <linux/falloc.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "gmem/gmem_file.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"
#include "sys/emu_backend.h"
#include "sys/vcpu_file.h"
#include "sys/vm_file.h"

namespace cocomem {
namespace {

constexpr uint64_t kGpa = 4ull << 30;
constexpr uint64_t kPs = 4096;

sys::EmuBackend& Emu() {
  return static_cast<sys::EmuBackend&>(sys::GetBackend(sys::BackendKind::kEmu));
}

struct Machine {
  UniqueFd kvm, vm, gmem, vcpu;
  kvm::Vm* v = nullptr;
  kvm::Vcpu* cpu = nullptr;

  Machine(uint64_t size, uint64_t flags, uint8_t order = 0) {
    kvm.reset(ccm_open("/dev/kvm", O_RDWR));
    vm.reset(ccm_ioctl(kvm.get(), KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM));
    kvm_create_guest_memfd g{};
    g.size = size;
    g.flags = flags;
    g.page_order = order;
    gmem.reset(ccm_ioctl(vm.get(), KVM_CREATE_GUEST_MEMFD, &g));
    kvm_userspace_memory_region2 r{};
    r.flags = KVM_MEM_GUEST_MEMFD;
    r.guest_phys_addr = kGpa;
    r.memory_size = size;
    r.guest_memfd = static_cast<uint32_t>(gmem.get());
    CHECK(ccm_ioctl(vm.get(), KVM_SET_USER_MEMORY_REGION2, &r) == 0);
    vcpu.reset(ccm_ioctl(vm.get(), KVM_CREATE_VCPU, 0));
    v = &Emu().fds().GetAs<sys::VmFile>(vm.get())->vm();
    cpu = &Emu().fds().GetAs<sys::VcpuFile>(vcpu.get())->vcpu();
  }
  int Convert(uint64_t offset, uint64_t size, bool to_private) {
    kvm_memory_attributes2 a{};
    a.offset = offset;
    a.size = size;
    a.attributes = to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
    return ccm_ioctl(gmem.get(), KVM_SET_MEMORY_ATTRIBUTES2, &a);
  }
};

// Each iteration: 512 guest accesses to pages with no mapping (their folios exist, so
// this is KVM's fault path: snapshot, attribute check, get_pfn, level, install), then
// the mappings are zapped again (untimed) by a round trip conversion.
void GuestFault4K(benchmark::State& state, bool is_private) {
  constexpr uint64_t kPages = 512;
  Machine m(kPages * kPs, GUEST_MEMFD_FLAG_MMAP | (is_private ? 0 : GUEST_MEMFD_FLAG_INIT_SHARED));
  CHECK(ccm_fallocate(m.gmem.get(), FALLOC_FL_KEEP_SIZE, 0, kPages * kPs) == 0);
  uint64_t v = 1;
  for (uint64_t p = 0; p < kPages; ++p) m.cpu->GuestAccess(kGpa + p * kPs, &v, 8, true);  // warm
  for (auto _ : state) {
    state.PauseTiming();
    CHECK(m.Convert(0, kPages * kPs, !is_private) == 0);  // zaps every leaf
    CHECK(m.Convert(0, kPages * kPs, is_private) == 0);
    state.ResumeTiming();
    for (uint64_t p = 0; p < kPages; ++p) m.cpu->GuestAccess(kGpa + p * kPs, &v, 8, false);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kPages));
  const double faults = static_cast<double>(m.v->stats().Get("faults"));
  state.counters["ns_per_fault"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kPages), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["faults"] = faults;
}
void BM_GuestFault4K_Shared(benchmark::State& s) { GuestFault4K(s, false); }
void BM_GuestFault4K_Private(benchmark::State& s) { GuestFault4K(s, true); }
BENCHMARK(BM_GuestFault4K_Shared)->Repetitions(5)->ReportAggregatesOnly(true)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GuestFault4K_Private)->Repetitions(5)->ReportAggregatesOnly(true)->Unit(benchmark::kMicrosecond);

// Fault in 1 GiB of a 1G-folio file: one guest access maps the whole GiB with one leaf.
void BM_Fault1GiBOf1GFolio(benchmark::State& state) {
  constexpr uint64_t kGiB = 1ull << 30;
  Machine m(kGiB, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_HUGETLB, 18);
  uint64_t v = 0;
  int leaves = 0;
  for (auto _ : state) {
    m.cpu->GuestAccess(kGpa + 12345 * kPs, &v, 8, false);
    state.PauseTiming();
    leaves = 0;
    m.v->ForEachMapping(0, [&](const kvm::tdp::TdpTable::Mapping&) { ++leaves; });
    m.v->ZapGfnRange(0, GfnOf(Gpa(kGpa)), GfnOf(Gpa(kGpa + kGiB)), gmem::ZapFilter::kBoth);
    state.ResumeTiming();
  }
  state.counters["leaves"] = leaves;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kGiB));
}
BENCHMARK(BM_Fault1GiBOf1GFolio)->Unit(benchmark::kMicrosecond);

// Shared <-> private conversion of a 2M range while 4 vCPUs read and write it.
struct Spin {
  uint64_t gpa;
  std::atomic<bool>* stop;
  std::atomic<uint64_t>* accesses;
};
void GuestSpin(ccm_guest* g, void* p) {
  auto* s = static_cast<Spin*>(p);
  uint64_t i = 0;
  while (!s->stop->load(std::memory_order_relaxed)) {
    const uint64_t gpa = s->gpa + (i++ % 512) * kPs;
    ccm_guest_write64(g, gpa, ccm_guest_read64(g, gpa) + 1);
    s->accesses->fetch_add(1, std::memory_order_relaxed);
  }
  ccm_guest_halt(g);
}

void BM_Convert2MWith4Vcpus(benchmark::State& state) {
  constexpr uint64_t k2M = 2 << 20;
  Machine m(k2M, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> accesses{0};
  std::vector<UniqueFd> vcpus;
  std::vector<std::thread> threads;
  Spin spin{kGpa, &stop, &accesses};
  for (int i = 1; i <= 4; ++i) {
    vcpus.emplace_back(ccm_ioctl(m.vm.get(), KVM_CREATE_VCPU, i));
    ccm_vcpu_guest g{GuestSpin, &spin};
    CHECK(ccm_ioctl(vcpus.back().get(), CCM_VCPU_SET_GUEST, &g) == 0);
    threads.emplace_back([fd = vcpus.back().get()] { (void)ccm_ioctl(fd, KVM_RUN, 0); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const uint64_t retries0 = m.v->stats().Get("fault_retries");
  const uint64_t faults0 = m.v->stats().Get("faults");
  bool to_private = true;
  for (auto _ : state) {
    // Untimed: let the guests fault the range back in (live mappings) before each
    // conversion.
    state.PauseTiming();
    const uint64_t target = accesses.load() + 2048;
    while (accesses.load() < target) std::this_thread::yield();
    state.ResumeTiming();
    CHECK(m.Convert(0, k2M, to_private) == 0);
    to_private = !to_private;
  }
  stop = true;
  for (auto& t : threads) t.join();
  const double n = static_cast<double>(state.iterations());
  state.counters["fault_retries_per_conversion"] =
      static_cast<double>(m.v->stats().Get("fault_retries") - retries0) / n;
  state.counters["guest_faults_per_conversion"] =
      static_cast<double>(m.v->stats().Get("faults") - faults0) / n;
}
BENCHMARK(BM_Convert2MWith4Vcpus)->Unit(benchmark::kMicrosecond)->UseRealTime()->MinTime(2);

}  // namespace
}  // namespace cocomem
