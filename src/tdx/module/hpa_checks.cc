#include "tdx/module/hpa_checks.h"

#include "tdx/module/sept_state.h"

namespace cocomem::tdx {

TdxStatus CheckHpaOperand(const ModuleState& m, uint64_t hpa, unsigned size, OperandId id) {
  if ((hpa & (sept::LevelBytes(size) - 1)) || (hpa >> m.hpa_limit_shift))
    return WithOperand(TDX_OPERAND_INVALID, id);
  if (!m.InTdmr(PfnOf(Hpa(hpa)), sept::LevelPages(size)))
    return WithOperand(TDX_OPERAND_ADDR_RANGE_ERROR, id);
  return TDX_SUCCESS;
}

TdxStatus CheckAndLockFreeHpa(const ModuleState& m, uint64_t hpa, unsigned size, OperandId id,
                              PamtHold* hold) {
  if (TdxStatus s = CheckHpaOperand(m, hpa, size, id); s != TDX_SUCCESS) return s;
  Pfn pfn = PfnOf(Hpa(hpa));
  switch (m.pamt->Lock(pfn, size, LockMode::kExclusive, hold)) {
    case PamtLockResult::kBusy: return WithOperand(TDX_OPERAND_BUSY, id);
    case PamtLockResult::kSizeMismatch: return WithOperand(TDX_PAGE_METADATA_INCORRECT, id);
    case PamtLockResult::kOk: break;
  }
  if (hold->entry()->Type() != PageType::kNda) {
    hold->Release();
    return WithOperand(TDX_PAGE_METADATA_INCORRECT, id);
  }
  if (size == 1) {
    // Holding the 2M entry exclusive keeps every 4K access below it out.
    for (unsigned i = 0; i < 512; ++i) {
      if (m.pamt->At(0, pfn + i).Type() != PageType::kNda) {
        hold->Release();
        return WithOperand(TDX_PAGE_METADATA_INCORRECT, id);
      }
    }
  } else if (size == 2) {
    for (unsigned i = 0; i < 512; ++i) {
      Pfn p = pfn + i * 512;
      if (m.pamt->At(1, p).Type() != PageType::kNda) {
        hold->Release();
        return WithOperand(TDX_PAGE_METADATA_INCORRECT, id);
      }
    }
  }
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx
