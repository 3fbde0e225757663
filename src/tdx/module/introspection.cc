// Read-only views of the module for reports, tests and the invariant checker. Nothing
// here takes a module lock or changes state; reads racing with SEAMCALLs see some
// interleaving of committed states.
#include <cinttypes>
#include <cstdio>
#include <unordered_map>

#include "tdx/module/module_state.h"
#include "tdx/module/sept_walk.h"

namespace cocomem::tdx {
namespace {

void Visit(const ModuleState& m, uint32_t tdr_pfn, Pfn table, unsigned level, uint64_t base,
           const std::function<void(const SeptEntryInfo&)>& fn) {
  uint64_t* t = m.Table(table);
  for (unsigned i = 0; i < sept::kEntries; ++i) {
    const uint64_t raw = LoadEntry(t + i);
    auto state = sept::Decode(raw);
    if (!state || *state == SeptState::kFree) continue;
    const uint64_t gpa = base + i * sept::LevelBytes(level);
    const bool leaf = sept::IsLeaf(*state);
    SeptEntryInfo info{gpa, static_cast<SeptLevel>(level), *state, raw,
                       Hpa(leaf ? sept::EntryHpa(raw, level) : raw & sept::kHpaMask)};
    fn(info);
    // Descend only into pages that still are this TD's S-EPT tables (after teardown they
    // are reclaimed one by one and may hold anything).
    const Pfn child = PfnOf(info.hpa);
    if (!leaf && level > 0 && child.value() < m.pamt->npages() &&
        m.pamt->At(0, child).Type() == PageType::kEpt &&
        m.pamt->At(0, child).owner.load(std::memory_order_relaxed) == tdr_pfn)
      Visit(m, tdr_pfn, child, level - 1, gpa, fn);
  }
}

template <typename... Args>
std::string Format(const char* fmt, Args... args) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), fmt, args...);
  return buf;
}

}  // namespace

void TdxModule::ForEachSeptEntry(Hpa tdr, const std::function<void(const SeptEntryInfo&)>& fn) const {
  const ModuleState& m = *impl_;
  const Td* td = m.TdOfTdr(PfnOf(tdr));
  if (td == nullptr || !td->Initialized()) return;
  Visit(m, static_cast<uint32_t>(PfnOf(tdr).value()), td->sept_root, td->pwl, 0, fn);
}

PamtInfo TdxModule::Pamt(Pfn pfn) const {
  const ModuleState& m = *impl_;
  PamtInfo info;
  if (pfn.value() >= m.pamt->npages()) return info;
  unsigned size;
  const PamtEntry& e = m.pamt->LeafOf(pfn, &size);
  info.type = e.Type();
  info.owner = Hpa(uint64_t{e.owner.load(std::memory_order_relaxed)} << kPageShift);
  info.size = static_cast<SeptLevel>(size);
  info.bepoch = e.bepoch.load(std::memory_order_relaxed);
  return info;
}

std::optional<std::array<uint8_t, 48>> TdxModule::Mrtd(Hpa tdr) const {
  const Td* td = impl_->TdOfTdr(PfnOf(tdr));
  if (td == nullptr || !td->finalized.load(std::memory_order_acquire)) return std::nullopt;
  return td->mrtd;
}

std::vector<std::string> TdxModule::CheckInvariants() const {
  const ModuleState& m = *impl_;
  std::vector<std::string> out;
  std::unordered_map<uint64_t, uint64_t> owner_of;  // 4K PFN -> TDR PA of the TD mapping it
  m.tds.ForEach([&](const Td& td) {
    if (td.lifecycle.load() == Lifecycle::kTeardown) return;  // pages go back one by one
    const uint64_t tdr = td.tdr.value();
    const uint32_t tdr_pfn = static_cast<uint32_t>(PfnOf(td.tdr).value());
    int64_t expected = td.num_tdcx.load() + static_cast<int64_t>(td.vcpu_pages.load());
    auto expect_owned = [&](Pfn pfn, unsigned size, PageType type, uint64_t gpa, const char* what) {
      const PamtEntry& e = m.pamt->At(size, pfn);
      if (e.Type() != type || e.owner.load() != tdr_pfn)
        out.push_back(Format("TD 0x%" PRIx64 ": %s at GPA 0x%" PRIx64 " PFN 0x%" PRIx64
                             " has PAMT type %u owner 0x%" PRIx64 " at size %u, expected type %u",
                             tdr, what, gpa, pfn.value(), unsigned(e.Type()),
                             uint64_t{e.owner.load()} << kPageShift, size, unsigned(type)));
      if (m.pamt->LeafSize(pfn) != size)
        out.push_back(Format("TD 0x%" PRIx64 ": %s at GPA 0x%" PRIx64 " PFN 0x%" PRIx64
                             " is a PAMT leaf at size %u, expected %u",
                             tdr, what, gpa, pfn.value(), m.pamt->LeafSize(pfn), size));
      for (uint64_t i = 0; i < (uint64_t{1} << (9 * size)); ++i) {
        auto [it, inserted] = owner_of.emplace(pfn.value() + i, tdr);
        if (!inserted) {
          out.push_back(Format("PFN 0x%" PRIx64 " (GPA 0x%" PRIx64 " of TD 0x%" PRIx64
                               ") is also used by TD 0x%" PRIx64,
                               pfn.value() + i, gpa, tdr, it->second));
          break;
        }
      }
    };
    for (unsigned i = 0; i < td.num_tdcx.load(); ++i)
      expect_owned(Pfn(td.tdcx_pfn[i].load()), 0, PageType::kTdcx, 0, "TDCS page");
    if (!td.Initialized()) {
      if (td.chldcnt.load() != expected)
        out.push_back(Format("TD 0x%" PRIx64 ": CHLDCNT %" PRId64 ", expected %" PRId64, tdr,
                             td.chldcnt.load(), expected));
      return;
    }
    Visit(m, tdr_pfn, td.sept_root, td.pwl, 0, [&](const SeptEntryInfo& e) {
      if (sept::IsLeaf(e.state)) {
        expected += static_cast<int64_t>(sept::LevelPages(e.level));
        expect_owned(PfnOf(e.hpa), e.level, PageType::kReg, e.gpa, "leaf");
      } else {
        expected += 1;
        expect_owned(PfnOf(e.hpa), 0, PageType::kEpt, e.gpa, "S-EPT table");
      }
    });
    if (td.chldcnt.load() != expected)
      out.push_back(Format("TD 0x%" PRIx64 ": CHLDCNT %" PRId64 ", expected %" PRId64, tdr,
                           td.chldcnt.load(), expected));
  });
  return out;
}

}  // namespace cocomem::tdx
