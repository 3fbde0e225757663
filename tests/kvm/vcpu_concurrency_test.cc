// vCPUs writing and verifying guest memory while the host converts (in place, through
// KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd) and punches (PUNCH_HOLE) underneath
// (labelled `concurrency`: `make test` also runs it under ThreadSanitizer).
//
// What must hold: no stale mapping is ever used. Every guest access goes through the TDP,
// faulting as needed; a conversion or punch zaps and the next access faults again. So
//   - a value a guest wrote is read back by the same guest, unless a punch of that page
//     was in progress or came after the write started, and then it reads 0;
//   - a write never lands anywhere else: a page holds only the slots the guests write,
//     each tagged with (vCPU, iteration, page), and pages no guest writes stay zero;
//   - at the end, through the host's mmap, every slot holds the last value its guest wrote
//     (or 0 after a later punch), and the VM's mappings and the guest_memfd satisfy their
//     invariants.
//
// Every page is written by every vCPU (each at its own two slots), so vCPUs also race each
// other's faults on the same GFNs. Two layouts: 4K pages (INIT_SHARED), and 2M folios
// (HUGETLB, order 9), where conversions split and merge folios, private faults map 2M
// leaves and partial conversions split them, so a wrong frame offset would misdirect.
#include <linux/falloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "conformance/vm_util.h"
#include "gmem/gmem_file.h"
#include "kvm/vm.h"
#include "sys/emu_backend.h"
#include "sys/vm_file.h"
#include "test_seed.h"

namespace cocomem {
namespace {

using vm_util::TestVm;

constexpr uint64_t kGpa = 4ull << 30;
constexpr uint64_t kPs = 4096;
constexpr uint64_t kHugePages = 512;  // 4K pages in a 2M folio
constexpr int kVcpus = 3;
constexpr uint64_t kWordsPerPage = kPs / 8;
constexpr uint64_t kDoneSync = ~uint64_t{0};
// ~1.5 s per layout in the dev build (Debug + ASan); ~1 s under TSan (RelWithDebInfo), so
// no scaling down there.
constexpr int kIterations = 500;

sys::EmuBackend& Emu() {
  return static_cast<sys::EmuBackend&>(sys::GetBackend(sys::BackendKind::kEmu));
}

// vCPU v owns two 64-bit slots of every page it writes: word v and word 511 - v.
uint64_t SlotA(int v) {
  return static_cast<uint64_t>(v) * 8;
}
uint64_t SlotB(int v) {
  return (kWordsPerPage - 1 - static_cast<uint64_t>(v)) * 8;
}
uint64_t Tag(int v, int k, uint64_t page) {
  return (uint64_t{0xc0} << 56) | (static_cast<uint64_t>(v + 1) << 48) |
         (static_cast<uint64_t>(k + 1) << 20) | (page << 4) | 0x5;
}
uint64_t TagB(int v, int k, uint64_t page) {
  return ~Tag(v, k, page);
}

std::string Hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%#" PRIx64, v);
  return b;
}

struct Layout {
  const char* name;
  uint64_t gmem_pages;
  uint64_t flags;
  uint8_t page_order;           // 0, or 9 for 2M folios
  std::vector<uint64_t> pages;  // the file pages the guests write
};

// Per-page punch counters, bumped by the puncher around each PUNCH_HOLE covering the page:
// `begun` before the call, `ended` after it returned. A read of 0 is explained by a punch
// iff some punch of the page had begun by the time of the read but had not ended when the
// write started, i.e. iff begun (loaded after the read) > ended (loaded before the write).
// (A punch zeroes only after its zap, and a guest sees the zeroed page only through a
// mapping installed after the punch released the invalidate lock, so the load after the
// read sees its `begun`.)
struct PunchCounters {
  std::atomic<uint64_t> begun{0};
  std::atomic<uint64_t> ended{0};
};

struct Shared {
  explicit Shared(uint64_t npages) : punch(new PunchCounters[npages]) {}
  std::unique_ptr<PunchCounters[]> punch;
  std::atomic<uint64_t> checks{0};            // guest read-backs
  std::atomic<uint64_t> zero_after_punch{0};  // read-backs explained by a punch
  std::atomic<int> failures{0};
  std::mutex mu;
  std::vector<std::string> messages;  // the first few failures

  void Fail(const std::string& what) {
    if (failures.fetch_add(1) < 10) {
      std::lock_guard<std::mutex> l(mu);
      messages.push_back(what);
    }
  }
};

struct GuestArgs {
  int vcpu;
  uint64_t order_seed;
  const Layout* layout;
  Shared* shared;
  // Written by the guest thread, read by the host after the guest halted (KVM_RUN's
  // handoff orders them): per written page, the last iteration and `ended` before it.
  std::vector<int> last_iteration;
  std::vector<uint64_t> ended_before_last_write;
};

// Guest: kIterations times, for every page of the layout in a random order: write both
// slots, read them back and check them; sync (KVM_EXIT_IO) after every iteration.
void GuestWriteVerify(ccm_guest* g, void* p) {
  auto* a = static_cast<GuestArgs*>(p);
  Shared& s = *a->shared;
  const int v = a->vcpu;
  const std::vector<uint64_t>& pages = a->layout->pages;
  std::vector<size_t> order(pages.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937_64 rng(a->order_seed);
  for (int k = 0; k < kIterations; ++k) {
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t idx : order) {
      const uint64_t page = pages[idx];
      const uint64_t gpa = kGpa + page * kPs;
      const uint64_t ended = s.punch[page].ended.load(std::memory_order_acquire);
      const uint64_t ta = Tag(v, k, page), tb = TagB(v, k, page);
      ccm_guest_write64(g, gpa + SlotA(v), ta);
      ccm_guest_write64(g, gpa + SlotB(v), tb);
      a->last_iteration[idx] = k;
      a->ended_before_last_write[idx] = ended;
      const uint64_t ra = ccm_guest_read64(g, gpa + SlotA(v));
      const uint64_t rb = ccm_guest_read64(g, gpa + SlotB(v));
      const uint64_t begun = s.punch[page].begun.load(std::memory_order_acquire);
      s.checks.fetch_add(1, std::memory_order_relaxed);
      if (ra == ta && rb == tb) continue;
      // A punch may zero either slot or both (the two writes are separate accesses);
      // whatever survived must be this write.
      const bool punched = begun > ended;
      if ((ra == ta || (punched && ra == 0)) && (rb == tb || (punched && rb == 0))) {
        s.zero_after_punch.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      s.Fail("vCPU " + std::to_string(v) + " iteration " + std::to_string(k) + " page " +
             std::to_string(page) + ": wrote " + Hex(ta) + "/" + Hex(tb) + ", read back " +
             Hex(ra) + "/" + Hex(rb) + " (punches begun after the read " + std::to_string(begun) +
             ", ended before the write " + std::to_string(ended) + ")");
    }
    ccm_guest_sync(g, static_cast<uint64_t>(k));
  }
  ccm_guest_sync(g, kDoneSync);
}

uint64_t Stat(const StatsGroup& g, const char* name) {
  return g.Get(name);
}

// Live checks of the leaves over file pages [first, first + n), made by the only thread
// that changes what they check, so they cannot race with it:
//  - `attrs_stable` (the converter, right after its conversion: attributes change only
//    through it, a punch keeps them): every leaf there is of the kind its attribute says
//    and lies over pages of one attribute. A leaf left over from before the conversion,
//    or installed by a fault that should have retried, fails this.
//  - `folios_stable` (the puncher, right after its punch: folios disappear only through
//    it): every leaf there maps a page that has a folio, i.e. no leaf survived the punch
//    and no fault that raced it installed one without allocating again.
// Both also check the leaf's frame for the page (fixed: the file's PFNs never move).
std::string CheckLeaves(const kvm::Vm& vm, gmem::Inode& inode, uint64_t first, uint64_t n,
                        bool attrs_stable, bool folios_stable) {
  const Gfn base = GfnOf(Gpa(kGpa));
  for (uint64_t page = first; page < first + n; ++page) {
    const Gfn gfn = base + page;
    std::optional<kvm::tdp::TdpTable::Mapping> m = vm.LookupMapping(0, gfn);
    if (!m) continue;
    const std::string where = "page " + std::to_string(page) + " (leaf at page " +
                              std::to_string(m->gfn - base) + ", level " +
                              std::to_string(static_cast<int>(m->level)) + ", " +
                              (m->spte.is_private() ? "private" : "shared") + ")";
    if (m->FrameOf(gfn) != inode.PfnOf(PgOff(page)).value()) return where + ": wrong frame";
    if (attrs_stable) {
      const uint64_t ls = m->gfn - base, le = ls + kvm::tdp::PagesAt(m->level);
      const gmem::MemAttr want =
          m->spte.is_private() ? gmem::MemAttr::kPrivate : gmem::MemAttr::kShared;
      if (!inode.RangeHasAttr(PgOff(ls), PgOff(le), want)) {
        return where + ": stale leaf, disagrees with the attributes after a conversion";
      }
    }
    if (folios_stable && !inode.FolioOrderAt(PgOff(page))) {
      return where + ": stale leaf, maps a page punched out of the file";
    }
  }
  return "";
}

void RunStress(const Layout& layout) {
  const uint64_t seed = test::BaseSeed();
  const auto t0 = std::chrono::steady_clock::now();
  const bool huge = layout.page_order != 0;
  const uint64_t npages = layout.gmem_pages;
  const uint64_t size = npages * kPs;
  const uint64_t punch_pages = huge ? kHugePages : 1;  // huge files punch whole folios

  // What the guests use outlives the VM (whose teardown unwinds any guest still parked).
  Shared shared(npages);
  std::vector<std::unique_ptr<GuestArgs>> args;
  TestVm vm(KVM_X86_SW_PROTECTED_VM);
  ASSERT_GE(vm.vm(), 0) << std::strerror(errno);
  const int gmem = vm.CreateGmem(size, layout.flags, layout.page_order);
  ASSERT_GE(gmem, 0) << std::strerror(errno);
  ASSERT_EQ(vm.AddSlot(0, kGpa, size, gmem, 0), 0) << std::strerror(errno);
  auto* host =
      static_cast<uint64_t*>(ccm_mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, gmem, 0));
  ASSERT_NE(host, MAP_FAILED) << std::strerror(errno);

  std::shared_ptr<sys::VmFile> vm_file = Emu().fds().GetAs<sys::VmFile>(vm.vm());
  std::shared_ptr<gmem::GmemFile> gmem_file = Emu().fds().GetAs<gmem::GmemFile>(gmem);
  ASSERT_TRUE(vm_file && gmem_file);
  kvm::Vm& kvm_vm = vm_file->vm();
  gmem::Inode& inode = gmem_file->inode();

  std::vector<size_t> vcpus;
  for (int v = 0; v < kVcpus; ++v) {
    auto a = std::make_unique<GuestArgs>();
    a->vcpu = v;
    a->order_seed = seed * 31 + static_cast<uint64_t>(v);
    a->layout = &layout;
    a->shared = &shared;
    a->last_iteration.assign(layout.pages.size(), -1);
    a->ended_before_last_write.assign(layout.pages.size(), 0);
    vcpus.push_back(vm.AddVcpu(static_cast<uint32_t>(v), GuestWriteVerify, a.get()));
    args.push_back(std::move(a));
  }

  // One host thread per vCPU, calling KVM_RUN until its guest halts.
  std::atomic<int> running{kVcpus};
  std::atomic<uint64_t> syncs{0};  // guest iterations done, all vCPUs
  std::atomic<uint64_t> memory_fault_exits{0};
  std::atomic<int> host_failures{0};
  std::vector<int> finished(kVcpus, 0);
  std::vector<std::thread> threads;
  for (int v = 0; v < kVcpus; ++v) {
    threads.emplace_back([&, v] {
      const size_t i = vcpus[v];
      int next = 0;
      for (;;) {
        const vm_util::RunResult r = vm.Run(i);
        kvm_run* run = vm.run(i);
        if (r.rc != 0) {
          // A conversion between the access's attribute lookup and the fault path's
          // recheck is a memory-fault exit, as in KVM (kvm_mmu_page_fault samples
          // kvm_mem_is_private, kvm_mmu_faultin_pfn checks it again): the guest retries
          // the access on the next KVM_RUN.
          if (r.error == EFAULT && r.exit_reason == KVM_EXIT_MEMORY_FAULT &&
              run->memory_fault.gpa >= kGpa && run->memory_fault.gpa < kGpa + size &&
              run->memory_fault.size == kPs) {
            memory_fault_exits.fetch_add(1, std::memory_order_relaxed);
            continue;
          }
          ADD_FAILURE() << "vCPU " << v << ": KVM_RUN failed: " << std::strerror(r.error)
                        << ", exit " << r.exit_reason;
          host_failures++;
          break;
        }
        if (r.exit_reason == KVM_EXIT_IO && run->io.port == CCM_SYNC_PORT) {
          const uint64_t value = TestVm::SyncValue(run);
          if (value == kDoneSync) continue;  // the next KVM_RUN halts
          if (value != static_cast<uint64_t>(next)) {
            ADD_FAILURE() << "vCPU " << v << " synced " << value << ", expected " << next;
            host_failures++;
            break;
          }
          ++next;
          syncs.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        if (r.exit_reason == KVM_EXIT_HLT) {
          finished[v] = next == kIterations;
          break;
        }
        ADD_FAILURE() << "vCPU " << v << ": unexpected exit " << r.exit_reason;
        host_failures++;
        break;
      }
      running--;
    });
  }

  // The converter: random page ranges both ways (contents preserved in place). With 2M
  // folios, a third of the time it makes a whole folio private (a merge: the guests' next
  // private faults map it with a 2M leaf) and at once converts part of it back to shared
  // while those faults are under way (split of the leaf and of the folio).
  std::atomic<uint64_t> conversions{0}, punches{0};
  std::thread converter([&] {
    std::mt19937_64 rng(seed);
    auto convert = [&](uint64_t first, uint64_t n, bool to_private) {
      if (vm.SetGmemAttributes(gmem, first * kPs, n * kPs, to_private) != 0) {
        ADD_FAILURE() << "KVM_SET_MEMORY_ATTRIBUTES2 [" << first << ", +" << n << ") -> "
                      << (to_private ? "private" : "shared") << ": " << std::strerror(errno);
        return false;
      }
      conversions++;
      // The whole leaf around each page is checked, so check what the range touches.
      if (std::string e = CheckLeaves(kvm_vm, inode, first, n, true, false); !e.empty()) {
        ADD_FAILURE() << "after converting [" << first << ", +" << n << ") to "
                      << (to_private ? "private" : "shared") << ": " << e;
        return false;
      }
      return true;
    };
    while (running.load() > 0) {
      // Paced by the guests' progress: a converter looping flat out holds the (writer-
      // preferring) invalidate lock so often that the guests barely get to run.
      if (conversions.load() > 4 * syncs.load(std::memory_order_relaxed) + 16) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        continue;
      }
      bool ok;
      if (huge && rng() % 3 == 0) {
        const uint64_t block = rng() % (npages / kHugePages) * kHugePages;
        ok = convert(block, kHugePages, true);
        // Let the guests start faulting the merged folio, then take part of it back: half
        // the time as soon as possible, half the time once a 2M leaf maps it (a split).
        if (rng() & 1) {
          const Gfn gfn = GfnOf(Gpa(kGpa)) + block;  // page 0 of a folio is written
          const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
          for (;;) {
            std::optional<kvm::tdp::TdpTable::Mapping> m = kvm_vm.LookupMapping(0, gfn);
            if ((m && m->level == kvm::tdp::Level::k2M) || std::chrono::steady_clock::now() > until)
              break;
            std::this_thread::yield();
          }
        } else {
          for (uint64_t i = rng() % 4; i > 0; --i) std::this_thread::yield();
        }
        const uint64_t n = 1 + rng() % 32;
        ok = ok && convert(block + rng() % (kHugePages - n + 1), n, false);
        // The leaves of the rest of the folio, mapped meanwhile, must not cover it.
        if (ok) {
          if (std::string e = CheckLeaves(kvm_vm, inode, block, kHugePages, true, false);
              !e.empty()) {
            ADD_FAILURE() << "after a partial conversion of the folio at page " << block << ": "
                          << e;
            ok = false;
          }
        }
      } else {
        const uint64_t n = 1 + rng() % (huge ? 32 : 8);
        ok = convert(rng() % (npages - n + 1), n, rng() & 1);
      }
      if (!ok) {
        host_failures++;
        return;
      }
      if (rng() % 4 == 0) std::this_thread::yield();
    }
  });
  // The puncher: one or two pages (one 2M folio) at a time, less often than conversions so
  // that most read-backs see their own write.
  std::thread puncher([&] {
    std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ull);
    while (running.load() > 0) {
      if (punches.load() > 4 * syncs.load(std::memory_order_relaxed) + 16) {  // paced too
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        continue;
      }
      const uint64_t n = huge ? punch_pages : 1 + rng() % 2;
      const uint64_t first =
          huge ? rng() % (npages / kHugePages) * kHugePages : rng() % (npages - n + 1);
      for (uint64_t p = first; p < first + n; ++p) shared.punch[p].begun.fetch_add(1);
      if (ccm_fallocate(gmem, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                        static_cast<off_t>(first * kPs), static_cast<off_t>(n * kPs)) != 0) {
        ADD_FAILURE() << "PUNCH_HOLE [" << first << ", +" << n << "): " << std::strerror(errno);
        host_failures++;
        return;
      }
      for (uint64_t p = first; p < first + n; ++p) shared.punch[p].ended.fetch_add(1);
      punches++;
      if (std::string e = CheckLeaves(kvm_vm, inode, first, n, false, true); !e.empty()) {
        ADD_FAILURE() << "after punching [" << first << ", +" << n << "): " << e;
        host_failures++;
        return;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(huge ? 1000 : 200));
    }
  });
  for (auto& t : threads) t.join();
  converter.join();
  puncher.join();
  const auto t1 = std::chrono::steady_clock::now();

  EXPECT_EQ(host_failures.load(), 0);
  for (int v = 0; v < kVcpus; ++v) EXPECT_TRUE(finished[v]) << "vCPU " << v << " did not finish";
  EXPECT_EQ(shared.failures.load(), 0);
  for (const std::string& m : shared.messages) ADD_FAILURE() << m;
  EXPECT_EQ(shared.checks.load(), uint64_t{kVcpus} * layout.pages.size() * kIterations);

  // Invariants with the final mappings in place, then again after making everything
  // shared, when the host reads every word of the file through its mmap.
  std::vector<std::string> vm_bad = kvm_vm.CheckInvariants();
  EXPECT_TRUE(vm_bad.empty()) << vm_bad.front();
  std::vector<std::string> inode_bad = inode.CheckInvariants();
  EXPECT_TRUE(inode_bad.empty()) << inode_bad.front();
  ASSERT_EQ(vm.SetGmemAttributes(gmem, 0, size, false), 0) << std::strerror(errno);
  std::vector<int> written(npages, -1);  // page -> index in layout.pages
  for (size_t i = 0; i < layout.pages.size(); ++i) written[layout.pages[i]] = static_cast<int>(i);
  int bad = 0;
  for (uint64_t page = 0; page < npages && bad < 10; ++page) {
    const uint64_t* w = host + page * kWordsPerPage;
    const uint64_t begun = shared.punch[page].begun.load();
    for (uint64_t word = 0; word < kWordsPerPage && bad < 10; ++word) {
      uint64_t want = 0;
      bool zero_ok = true;
      if (written[page] >= 0) {
        const size_t idx = static_cast<size_t>(written[page]);
        for (int v = 0; v < kVcpus; ++v) {
          if (word != SlotA(v) / 8 && word != SlotB(v) / 8) continue;
          const GuestArgs& a = *args[v];
          const int k = a.last_iteration[idx];
          want = word == SlotA(v) / 8 ? Tag(v, k, page) : TagB(v, k, page);
          zero_ok = begun > a.ended_before_last_write[idx];
        }
      }
      if (w[word] == want || (w[word] == 0 && zero_ok)) continue;
      ADD_FAILURE() << "host: page " << page << " word " << word << " holds " << Hex(w[word])
                    << ", expected " << Hex(want) << (zero_ok && want != 0 ? " or 0" : "");
      ++bad;
    }
  }
  vm_bad = kvm_vm.CheckInvariants();
  EXPECT_TRUE(vm_bad.empty()) << vm_bad.front();
  inode_bad = inode.CheckInvariants();
  EXPECT_TRUE(inode_bad.empty()) << inode_bad.front();

  const StatsGroup& st = kvm_vm.stats();
  const StatsGroup& gst = inode.stats();
  std::printf("%s: %.2fs, %d vCPUs x %d iterations x %zu pages; %" PRIu64 " conversions, %" PRIu64
              " punches; %" PRIu64 " read-backs (%" PRIu64 " zeroed by a punch); faults %" PRIu64
              " (2M leaves %" PRIu64 "), fault_retries %" PRIu64 ", faults_spurious %" PRIu64
              ", zapped_pages %" PRIu64 ", tdp_splits %" PRIu64 ", folio splits/merges %" PRIu64
              "/%" PRIu64 ", memory-fault exits %" PRIu64 "\n",
              layout.name, std::chrono::duration<double>(t1 - t0).count(), kVcpus, kIterations,
              layout.pages.size(), conversions.load(), punches.load(), shared.checks.load(),
              shared.zero_after_punch.load(), Stat(st, "faults"), Stat(st, "faults_mapped_2m"),
              Stat(st, "fault_retries"), Stat(st, "faults_spurious"), Stat(st, "zapped_pages"),
              Stat(st, "tdp_splits"), Stat(gst, "folio_splits"), Stat(gst, "folio_merges"),
              memory_fault_exits.load());
  std::fflush(stdout);
  // The run really raced conversions and punches against faults.
  EXPECT_GT(conversions.load(), 0u);
  EXPECT_GT(punches.load(), 0u);
  EXPECT_GT(Stat(gst, "conversions"), 0u);
  EXPECT_GT(Stat(gst, "punches"), 0u);
  EXPECT_GT(Stat(st, "faults"), 0u);
  EXPECT_GT(Stat(st, "zapped_pages"), 0u);
  EXPECT_GT(Stat(st, "fault_retries"), 0u);
  if (huge) {  // and 2M leaves were made, split, and folios split and merged
    EXPECT_GT(Stat(st, "faults_mapped_2m"), 0u);
    EXPECT_GT(Stat(st, "tdp_splits"), 0u);
    EXPECT_GT(Stat(gst, "folio_splits"), 0u);
    EXPECT_GT(Stat(gst, "folio_merges"), 0u);
  }

  ccm_munmap(host, size);
}

TEST(VcpuConcurrency, GuestWritesSurviveConversionsAndPunchesReadZero) {
  REQUIRE_GUEST_CODE();
  Layout layout{"4K pages", 64, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED, 0, {}};
  for (uint64_t p = 0; p < 64; ++p) layout.pages.push_back(p);
  RunStress(layout);
}

TEST(VcpuConcurrency, HugeFoliosSplitAndMergeUnderGuestAccesses) {
  REQUIRE_GUEST_CODE();
  // Two 2M folios; the guests write 32 pages of each, spread out (and both edges), the
  // rest of the file must stay zero.
  Layout layout{
      "2M folios", 2 * kHugePages, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_HUGETLB, 9, {}};
  for (uint64_t h = 0; h < 2; ++h) {
    for (uint64_t i = 0; i < 32; ++i)
      layout.pages.push_back(h * kHugePages + i * 16 + (i * 7) % 16);
    layout.pages.back() = h * kHugePages + kHugePages - 1;
  }
  RunStress(layout);
}

}  // namespace
}  // namespace cocomem
