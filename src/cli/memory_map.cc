#include "cli/memory_map.h"

#include <cstdint>
#include <map>

#include "cli/tdx_report.h"
#include "gmem/inode.h"
#include "kvm/vm.h"
#include "sys/introspect.h"

namespace cocomem::cli {
namespace {

constexpr uint64_t k4K = 4096;

const char* OrderName(uint8_t code) {
  switch (code) {
    case 1:
      return "4K";
    case 2:
      return "2M";
    case 3:
      return "1G";
    default:
      return "none";
  }
}
uint8_t CodeOf(PageOrder o) {
  return o == PageOrder::k4K ? 1 : o == PageOrder::k2M ? 2 : 3;
}
uint8_t CodeOf(kvm::tdp::Level l) {
  return l == kvm::tdp::Level::k4K ? 1 : l == kvm::tdp::Level::k2M ? 2 : 3;
}

struct PageState {
  bool is_private = false;
  uint8_t folio = 0;    // 0 none, 1 4K, 2 2M, 3 1G
  uint8_t mapping = 0;  // same codes
  bool poisoned = false;
  bool punched = false;
  uint8_t sept = 0;  // index into the S-EPT state names + 1; 0 none
  uint64_t pfn = 0;

  bool SameRun(const PageState& o) const {
    return is_private == o.is_private && folio == o.folio && mapping == o.mapping &&
           poisoned == o.poisoned && punched == o.punched && sept == o.sept;
  }
};

}  // namespace

std::vector<SlotMap> BuildMemoryMap(const Scenario& s, HostEnv& env) {
  std::vector<SlotMap> out;
  auto vm = sys::IntrospectVm(env.vm_fd);
  // Leaf mappings by GFN (the shared bit of a TD stripped).
  const uint64_t shared_gfn_mask = ~(TdxSharedGpaMask(vm.get()) >> 12);
  std::map<uint64_t, std::pair<uint8_t, bool>> leaves;  // first gfn -> (level code, private)
  if (vm) {
    vm->ForEachMapping(0, [&](const kvm::tdp::TdpTable::Mapping& m) {
      const uint64_t gfn = m.gfn.value() & shared_gfn_mask;
      leaves[gfn] = {CodeOf(m.level), m.spte.is_private()};
    });
  }
  std::vector<std::string> sept_names;
  std::map<uint64_t, uint8_t> sept;  // gfn -> state index + 1 (leaves, spread to 4K)
  if (vm) CollectSeptLeaves(*vm, &sept, &sept_names);

  for (const SlotSpec& sl : s.slots) {
    SlotMap m;
    m.slot = sl.slot;
    m.gpa = sl.gpa;
    m.size = sl.size;
    m.gmem = sl.gmem;
    m.offset = sl.offset;
    const uint64_t npages = sl.size / k4K;
    std::vector<PageState> pages(npages);
    GmemHandle* g = nullptr;
    if (!sl.gmem.empty()) {
      auto it = env.gmems.find(sl.gmem);
      if (it != env.gmems.end()) g = &it->second;
    }
    const uint64_t first_off = sl.offset / k4K;
    if (g != nullptr && g->inode) {
      for (const auto& [range, attr] : g->inode->AttributeRuns()) {
        const uint64_t a = std::max(range.first.value(), first_off);
        const uint64_t b = std::min(range.second.value(), first_off + npages);
        for (uint64_t p = a; p < b; ++p)
          pages[p - first_off].is_private = attr == gmem::MemAttr::kPrivate;
      }
      for (const auto& f : g->inode->Folios()) {
        const uint64_t a = std::max(f.start.value(), first_off);
        const uint64_t b = std::min(f.start.value() + PagesIn(f.folio.order), first_off + npages);
        for (uint64_t p = a; p < b; ++p) {
          PageState& ps = pages[p - first_off];
          ps.folio = CodeOf(f.folio.order);
          ps.poisoned = f.folio.hwpoison;
          ps.pfn = g->inode->PfnOf(PgOff(p)).value();
        }
      }
      for (uint64_t p = 0; p < npages; ++p) {
        if (first_off + p < g->punched.size() && g->punched[first_off + p] && pages[p].folio == 0)
          pages[p].punched = true;
      }
    }
    const uint64_t base_gfn = sl.gpa / k4K;
    for (auto it = leaves.lower_bound(base_gfn > (1u << 18) ? base_gfn - (1u << 18) : 0);
         it != leaves.end() && it->first < base_gfn + npages; ++it) {
      const uint64_t span = it->second.first == 1 ? 1 : it->second.first == 2 ? 512 : 512 * 512;
      const uint64_t a = std::max(it->first, base_gfn),
                     b = std::min(it->first + span, base_gfn + npages);
      for (uint64_t gfn = a; gfn < b; ++gfn) {
        PageState& ps = pages[gfn - base_gfn];
        if (ps.mapping == 0 || it->second.second) ps.mapping = it->second.first;
      }
    }
    for (auto it = sept.lower_bound(base_gfn); it != sept.end() && it->first < base_gfn + npages;
         ++it) {
      pages[it->first - base_gfn].sept = it->second;
    }
    for (uint64_t p = 0; p < npages;) {
      uint64_t q = p + 1;
      while (q < npages && pages[q].SameRun(pages[p])) ++q;
      const PageState& ps = pages[p];
      MemorySegment seg;
      seg.gpa = sl.gpa + p * k4K;
      seg.size = (q - p) * k4K;
      seg.offset = sl.offset + p * k4K;
      seg.is_private = ps.is_private;
      seg.folio = OrderName(ps.folio);
      seg.mapping = OrderName(ps.mapping);
      seg.poisoned = ps.poisoned;
      seg.punched = ps.punched;
      if (ps.sept != 0 && ps.sept <= sept_names.size()) seg.sept = sept_names[ps.sept - 1];
      seg.pfn = ps.pfn;
      m.segments.push_back(seg);
      p = q;
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace cocomem::cli
