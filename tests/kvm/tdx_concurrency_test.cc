// TD vCPUs faulting, accepting and using private memory on two threads while the host
// converts pages next to theirs: every conversion of a 4K page inside a 2M leaf splits
// it (BLOCK, TRACK, kick, DEMOTE) and zaps the page (BLOCK, TRACK, kick, REMOVE) under
// the vCPUs' feet. Run under ThreadSanitizer by `make test`.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "conformance/td_util.h"
#include "kvm/kvm.h"
#include "kvm/tdx/tdx_vm.h"
#include "kvm/vm.h"
#include "sys/emu_backend.h"
#include "sys/vm_file.h"
#include "test_seed.h"

namespace cocomem::kvm {
namespace {

using td_util::TestTd;

constexpr uint64_t k4K = 4096, k2M = 2ull << 20;
constexpr uint64_t kHugeSize = 8 * k2M;     // 2M folios, accepted at 2M: odd pages used
constexpr uint64_t kLazyBase = kHugeSize;   // 4K folios, accepted page by page
constexpr uint64_t kLazySize = 2 * k2M;

struct GuestArgs {
  uint64_t base;  // this vCPU's half of the huge region
  bool lazy;      // also accept the lazy region page by page
  std::atomic<bool>* stop;
  std::atomic<uint64_t> rounds{0};
};

void Guest(ccm_guest* g, void* arg) {
  auto* a = static_cast<GuestArgs*>(arg);
  const uint64_t half = kHugeSize / 2;
  for (uint64_t off = 0; off < half; off += k2M) {
    if (ccm_guest_tdx_accept(g, a->base + off, 1) != 0) return ccm_guest_sync(g, 1000 + off / k2M);
  }
  uint64_t lazy_next = 0;
  for (uint64_t round = 1; !a->stop->load(std::memory_order_relaxed); ++round) {
    for (uint64_t off = k4K; off < half; off += 2 * k4K) {  // odd pages only
      const uint64_t gpa = a->base + off;
      ccm_guest_write64(g, gpa, gpa ^ round);
      if (ccm_guest_read64(g, gpa) != (gpa ^ round)) return ccm_guest_sync(g, 2000);
    }
    if (a->lazy && lazy_next < kLazySize) {
      for (int i = 0; i < 16 && lazy_next < kLazySize; ++i, lazy_next += k4K) {
        const uint64_t gpa = kLazyBase + lazy_next;
        if (ccm_guest_tdx_accept(g, gpa, 0) != 0) return ccm_guest_sync(g, 3000);
        if (ccm_guest_read64(g, gpa + 8) != 0) return ccm_guest_sync(g, 3001);
        ccm_guest_write64(g, gpa, gpa);
      }
    }
    a->rounds.store(round, std::memory_order_relaxed);
  }
  // Everything the guest wrote is still there.
  for (uint64_t off = 0; off < lazy_next; off += k4K) {
    if (ccm_guest_read64(g, kLazyBase + off) != kLazyBase + off) return ccm_guest_sync(g, 4000);
  }
  ccm_guest_sync(g, 1);
}

TEST(TdxConcurrencyTest, VcpusUsePagesWhileHostSplitsAndZapsNeighbours) {
  TestTd td;
  ASSERT_EQ(td.InitVm(), 0) << std::strerror(errno);
  const int huge = td.CreateGmem(kHugeSize, GUEST_MEMFD_FLAG_HUGETLB, 9);
  const int lazy = td.CreateGmem(kLazySize, 0);
  ASSERT_GE(huge, 0);
  ASSERT_GE(lazy, 0);
  ASSERT_EQ(td.AddSlot(0, 0, kHugeSize, huge, 0), 0);
  ASSERT_EQ(td.AddSlot(1, kLazyBase, kLazySize, lazy, 0), 0);
  std::atomic<bool> stop{false};
  GuestArgs a0{.base = 0, .lazy = false, .stop = &stop};
  GuestArgs a1{.base = kHugeSize / 2, .lazy = true, .stop = &stop};
  const size_t v0 = td.AddTdVcpu(0, Guest, &a0);
  const size_t v1 = td.AddTdVcpu(1, Guest, &a1);
  ASSERT_EQ(td.Finalize(), 0);

  uint64_t results[2] = {0, 0};
  std::vector<std::thread> cpus;
  for (size_t v : {v0, v1}) {
    cpus.emplace_back([&, v] {
      const vm_util::RunResult r = td.Run(v);
      results[v] = r.rc == 0 && r.exit_reason == KVM_EXIT_IO ? TestTd::SyncValue(td.run(v)) : 99;
    });
  }
  // Wait until both guests are past their 2M accepts, then convert even pages both ways.
  while (a0.rounds.load() == 0 || a1.rounds.load() == 0) std::this_thread::yield();
  std::mt19937_64 rng(test::BaseSeed());
  int conversions = 0;
  for (int i = 0; i < 64; ++i) {
    const uint64_t page = (rng() % (kHugeSize / k4K)) & ~uint64_t{1};  // even pages only
    ASSERT_EQ(td.SetGmemAttributes(huge, page * k4K, k4K, false), 0) << std::strerror(errno);
    ASSERT_EQ(td.SetGmemAttributes(huge, page * k4K, k4K, true), 0) << std::strerror(errno);
    conversions += 2;
  }
  const uint64_t r0 = a0.rounds.load(), r1 = a1.rounds.load();
  while (a0.rounds.load() < r0 + 2 || a1.rounds.load() < r1 + 2) std::this_thread::yield();
  stop.store(true);
  for (auto& t : cpus) t.join();
  EXPECT_EQ(results[v0], 1u);
  EXPECT_EQ(results[v1], 1u);

  Vm& vm = static_cast<sys::EmuBackend&>(sys::GetBackend(sys::BackendKind::kEmu))
               .fds().GetAs<sys::VmFile>(td.vm())->vm();
  EXPECT_FALSE(vm.dead()) << vm.dead_reason();
  EXPECT_EQ(vm.tdx()->CheckInvariants(), std::vector<std::string>{});
  EXPECT_EQ(vm.CheckInvariants(), std::vector<std::string>{});
  EXPECT_GE(vm.tdx()->stats().Get("leaves_demoted"), 1u);
  EXPECT_GE(vm.tdx()->stats().Get("kicks"), 1u);
  EXPECT_EQ(conversions, 128);
}

}  // namespace
}  // namespace cocomem::kvm
