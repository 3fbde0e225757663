#include "kvm/memslot.h"

#include <cocomem/kvm.h>

#include <iterator>

namespace cocomem::kvm {

bool Memslot::has_gmem_flag() const { return flags & KVM_MEM_GUEST_MEMFD; }

const Memslot* MemslotSet::Find(uint16_t as_id, Gfn gfn) const {
  auto it = by_gfn_.upper_bound({as_id, gfn.value()});
  if (it == by_gfn_.begin()) return nullptr;
  --it;
  if (it->first.first != as_id || !it->second->Contains(gfn)) return nullptr;
  return it->second;
}

const Memslot* MemslotSet::ById(uint16_t as_id, uint16_t id) const {
  auto it = by_id_.find(Key(as_id, id));
  return it == by_id_.end() ? nullptr : it->second.get();
}

bool MemslotSet::Overlaps(uint16_t as_id, uint16_t except_id, Gfn start, Gfn end) const {
  auto it = by_gfn_.lower_bound({as_id, end.value()});
  while (it != by_gfn_.begin()) {
    --it;
    if (it->first.first != as_id) break;
    const Memslot& s = *it->second;
    if (!(start < s.end_gfn())) break;  // sorted by base: nothing earlier reaches start
    if (s.id != except_id) return true;
  }
  return false;
}

std::shared_ptr<const MemslotSet> MemslotSet::With(std::shared_ptr<const Memslot> slot) const {
  auto out = std::make_shared<MemslotSet>(*this);
  if (const Memslot* old = ById(slot->as_id, slot->id)) {
    out->by_gfn_.erase({old->as_id, old->base_gfn.value()});
  }
  out->by_gfn_[{slot->as_id, slot->base_gfn.value()}] = slot.get();
  out->by_id_[Key(slot->as_id, slot->id)] = std::move(slot);
  return out;
}

std::shared_ptr<const MemslotSet> MemslotSet::Without(uint16_t as_id, uint16_t id) const {
  auto out = std::make_shared<MemslotSet>(*this);
  if (const Memslot* old = ById(as_id, id)) {
    out->by_gfn_.erase({as_id, old->base_gfn.value()});
    out->by_id_.erase(Key(as_id, id));
  }
  return out;
}

}  // namespace cocomem::kvm
