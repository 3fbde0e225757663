// The mirror root's external-table hooks: KVM's tdx_sept_link_private_spt,
// tdx_sept_set_private_spte, tdx_sept_remove_leaf_spte and tdx_sept_split_private_spte,
// all by GFN, level and PFN.
#include <cerrno>

#include "base/trace.h"
#include "kvm/kvm.h"
#include "kvm/tdx/tdx_vm.h"
#include "kvm/vm.h"

namespace cocomem::kvm::tdx {

using ::cocomem::tdx::StatusCode;
using ::cocomem::tdx::TDX_INTERRUPTED_RESTARTABLE;
using ::cocomem::tdx::TDX_OPERAND_BUSY;
using ::cocomem::tdx::TDX_SUCCESS;

Status TdxVm::LinkTable(Gfn gfn, tdp::Level level) {
  if (state() == TdState::kUninitialized) return Bug("S-EPT change before KVM_TDX_INIT_VM", 0);
  // The new table holds entries of `level`; the entry pointing to it is one level up,
  // which in the module's numbering is `level` itself (PT table: SEPT.ADD at level 1).
  ASSIGN_OR_RETURN(Pfn page, AllocPage());
  ClflushPfn(vm_.kvm().arena(), page);
  clflushed_pages_.Add();
  ExtErr err;
  const TdxStatus s =
      TdhMemSeptAdd(td_, GpaOf(gfn).value(), static_cast<SeptLevel>(static_cast<int>(level)), page, &err);
  if (s == TDX_SUCCESS) {
    sept_tables_.Add();
    return Ok();
  }
  {
    MutexLock l(&pages_mu_);
    free_pages_.push_back(page);
  }
  if (StatusCode(s) == TDX_OPERAND_BUSY) {
    busy_retries_.Add();
    return Error(EINPROGRESS);  // the fault retries
  }
  return Bug("TDH.MEM.SEPT.ADD", s, err);
}

Status TdxVm::SetLeaf(Gfn gfn, tdp::Level level, Pfn pfn) {
  if (state() == TdState::kUninitialized) return Bug("S-EPT change before KVM_TDX_INIT_VM", 0);
  const uint64_t gpa = GpaOf(gfn).value();
  const uint64_t npages = tdp::PagesAt(level);
  ClflushPfn(vm_.kvm().arena(), pfn, npages);  // every 4K page of a huge AUG
  clflushed_pages_.Add(npages);
  ExtErr err;
  if (!runnable()) {
    // Before finalize the only installs come from KVM_TDX_INIT_MEM_REGION (tdx_mem_page_add).
    if (!page_add_src_ && !page_add_in_place_) return Bug("PAGE.ADD without a source page", 0);
    if (level != tdp::Level::k4K) return Bug("PAGE.ADD of a huge page", 0);
    const Pfn src = page_add_in_place_ ? pfn : *page_add_src_;
    const TdxStatus s = TdhMemPageAdd(td_, gpa, pfn, src, &err);
    if (s == TDX_SUCCESS) {
      pages_added_.Add();
      return Ok();
    }
    if (StatusCode(s) == TDX_OPERAND_BUSY) return Error(EBUSY);  // INIT_MEM_REGION: -EBUSY
    return Bug("TDH.MEM.PAGE.ADD", s, err);
  }
  const TdxStatus s = TdhMemPageAug(td_, gpa, SeptLevelOf(level), pfn, &err);
  if (s == TDX_SUCCESS) {
    (level == tdp::Level::k4K ? aug_4k_ : aug_2m_).Add();
    return Ok();
  }
  if (StatusCode(s) == TDX_OPERAND_BUSY) {
    busy_retries_.Add();
    return Error(EINPROGRESS);
  }
  return Bug("TDH.MEM.PAGE.AUG", s, err);
}

Status TdxVm::RemoveLeaf(Gfn gfn, tdp::Level level, Pfn pfn) {
  trace::Scope ts("tdx", "zap private leaf");
  ts.Arg("gfn", gfn.value());
  const uint64_t gpa = GpaOf(gfn).value();
  const SeptLevel sl = SeptLevelOf(level);
  ExtErr err;
  TdxStatus s = RetryBusy([&] { return TdhMemRangeBlock(td_, gpa, sl, &err); });
  if (s != TDX_SUCCESS) return Bug("TDH.MEM.RANGE.BLOCK", s, err);
  RETURN_IF_ERROR(Track());
  s = RetryBusy([&] { return TdhMemPageRemove(td_, gpa, sl, &err); });
  if (s != TDX_SUCCESS) return Bug("TDH.MEM.PAGE.REMOVE", s, err);
  // The module forgot the page; write back and invalidate its cache lines for the TD's key.
  for (uint64_t i = 0; i < tdp::PagesAt(level); ++i) {
    s = TdhPhymemPageWbinvd(td_, pfn + i);
    if (s != TDX_SUCCESS) return Bug("TDH.PHYMEM.PAGE.WBINVD", s);
  }
  removed_.Add();
  return Ok();
}

Status TdxVm::SplitLeaf(Gfn gfn, tdp::Level level, Pfn /*pfn*/) {
  trace::Scope ts("tdx", "split private leaf");
  ts.Arg("gfn", gfn.value());
  const uint64_t gpa = GpaOf(gfn).value();
  const SeptLevel sl = SeptLevelOf(level);
  ASSIGN_OR_RETURN(Pfn page, AllocPage());
  ClflushPfn(vm_.kvm().arena(), page);
  clflushed_pages_.Add();
  ExtErr err;
  TdxStatus s = RetryBusy([&] { return TdhMemRangeBlock(td_, gpa, sl, &err); });
  if (s != TDX_SUCCESS) return Bug("TDH.MEM.RANGE.BLOCK", s, err);
  RETURN_IF_ERROR(Track());
  for (;;) {
    s = RetryBusy([&] { return TdhMemPageDemote(td_, gpa, sl, page, &err); });
    if (StatusCode(s) != TDX_INTERRUPTED_RESTARTABLE) break;
  }
  if (s != TDX_SUCCESS) return Bug("TDH.MEM.PAGE.DEMOTE", s, err);
  sept_tables_.Add();
  demoted_.Add();
  return Ok();
}

}  // namespace cocomem::kvm::tdx
