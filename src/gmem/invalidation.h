// What guest_memfd tells the VMs bound to it when page ranges change (kvm_gmem_invalidate_*).
//
// For every punch, conversion or memory failure the inode calls, on each listener:
//   Begin(range)                     mark the range in progress (faults on it retry)
//   SplitCrossBoundary(range)        punch / to-shared only: split huge private mappings
//                                    that cross the range's edges; a failure aborts the
//                                    whole operation before anything changed (decision 2)
//   Zap(range, filter)               drop guest mappings of the given kinds
//   End(range)                       bump the invalidation sequence
// Ranges are page offsets in the file; the listener translates them through its bindings.
#pragma once

#include "base/memory_types.h"
#include "base/result.h"
#include "gmem/attributes.h"

namespace cocomem::gmem {

class InvalidationListener {
 public:
  virtual ~InvalidationListener() = default;
  virtual void InvalidateBegin(PgOff start, PgOff end) = 0;
  virtual Status SplitCrossBoundary(PgOff start, PgOff end) = 0;
  virtual void Zap(PgOff start, PgOff end, ZapFilter filter) = 0;
  virtual void InvalidateEnd(PgOff start, PgOff end) = 0;
  // kvm_gmem_release: the file is gone (after a whole-file Begin/Zap/End); the listener
  // has been dropped and must not expect further calls.
  virtual void FileReleased() {}
};

}  // namespace cocomem::gmem
