// ModuleState: everything the leaves share — the arena, the PAMT, the TD and vCPU tables,
// statistics and test hooks. TdxModule::Impl is this; each leaf is a free function over it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"
#include "base/stats.h"
#include "host/arena.h"
#include "tdx/module/pamt.h"
#include "tdx/module/seamcall_stats.h"
#include "tdx/module/td.h"
#include "tdx/module/tdx_module.h"

namespace cocomem::tdx {

struct ModuleState {
  ModuleState(host::Arena& a, ModuleConfig c) : arena(a), config(std::move(c)) {}

  host::Arena& arena;
  const ModuleConfig config;
  std::unique_ptr<Pamt> pamt;
  uint64_t hpa_limit_shift = 46;  // config.phys_bits: an HPA operand has no bit at or above
  uint64_t max_pa_bits = 52;      // phys_bits + keyid_bits (GPA validity)

  SlotTable<Td> tds;
  SlotTable<Vcpu> vcpus;

  // Create/destroy bookkeeping only (never taken on a memory leaf).
  Mutex mu;
  std::unordered_map<uint64_t, TdParams> pending_params GUARDED_BY(mu);  // by TDR PA
  std::vector<bool> hkid_in_use GUARDED_BY(mu);

  std::atomic<unsigned> pending_interrupts{0};
  SeamcallStats seamcall_stats;

  StatsGroup stats{"tdx.module"};
  Counter pages_added{stats, "pages_added", "4K pages added by TDH.MEM.PAGE.ADD"};
  Counter pages_augmented{stats, "pages_augmented", "4K units added by TDH.MEM.PAGE.AUG"};
  Counter pages_accepted{stats, "pages_accepted", "4K units accepted by the guest"};
  Counter pages_removed{stats, "pages_removed", "4K units removed by TDH.MEM.PAGE.REMOVE"};
  Counter busy{stats, "busy", "SEAMCALLs that returned TDX_OPERAND_BUSY"};
  Counter tds_created{stats, "tds_created", "TDH.MNG.CREATE successes"};

  uint64_t* Table(Pfn pfn) const { return reinterpret_cast<uint64_t*>(arena.HardwareView(pfn)); }

  // Whether [pfn, pfn + npages) is TDX memory (inside one TDMR).
  bool InTdmr(Pfn pfn, uint64_t npages) const {
    if (config.tdmrs.empty()) return pfn.value() + npages <= pamt->npages();
    for (const auto& r : config.tdmrs)
      if (r.Contains(host::PfnRange{pfn, npages})) return true;
    return false;
  }

  // The TD whose TDR is `pfn`, if that page is a TDR (unlocked, for lock-free readers and
  // for callers that hold the TDR lock).
  Td* TdOfTdr(Pfn pfn) const {
    if (pfn.value() >= pamt->npages()) return nullptr;
    const PamtEntry& e = pamt->At(0, pfn);
    if (e.Type() != PageType::kTdr) return nullptr;
    return tds.Get(e.bepoch.load(std::memory_order_relaxed));
  }
  Vcpu* VcpuOfTdvpr(uint64_t hpa) const {
    if ((hpa & (kPageSize - 1)) || (hpa >> hpa_limit_shift)) return nullptr;
    Pfn pfn = PfnOf(Hpa(hpa));
    if (pfn.value() >= pamt->npages()) return nullptr;
    const PamtEntry& e = pamt->At(0, pfn);
    if (e.Type() != PageType::kTdvpr) return nullptr;
    return vcpus.Get(e.bepoch.load(std::memory_order_relaxed));
  }
};

}  // namespace cocomem::tdx

namespace cocomem::tdx {
struct TdxModule::Impl : ModuleState {
  using ModuleState::ModuleState;
};
}  // namespace cocomem::tdx
