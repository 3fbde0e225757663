// SEAMCALL wrappers as Linux's arch/x86/virt/vmx/tdx provides them to KVM: each takes PFNs
// and a level, never a folio or a page object (decision 1), fills the registers, and
// returns the module's status with the "extended error" outputs (RCX = SEPT entry,
// RDX = level | state << 8) for KVM's error reports.
//
// Levels here are the module's (kLvl4K = 0); KVM converts with SeptLevelOf(tdp::Level).
#pragma once

#include <cstdint>

#include "base/memory_types.h"
#include "kvm/tdp/spte.h"
#include "tdx/module/tdx_module.h"

namespace cocomem::kvm::tdx {

using ::cocomem::tdx::SeptLevel;
using ::cocomem::tdx::TdxModule;
using ::cocomem::tdx::TdxStatus;

// pg_level_to_tdx_sept_level(): PG_LEVEL_4K (1) -> 0.
constexpr SeptLevel SeptLevelOf(tdp::Level l) { return static_cast<SeptLevel>(static_cast<int>(l) - 1); }

// A TD as the wrappers know it: its TDR page and HKID.
struct TdRef {
  TdxModule* module;
  Pfn tdr;
  uint16_t hkid;
};

struct ExtErr {
  uint64_t entry = 0;        // RCX
  uint64_t level_state = 0;  // RDX
};

// clflush_cache_range() of the page through the kernel direct map, before the module sees
// it. A PFN without a direct map faults for real and is reported as a kernel oops.
void ClflushPfn(const host::Arena& arena, Pfn pfn, uint64_t npages = 1);

TdxStatus TdhMemPageAdd(const TdRef& td, uint64_t gpa, Pfn pfn, Pfn source, ExtErr* err);
TdxStatus TdhMemPageAug(const TdRef& td, uint64_t gpa, SeptLevel level, Pfn pfn, ExtErr* err);
TdxStatus TdhMemSeptAdd(const TdRef& td, uint64_t gpa, SeptLevel level, Pfn table, ExtErr* err);
TdxStatus TdhMemRangeBlock(const TdRef& td, uint64_t gpa, SeptLevel level, ExtErr* err);
TdxStatus TdhMemTrack(const TdRef& td);
TdxStatus TdhMemPageRemove(const TdRef& td, uint64_t gpa, SeptLevel level, ExtErr* err);
TdxStatus TdhMemPageDemote(const TdRef& td, uint64_t gpa, SeptLevel level, Pfn new_table, ExtErr* err);
TdxStatus TdhMrExtend(const TdRef& td, uint64_t gpa, ExtErr* err);
TdxStatus TdhMrFinalize(const TdRef& td);
TdxStatus TdhPhymemPageWbinvd(const TdRef& td, Pfn pfn);
// TDH.PHYMEM.PAGE.RECLAIM of a page the TD owned (teardown); the global KeyID for the TDR.
TdxStatus TdhPhymemPageReclaim(TdxModule& module, Pfn pfn);
TdxStatus TdhPhymemPageWbinvdGlobal(TdxModule& module, Pfn pfn);

// TD and vCPU management.
TdxStatus TdhMngCreate(TdxModule& module, Pfn tdr, uint16_t hkid);
TdxStatus TdhMngKeyConfig(const TdRef& td);
TdxStatus TdhMngAddcx(const TdRef& td, Pfn page);
TdxStatus TdhMngInit(const TdRef& td);
TdxStatus TdhVpCreate(const TdRef& td, Pfn tdvpr);
TdxStatus TdhVpAddcx(const TdRef& td, Pfn tdvpr, Pfn page);
TdxStatus TdhVpInit(const TdRef& td, Pfn tdvpr, uint64_t rcx);
TdxStatus TdhVpFlush(const TdRef& td, Pfn tdvpr);
TdxStatus TdhMngVpflushdone(const TdRef& td);
TdxStatus TdhMngKeyFreeid(const TdRef& td);

}  // namespace cocomem::kvm::tdx
