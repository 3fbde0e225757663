#include "kvm/gmem_binding.h"

#include "kvm/vm.h"

namespace cocomem::kvm {

bool GmemBinding::Overlaps(PgOff start, PgOff end) const {
  bool any = false;
  bindings_.ForEachIn(start, end, [&](PgOff, PgOff, const Target&) { any = true; });
  return any;
}

void GmemBinding::Bind(const Memslot& slot) {
  bindings_.Assign(slot.gmem_pgoff, slot.gmem_pgoff + slot.npages,
                   Target{slot.as_id, slot.base_gfn.value() - slot.gmem_pgoff.value()});
}

void GmemBinding::Unbind(const Memslot& slot) {
  bindings_.Erase(slot.gmem_pgoff, slot.gmem_pgoff + slot.npages);
}

template <typename Fn>
void GmemBinding::ForEachGfnRange(PgOff start, PgOff end, Fn&& fn) const {
  bindings_.ForEachIn(start, end, [&](PgOff s, PgOff e, const Target& t) {
    fn(t.as_id, Gfn(s.value() + t.gfn_minus_pgoff), Gfn(e.value() + t.gfn_minus_pgoff));
  });
}

void GmemBinding::InvalidateBegin(PgOff start, PgOff end) {
  std::vector<GfnRange> ranges;
  ForEachGfnRange(start, end, [&](uint16_t as_id, Gfn s, Gfn e) { ranges.push_back({as_id, s, e}); });
  if (!ranges.empty()) vm_.InvalidateBegin(ranges);
}

Status GmemBinding::SplitCrossBoundary(PgOff start, PgOff end) {
  Status result;
  ForEachGfnRange(start, end, [&](uint16_t as_id, Gfn s, Gfn e) {
    if (result.ok()) result = vm_.SplitCrossBoundary(as_id, s, e);
  });
  return result;
}

void GmemBinding::Zap(PgOff start, PgOff end, gmem::ZapFilter filter) {
  ForEachGfnRange(start, end,
                  [&](uint16_t as_id, Gfn s, Gfn e) { vm_.ZapGfnRange(as_id, s, e, filter); });
}

void GmemBinding::InvalidateEnd(PgOff start, PgOff end) {
  if (!Overlaps(start, end)) return;
  vm_.InvalidateEnd();
}

}  // namespace cocomem::kvm
