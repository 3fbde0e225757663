// TDH.PHYMEM.PAGE.WBINVD (leaf 41, tdx.md §2.14): write back and invalidate one page's
// cache lines for a KeyID. No cache is modelled; the checks are what matters: the page
// must already be free (PT_NDA) in the PAMT.
#include "tdx/module/hpa_checks.h"
#include "tdx/module/leaves.h"

namespace cocomem::tdx::leaf {

TdxStatus PhymemPageWbinvd(ModuleState& m, Regs& r) {
  const unsigned key_top = m.config.phys_bits + m.config.keyid_bits;
  if (r.rcx >> key_top) return WithOperand(TDX_OPERAND_INVALID, kOpRcx);
  const uint64_t pa = r.rcx & ((uint64_t{1} << m.config.phys_bits) - 1);
  if (TdxStatus s = CheckHpaOperand(m, pa, 0, kOpRcx); s != TDX_SUCCESS) return s;
  PamtHold page;
  switch (m.pamt->Lock(PfnOf(Hpa(pa)), 0, LockMode::kShared, &page)) {
    case PamtLockResult::kBusy: return WithOperand(TDX_OPERAND_BUSY, kOpRcx);
    case PamtLockResult::kSizeMismatch: return WithOperand(TDX_PAGE_METADATA_INCORRECT, kOpRcx);
    case PamtLockResult::kOk: break;
  }
  if (page.entry()->Type() != PageType::kNda)
    return WithOperand(TDX_PAGE_METADATA_INCORRECT, kOpRcx);
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
