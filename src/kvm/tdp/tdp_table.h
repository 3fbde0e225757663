// TdpTable: one root of an emulated second-level page table (EPT/NPT), 4 levels of 512
// entries, with 4K, 2M and 1G leaves.
//
// Installs (Map) may run concurrently under mmu_lock held shared: entries are atomics and
// a new child table is published with a compare-and-swap, like the kernel's TDP MMU.
// Zap and Split need mmu_lock exclusive. A split prepares the child table completely and
// publishes the parent entry last; if preparing fails, the table is as it was.
//
// A mirror table (hooks != nullptr) reports every change to the external private table
// first and changes itself only if that succeeded. Its installs may also run under shared
// mmu_lock: the entry is frozen while the hook runs, and a fault meeting a frozen entry
// gets EINPROGRESS (retry), as KVM's FROZEN_SPTE does. Its non-leaf tables are never freed while
// it lives (S-EPT pages stay until teardown).
#pragma once

#include <atomic>
#include <functional>
#include <optional>

#include "base/fault_injection.h"
#include "base/memory_types.h"
#include "base/result.h"
#include "kvm/tdp/external_hooks.h"
#include "kvm/tdp/spte.h"

namespace cocomem::kvm::tdp {

// Fails the allocation of a page-table page (ENOMEM): installs and splits.
inline FaultPoint kTableAllocFault{"kvm.tdp.table_alloc"};

class TdpTable {
 public:
  struct Mapping {
    Gfn gfn;  // first GFN of the leaf
    Level level;
    Spte spte;
    uint64_t FrameOf(Gfn g) const { return spte.frame() + (g - gfn); }
  };

  explicit TdpTable(ExternalTableHooks* hooks = nullptr);
  ~TdpTable();
  TdpTable(const TdpTable&) = delete;
  TdpTable& operator=(const TdpTable&) = delete;

  // Maps [gfn, gfn + PagesAt(level)) (gfn aligned) with `leaf`. EEXIST if a leaf already
  // covers the GFN (a racing fault won: nothing to do); EAGAIN if smaller mappings exist
  // inside the range (map at a lower level); ENOMEM if a table cannot be allocated; EINPROGRESS
  // if a racing mirror install holds an entry on the way (retry); an external hook's
  // error for mirror tables. Nothing changes on failure.
  Status Map(Gfn gfn, Level level, Spte leaf);

  // The leaf translating `gfn`, if any.
  std::optional<Mapping> Lookup(Gfn gfn) const;

  // Removes every leaf overlapping [start, end) that `keep` does not keep (huge leaves
  // go whole: split first to zap precisely). The number of 4K pages unmapped. A mirror
  // leaf whose removal hook fails stays; *failed counts them.
  uint64_t Zap(Gfn start, Gfn end, const std::function<bool(const Spte&)>& zap_it,
               uint64_t* failed = nullptr);

  // Splits the huge leaf mapping `gfn` at `level` into 512 leaves one level down.
  Status Split(Gfn gfn, Level level);
  // Splits, as often as needed, the huge leaves that cross `start` or `end`, so that a
  // zap of [start, end) touches nothing outside it (decision 2). All or nothing per leaf.
  Status SplitCrossBoundary(Gfn start, Gfn end);

  void ForEachLeaf(const std::function<void(const Mapping&)>& fn) const;
  uint64_t table_count() const { return tables_.load(std::memory_order_relaxed); }

 private:
  // Page-aligned, like a page-table page: the low 12 bits of a pointer to it are free for
  // the entry's flag bits.
  struct alignas(4096) Table {
    std::atomic<uint64_t> e[512] = {};
  };
  static Table* TableOf(uint64_t raw) { return reinterpret_cast<Table*>(raw & Spte::kFrameMask); }
  Table* NewTable();
  void FreeTable(Table* t, int level);
  uint64_t ZapIn(Table* t, int level, Gfn base, Gfn start, Gfn end,
                 const std::function<bool(const Spte&)>& zap_it, uint64_t* failed);
  void ForEachIn(const Table* t, int level, Gfn base,
                 const std::function<void(const Mapping&)>& fn) const;

  ExternalTableHooks* const hooks_;
  Table* const root_;
  std::atomic<uint64_t> tables_{0};
};

}  // namespace cocomem::kvm::tdp
