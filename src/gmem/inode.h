// Inode: the memory of one guest_memfd (struct gmem_inode): its size and flags, the PFNs
// it reserved at create, its folios, the shared/private attribute of every page, its host
// mappings, and the VMs listening for invalidations.
//
// Locking (docs/design/locking.md): invalidate_lock_ is shared for lookups, allocation and
// memory failure, exclusive for conversion, punch and populate; mappings_mu_ then
// folios_mu_ nest inside it.
//
// Invariants (CheckInvariants):
//   - attrs_ covers [0, npages) exactly and is canonical
//   - every folio lies inside the file, aligned to its order; huge folios only over
//     entirely private ranges
//   - no host mapping maps a private, poisoned or out-of-file page (checked against the
//     process's real page tables via /proc/self/maps)
//   - a NO_DIRECT_MAP file has no direct map for any of its PFNs
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/interval_map.h"
#include "base/mutex.h"
#include "base/result.h"
#include "base/stats.h"
#include "gmem/attributes.h"
#include "gmem/folio_map.h"
#include "gmem/invalidation.h"
#include "gmem/user_mapping.h"
#include "host/arena.h"

namespace cocomem::gmem {

// Fails the attribute store's preallocation (ENOMEM, error_offset = offset).
inline FaultPoint kAttrPreallocFault{"gmem.attr.prealloc"};
// Makes merging split folios back into a huge folio fail (the folios stay split).
inline FaultPoint kFolioMergeFault{"gmem.folio.merge"};

class Inode {
 public:
  struct Config {
    uint64_t size = 0;  // bytes, a multiple of the page size (the huge size for huge files)
    uint64_t flags = 0;
    PageOrder order = PageOrder::k4K;
    bool no_direct_map = false;
    MemAttr initial = MemAttr::kPrivate;
  };

  // Reserves the PFNs for the whole size (ENOMEM when the arena cannot hold them).
  static Result<std::shared_ptr<Inode>> Create(host::Arena& arena, const Config& config);
  ~Inode();
  Inode(const Inode&) = delete;
  Inode& operator=(const Inode&) = delete;

  uint64_t size() const { return config_.size; }
  uint64_t npages() const { return config_.size >> kPageShift; }
  uint64_t flags() const { return config_.flags; }
  PageOrder order() const { return config_.order; }
  bool no_direct_map() const { return config_.no_direct_map; }
  host::PfnRange pfns() const { return pfns_; }
  Pfn PfnOf(PgOff off) const { return pfns_.start + off.value(); }
  host::Arena& arena() const { return arena_; }

  // ---- fallocate (arguments already validated) ----------------------------------------
  // Allocates folios for [start, end) and commits their memory. ENOMEM leaves what was
  // allocated before the failure in place, like the kernel.
  Status Allocate(PgOff start, PgOff end) EXCLUDES(invalidate_lock_);
  // Frees [start, end): invalidate, split crossing huge mappings, zap, truncate (memory
  // really returns to the host), end. Attributes are kept. All or nothing.
  Status Punch(PgOff start, PgOff end) EXCLUDES(invalidate_lock_);

  // ---- in-place conversion (KVM_SET_MEMORY_ATTRIBUTES2), all or nothing ---------------
  // EAGAIN (a pinned folio) or ENOMEM, with *error_index = the page to report.
  Status SetAttributes(PgOff start, PgOff end, MemAttr attr, PgOff* error_index)
      EXCLUDES(invalidate_lock_);
  MemAttr AttrAt(PgOff off) const EXCLUDES(invalidate_lock_);
  // Whether every page of [start, end) has attribute `attr` (huge mappings need this).
  bool RangeHasAttr(PgOff start, PgOff end, MemAttr attr) const EXCLUDES(invalidate_lock_);
  // The order of the folio holding `off`, if one is present.
  std::optional<PageOrder> FolioOrderAt(PgOff off) const EXCLUDES(invalidate_lock_);
  // Attribute runs, for reports and tests.
  std::vector<std::pair<std::pair<PgOff, PgOff>, MemAttr>> AttributeRuns() const
      EXCLUDES(invalidate_lock_);

  // ---- KVM side ----------------------------------------------------------------------
  struct PfnInfo {
    Pfn pfn;
    PageOrder max_order;  // the folio's order
  };
  // kvm_gmem_get_pfn: allocates the folio on first use (and marks it uptodate);
  // EHWPOISON for a poisoned folio; EINVAL beyond EOF.
  Result<PfnInfo> GetPfn(PgOff off) EXCLUDES(invalidate_lock_);

  // Kernel-side access to file pages [off, off + npages) (populate copies, KVM reads):
  // through the direct map, or through a temporary local mapping when the file has no
  // direct map (decision 4). fn gets the address of page `off`.
  Status WithKernelMapping(PgOff off, uint64_t npages, const std::function<void(std::byte*)>& fn)
      const;

  // ---- host mappings -----------------------------------------------------------------
  // ENODEV without MMAP, EINVAL for a private mapping; maps `len` bytes at file `offset`.
  Result<void*> Mmap(void* addr, size_t len, int prot, int flags, uint64_t offset)
      EXCLUDES(invalidate_lock_);
  // Forgets (and unmaps) the part of the host mappings in [addr, addr + len).
  void Munmap(std::byte* addr, size_t len) EXCLUDES(invalidate_lock_);
  // The file page that host address `addr` shows through one of the mappings, if any.
  std::optional<PgOff> PageAtAddress(const void* addr) const EXCLUDES(invalidate_lock_);
  // Emulated long-term GUP of the page at `off`: EFAULT for a private, poisoned or
  // out-of-file page and for NO_DIRECT_MAP files; allocates the folio like a fault.
  Status Pin(PgOff off) EXCLUDES(invalidate_lock_);
  void Unpin(PgOff off) EXCLUDES(invalidate_lock_);

  // ---- memory failure ----------------------------------------------------------------
  // Poisons the folio holding `off` (allocating it if needed): guest mappings of both
  // kinds are zapped, host access SIGBUSes, nothing is truncated.
  Status InjectMemoryFailure(PgOff off) EXCLUDES(invalidate_lock_);

  // ---- KVM bindings -------------------------------------------------------------------
  void AddListener(InvalidationListener* l) EXCLUDES(invalidate_lock_);
  void RemoveListener(InvalidationListener* l) EXCLUDES(invalidate_lock_);
  // Runs fn with the invalidate lock held exclusively (kvm_gmem_bind / unbind).
  Status WithInvalidateLockHeld(const std::function<Status()>& fn) EXCLUDES(invalidate_lock_);
  // kvm_gmem_release: invalidates the whole file on every listener, tells each the file is
  // gone and forgets them all.
  void ReleaseListeners() EXCLUDES(invalidate_lock_);

  // ---- inspection --------------------------------------------------------------------
  // Empty when every invariant holds; otherwise one line per violation naming the page.
  std::vector<std::string> CheckInvariants() const EXCLUDES(invalidate_lock_);
  struct FolioInfo {
    PgOff start;
    Folio folio;
  };
  std::vector<FolioInfo> Folios() const EXCLUDES(invalidate_lock_);
  uint64_t present_pages() const EXCLUDES(invalidate_lock_);
  uint64_t folio_metadata_bytes() const EXCLUDES(invalidate_lock_);
  // Number of folios and of metadata runs (a run holds alike consecutive 4K folios).
  uint64_t folio_count() const EXCLUDES(invalidate_lock_);
  size_t folio_run_count() const EXCLUDES(invalidate_lock_);
  size_t user_mapping_count() const EXCLUDES(invalidate_lock_);
  const StatsGroup& stats() const { return stats_; }

 private:
  Inode(host::Arena& arena, const Config& config, host::PfnRange pfns);

  uint64_t arena_offset() const { return pfns_.start.value() << kPageShift; }
  // Allocates the folio for `off` if absent (whole huge page; split to 4K unless the huge
  // range is entirely private). The folio containing `off` afterwards.
  Result<FolioMap::FolioRef> GetOrAllocFolioLocked(PgOff off) REQUIRES(folios_mu_)
      REQUIRES_SHARED(invalidate_lock_);
  // Allocates the free parts of [start, end) (huge pages whole). ENOMEM keeps what was
  // allocated before the failure.
  Status AllocateLocked(PgOff start, PgOff end) REQUIRES(folios_mu_)
      REQUIRES_SHARED(invalidate_lock_);
  // Rewrites [start, end) of every host mapping from the current attributes/poison.
  void RefreshMappingsLocked(PgOff start, PgOff end) REQUIRES(mappings_mu_)
      REQUIRES_SHARED(invalidate_lock_);
  void RefreshMappingLocked(const UserMapping& m, PgOff start, PgOff end) REQUIRES(mappings_mu_)
      REQUIRES_SHARED(invalidate_lock_);
  ZapFilter FilterOverLocked(PgOff start, PgOff end) const REQUIRES_SHARED(invalidate_lock_);
  // Begin + SplitCrossBoundary on every listener; on failure ends what began.
  Status BeginInvalidateLocked(PgOff start, PgOff end, bool split) REQUIRES(invalidate_lock_);
  void TryMergeLocked(PgOff start, PgOff end) REQUIRES(invalidate_lock_, folios_mu_);

  host::Arena& arena_;
  const Config config_;
  const host::PfnRange pfns_;

  mutable SharedMutex invalidate_lock_ ACQUIRED_BEFORE(mappings_mu_);
  IntervalMap<PgOff, MemAttr> attrs_ GUARDED_BY(invalidate_lock_);
  std::vector<InvalidationListener*> listeners_ GUARDED_BY(invalidate_lock_);

  mutable Mutex mappings_mu_ ACQUIRED_BEFORE(folios_mu_);
  std::vector<UserMapping> mappings_ GUARDED_BY(mappings_mu_);

  mutable Mutex folios_mu_;
  FolioMap folios_ GUARDED_BY(folios_mu_);

  StatsGroup stats_{"gmem"};
  Counter folios_allocated_{stats_, "folios_allocated", "folios allocated"};
  Counter conversions_{stats_, "conversions", "attribute changes committed"};
  Counter conversions_eagain_{stats_, "conversions_eagain", "conversions refused (pinned)"};
  Counter splits_{stats_, "folio_splits", "huge folios split to 4K"};
  Counter merges_{stats_, "folio_merges", "4K folios merged back into a huge folio"};
  Counter punches_{stats_, "punches", "PUNCH_HOLE operations"};
  Counter punched_pages_{stats_, "punched_pages", "pages freed by PUNCH_HOLE"};
  Counter memory_failures_{stats_, "memory_failures", "pages poisoned"};
  Counter invalidations_{stats_, "invalidations", "invalidate begin/end pairs sent"};
};

}  // namespace cocomem::gmem
