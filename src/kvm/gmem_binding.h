// GmemBinding: one VM listening to one guest_memfd it has memslots on (the VM side of
// gmem_file.bindings). It translates the file's page ranges into the GFN ranges of the
// bound slots and runs the VM's invalidation protocol on them.
//
// The binding map is changed only with the inode's invalidate lock held exclusively
// (Inode::WithInvalidateLockHeld), and read from the listener calls, which the inode makes
// with that lock held: no lock of its own.
#pragma once

#include "base/interval_map.h"
#include "gmem/invalidation.h"
#include "kvm/memslot.h"

namespace cocomem::kvm {

class Vm;

class GmemBinding final : public gmem::InvalidationListener {
 public:
  explicit GmemBinding(Vm& vm) : vm_(vm) {}

  // Binding changes; call inside Inode::WithInvalidateLockHeld.
  bool Overlaps(PgOff start, PgOff end) const;
  void Bind(const Memslot& slot);
  void Unbind(const Memslot& slot);
  bool released() const { return released_; }

  void InvalidateBegin(PgOff start, PgOff end) override;
  Status SplitCrossBoundary(PgOff start, PgOff end) override;
  void Zap(PgOff start, PgOff end, gmem::ZapFilter filter) override;
  void InvalidateEnd(PgOff start, PgOff end) override;
  void FileReleased() override { released_ = true; }

 private:
  struct Target {
    uint16_t as_id;
    uint64_t gfn_minus_pgoff;  // gfn = pgoff + this
    friend bool operator==(const Target&, const Target&) = default;
  };
  template <typename Fn>
  void ForEachGfnRange(PgOff start, PgOff end, Fn&& fn) const;

  Vm& vm_;  // outlives us: the file holds the VM, and the VM owns its bindings
  IntervalMap<PgOff, Target> bindings_;
  bool released_ = false;
};

}  // namespace cocomem::kvm
