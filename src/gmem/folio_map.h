// FolioMap: the sparse set of folios of one guest_memfd, by page offset.
//
// Stored as runs: a run is `n` consecutive folios of one order in one state. A huge folio
// is a run of one; 4K folios that look alike (the 262144 children of a split 1G folio,
// a fallocated range) share one run, so splitting a huge folio is O(1) and the metadata
// of a present 4K folio is a fraction of one node. Changing one folio's state (a pin, a
// poisoning) isolates it in its own run; equal neighbours are merged back.
//
// Invariants: runs are disjoint and non-empty, start at a multiple of their order, and
// huge runs hold exactly one folio; touching 4K runs never carry equal states.
// Not thread-safe: the inode's folio lock guards it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>

#include "base/fault_injection.h"
#include "base/memory_types.h"
#include "gmem/folio.h"

namespace cocomem::gmem {

// Fail folio allocation and the preparation of a split (ENOMEM); checked by the inode.
inline FaultPoint kFolioAllocFault{"gmem.folio.alloc"};
inline FaultPoint kFolioSplitFault{"gmem.folio.split"};

class FolioMap {
 public:
  struct Run {
    PgOff start;
    PgOff end;
    PageOrder order;
    Folio state;  // of every folio in the run
  };
  // One folio: where it starts and what it is.
  struct FolioRef {
    PgOff start;
    Folio folio;
    PgOff end() const { return start + PagesIn(folio.order); }
  };

  std::optional<FolioRef> FolioAt(PgOff off) const;

  // Adds fresh folios of `order` over the free range [start, end) (a huge order: exactly
  // one folio).
  void Insert(PgOff start, PgOff end, PageOrder order);
  // Applies fn to the state of the folio holding `off` (which must exist).
  void Update(PgOff off, const std::function<void(Folio&)>& fn);

  // Turns the huge folio at `start` into 4K folios carrying its state. O(1).
  void Split(PgOff start);
  // Whether [start, start + PagesIn(order)) is all 4K folios, unpinned and unpoisoned.
  bool CanMerge(PgOff start, PageOrder order) const;
  // Replaces those 4K folios by one folio of `order` (uptodate if all were).
  void Merge(PgOff start, PageOrder order);

  // Removes every folio overlapping [start, end); huge folios must lie entirely inside.
  void EraseRange(PgOff start, PgOff end);

  // Calls fn for each run overlapping [start, end), clipped to it, in order.
  void ForEachRun(PgOff start, PgOff end, const std::function<void(const Run&)>& fn) const;

  size_t run_count() const { return runs_.size(); }
  uint64_t folio_count() const;
  uint64_t present_pages() const { return present_pages_; }
  // Heap bytes this map uses.
  uint64_t metadata_bytes() const;

 private:
  // 16 bytes, so a node (header + key + this) fits malloc's 64-byte chunk: even when no
  // two neighbouring 4K folios look alike, a folio costs 64 bytes.
  struct Node {
    uint32_t npages;
    PageOrder order;
    Folio state;
    uint64_t end(uint64_t start) const { return start + npages; }
  };
  static_assert(sizeof(Node) == 16);
  using Tree = std::map<uint64_t, Node>;

  Tree::iterator RunAt(uint64_t off);
  Tree::const_iterator RunAt(uint64_t off) const;
  // Cuts 4K runs so that `off` starts a run (no-op at boundaries or inside huge folios).
  void CutAt(uint64_t off);
  // Merges the 4K run at `it` with equal touching neighbours.
  void Coalesce(Tree::iterator it);

  Tree runs_;
  uint64_t present_pages_ = 0;
};

}  // namespace cocomem::gmem
