// Arena: the emulated machine's physical memory.
//
// One sparse memfd stands for host RAM; a PFN is a page index into it. Real memory is
// committed by the host kernel on first touch and really freed by Punch. The arena is
// mapped twice, once each:
//
//   hardware view  what the CPU/EPT and the TDX module see. Always accessible.
//   direct map     what "kernel code" (KVM, clflush, populate copies) uses. Ranges can be
//                  removed (PROT_NONE): a stray access then faults for real and is
//                  reported as a kernel oops naming the PFN.
//
// PFN ranges are reserved (PfnAllocator) by guest_memfd and the TDX module; Release
// punches the memory and restores the direct map, so a released range is clean.
//
// Huge pages: the arena asks for them where the host allows (MADV_HUGEPAGE on both views,
// effective when shmem THP is enabled), or uses a MFD_HUGETLB memfd when asked to and a
// hugetlb pool exists. With hugetlb every reservation is rounded to 2M; direct-map removal
// must then be 2M-aligned (EINVAL otherwise) and punching part of a huge page zeroes it
// instead of freeing it.
//
// Thread-safe.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/fault_injection.h"
#include "base/interval_map.h"
#include "base/memory_types.h"
#include "base/mutex.h"
#include "base/result.h"
#include "base/stats.h"
#include "host/local_mapping.h"
#include "host/pfn_allocator.h"
#include "host/pfn_range.h"

namespace cocomem::host {

// Fails the Nth Arena::Reserve with ENOMEM.
inline FaultPoint kArenaReserveFault{"host.arena.reserve"};

enum class HugePagePolicy {
  kAuto,     // 4K memfd; MADV_HUGEPAGE so shmem THP is used where the host enables it
  kHugetlb,  // MFD_HUGETLB (2M) memfd; requires free hugetlb pages, EINVAL/ENOMEM if none
  kNone,     // 4K memfd, no advice
};

enum class ArenaBacking { kSmallPages, kShmemThp, kHugetlb2M };

struct ArenaOptions {
  uint64_t capacity_bytes = 0;  // 0: DefaultCapacity(); rounded up to 1G
  HugePagePolicy huge_pages = HugePagePolicy::kAuto;
  std::string name = "cocomem-arena";

  // From COCOMEM_ARENA_SIZE (bytes, K/M/G/T suffixes) and COCOMEM_ARENA_HUGETLB=1.
  static Result<ArenaOptions> FromEnvironment();
};

// Enough for a 1 TiB guest plus metadata (S-EPT pages, TDX control structures).
uint64_t DefaultArenaCapacity();

class Arena {
 public:
  static Result<std::unique_ptr<Arena>> Create(const ArenaOptions& options);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // --- PFN ranges -------------------------------------------------------------------
  // A range of `npages` (> 0) aligned to `align`. ENOMEM when the capacity is exhausted
  // or kArenaReserveFault fires. Nothing is committed: the pages read as zero.
  Result<PfnRange> Reserve(uint64_t npages, PageOrder align);
  // Returns a range from Reserve: punches it and restores its direct map.
  void Release(PfnRange range);

  // --- views ------------------------------------------------------------------------
  std::byte* HardwareView(Pfn pfn) const { return hw_view_ + (pfn.value() << kPageShift); }
  std::byte* DirectMap(Pfn pfn) const { return direct_view_ + (pfn.value() << kPageShift); }

  // Makes the direct map of `range` inaccessible / accessible again. Idempotent per page.
  Status RemoveDirectMap(PfnRange range);
  Status RestoreDirectMap(PfnRange range);
  bool IsDirectMapped(Pfn pfn) const;
  bool IsDirectMapped(PfnRange range) const;  // every page of it
  // Pages of `range` without a direct map.
  uint64_t CountDirectMapRemoved(PfnRange range) const;

  // A fresh mapping of `range` for kernel-side code, valid until the LocalMapping dies.
  Result<LocalMapping> MapLocal(PfnRange range) const;

  // Frees the memory behind `range` (reads back zero). Mappings stay valid.
  Status Punch(PfnRange range);

  // --- facts and accounting -----------------------------------------------------------
  uint64_t capacity_bytes() const { return capacity_pages_ << kPageShift; }
  uint64_t capacity_pages() const { return capacity_pages_; }
  uint64_t reserved_bytes() const;
  // Memory the host kernel has really committed to the arena file.
  uint64_t committed_bytes() const;
  ArenaBacking backing() const { return backing_; }
  // One line on which pages the arena got and why ("4K pages: shmem THP is 'never' ...").
  const std::string& backing_description() const { return backing_description_; }
  bool Contains(const PfnRange& r) const { return r.end().value() <= capacity_pages_; }
  int memfd() const { return memfd_; }
  const StatsGroup& stats() const { return stats_; }

  // If `addr` lies in some arena's direct map: the PFN, for oops reports.
  static bool FindDirectMapAddress(const void* addr, Pfn* pfn);

 private:
  Arena() = default;
  Status ChangeDirectMap(PfnRange range, bool present);
  uint64_t granule_pages() const;

  int memfd_ = -1;
  uint64_t capacity_pages_ = 0;
  std::byte* hw_view_ = nullptr;
  std::byte* direct_view_ = nullptr;
  ArenaBacking backing_ = ArenaBacking::kSmallPages;
  std::string backing_description_;

  mutable Mutex mu_;
  PfnAllocator allocator_ GUARDED_BY(mu_){0};
  IntervalMap<Pfn, bool> direct_map_removed_ GUARDED_BY(mu_);  // runs of removed pages
  std::atomic<bool> any_direct_map_removed_{false};  // lock-free fast path of the checks

  StatsGroup stats_{"host.arena"};
  Counter reservations_{stats_, "reservations", "PFN ranges reserved"};
  Counter reserve_failures_{stats_, "reserve_failures", "reservations refused (ENOMEM)"};
  Counter releases_{stats_, "releases", "PFN ranges released"};
  Counter punched_pages_{stats_, "punched_pages", "4K pages punched (memory returned)"};
  Counter direct_map_removed_pages_{stats_, "direct_map_removed_pages",
                                    "4K pages whose direct map was removed"};
  Counter direct_map_restored_pages_{stats_, "direct_map_restored_pages",
                                     "4K pages whose direct map was restored"};
  mutable Counter local_maps_{stats_, "local_maps", "temporary local mappings made"};
};

}  // namespace cocomem::host
