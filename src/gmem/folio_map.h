// FolioMap: the sparse set of folios of one guest_memfd, by page offset.
//
// Invariants: folios are disjoint, each starts at a multiple of its size, and a huge
// folio is one entry (no per-4K metadata). Not thread-safe: the inode's folio lock
// guards it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>

#include "base/fault_injection.h"
#include "base/memory_types.h"
#include "base/result.h"
#include "gmem/folio.h"

namespace cocomem::gmem {

// Fail folio allocation and the preparation of a split (ENOMEM); checked by the inode.
inline FaultPoint kFolioAllocFault{"gmem.folio.alloc"};
inline FaultPoint kFolioSplitFault{"gmem.folio.split"};

class FolioMap {
 public:
  struct Entry {
    PgOff start;
    Folio* folio;  // valid until the map changes
    PgOff end() const { return start + PagesIn(folio->order); }
  };

  // The folio containing `off`, if any.
  std::optional<Entry> Find(PgOff off);
  std::optional<Entry> Find(PgOff off) const;

  // Adds a folio of `order` at `start` (aligned); the range must be free.
  Entry Insert(PgOff start, PageOrder order);

  // Splits the huge folio at `start` into 4K folios carrying its state. Callers check
  // kFolioSplitFault while preparing, so the split itself cannot fail.
  void Split(PgOff start);
  // Replaces the 4K folios of [start, start + PagesIn(order)) by one folio of `order`.
  // Preconditions (checked by CanMerge): all present, none pinned or poisoned.
  bool CanMerge(PgOff start, PageOrder order) const;
  void Merge(PgOff start, PageOrder order);

  // Removes every folio overlapping [start, end); huge folios must lie entirely inside.
  // Calls fn(start, folio) for each before removal.
  void EraseRange(PgOff start, PgOff end, const std::function<void(PgOff, const Folio&)>& fn);

  // Calls fn(start, folio&) for each folio overlapping [start, end), in order.
  void ForEachIn(PgOff start, PgOff end, const std::function<void(PgOff, Folio&)>& fn);
  void ForEachIn(PgOff start, PgOff end,
                 const std::function<void(PgOff, const Folio&)>& fn) const;

  size_t folio_count() const { return folios_.size(); }
  uint64_t present_pages() const { return present_pages_; }
  // Heap bytes this map uses (node + allocator header per folio).
  uint64_t metadata_bytes() const;

 private:
  std::map<uint64_t, Folio> folios_;  // folio start page -> folio
  uint64_t present_pages_ = 0;
};

}  // namespace cocomem::gmem
