// Memslots: the guest physical memory map of one VM (struct kvm_memory_slot).
//
// A MemslotSet is immutable once published: the VM swaps in a new set for every change
// (like the kernel's two memslot arrays + SRCU), so a fault can hold a snapshot without
// locks while the VMM adds or deletes slots.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "base/memory_types.h"

namespace cocomem::gmem {
class GmemFile;
}

namespace cocomem::kvm {

struct Memslot {
  uint16_t as_id = 0;
  uint16_t id = 0;
  uint32_t flags = 0;  // KVM_MEM_*
  Gfn base_gfn;
  uint64_t npages = 0;
  uint64_t userspace_addr = 0;
  // guest_memfd binding. The slot does not keep the file alive ("the file pins KVM, not
  // the other way round"): when the file is released the binding goes away, and later
  // faults exit to userspace with EFAULT.
  std::weak_ptr<gmem::GmemFile> gmem;
  PgOff gmem_pgoff;
  // KVM_MEMSLOT_GMEM_ONLY: the file has MMAP, so shared faults are served from it too and
  // userspace_addr is ignored for the guest.
  bool gmem_only = false;

  Gfn end_gfn() const { return base_gfn + npages; }
  bool Contains(Gfn gfn) const { return !(gfn < base_gfn) && gfn < end_gfn(); }
  PgOff GmemIndex(Gfn gfn) const { return gmem_pgoff + (gfn - base_gfn); }
  bool has_gmem_flag() const;  // KVM_MEM_GUEST_MEMFD
};

class MemslotSet {
 public:
  // The slot holding `gfn` in address space `as_id`, or nullptr.
  const Memslot* Find(uint16_t as_id, Gfn gfn) const;
  const Memslot* ById(uint16_t as_id, uint16_t id) const;
  // Whether any slot but `except_id` of `as_id` overlaps [start, end).
  bool Overlaps(uint16_t as_id, uint16_t except_id, Gfn start, Gfn end) const;

  // Copies with one slot added/replaced or removed.
  std::shared_ptr<const MemslotSet> With(std::shared_ptr<const Memslot> slot) const;
  std::shared_ptr<const MemslotSet> Without(uint16_t as_id, uint16_t id) const;

  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const auto& [key, slot] : by_id_) fn(*slot);
  }

 private:
  static uint32_t Key(uint16_t as_id, uint16_t id) { return (uint32_t{as_id} << 16) | id; }
  std::map<uint32_t, std::shared_ptr<const Memslot>> by_id_;
  std::map<std::pair<uint16_t, uint64_t>, const Memslot*> by_gfn_;  // (as, base gfn)
};

}  // namespace cocomem::kvm
