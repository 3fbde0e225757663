#include "tdx/module/td_access.h"

namespace cocomem::tdx {

TdxStatus TdAccess::LockTdr(ModuleState& m, uint64_t tdr_pa, OperandId id, LockMode mode) {
  if ((tdr_pa & (kPageSize - 1)) || (tdr_pa >> m.hpa_limit_shift))
    return WithOperand(TDX_OPERAND_INVALID, id);
  Pfn pfn = PfnOf(Hpa(tdr_pa));
  if (!m.InTdmr(pfn, 1)) return WithOperand(TDX_OPERAND_ADDR_RANGE_ERROR, id);
  PamtEntry& e = m.pamt->At(0, pfn);
  if (!tdr_.Acquire(e.lock, mode)) return WithOperand(TDX_OPERAND_BUSY, id);
  if (e.Type() != PageType::kTdr) return WithOperand(TDX_PAGE_METADATA_INCORRECT, id);
  td_ = m.tds.Get(e.bepoch.load(std::memory_order_relaxed));
  CHECK(td_ != nullptr);
  return TDX_SUCCESS;
}

TdxStatus LockTdvpr(ModuleState& m, uint64_t tdvpr_pa, OperandId id, LockMode mode,
                    TryGuard<uint16_t>* lock, Vcpu** vcpu) {
  if ((tdvpr_pa & (kPageSize - 1)) || (tdvpr_pa >> m.hpa_limit_shift))
    return WithOperand(TDX_OPERAND_INVALID, id);
  Pfn pfn = PfnOf(Hpa(tdvpr_pa));
  if (!m.InTdmr(pfn, 1)) return WithOperand(TDX_OPERAND_ADDR_RANGE_ERROR, id);
  PamtEntry& e = m.pamt->At(0, pfn);
  if (!lock->Acquire(e.lock, mode)) return WithOperand(TDX_OPERAND_BUSY, id);
  if (e.Type() != PageType::kTdvpr) return WithOperand(TDX_PAGE_METADATA_INCORRECT, id);
  *vcpu = m.vcpus.Get(e.bepoch.load(std::memory_order_relaxed));
  CHECK(*vcpu != nullptr);
  return TDX_SUCCESS;
}

TdxStatus CheckBuildState(const Td& td) {
  if (td.fatal.load(std::memory_order_relaxed)) return TDX_TD_FATAL;
  if (td.lifecycle.load(std::memory_order_acquire) != Lifecycle::kKeysConfigured)
    return TDX_TD_KEYS_NOT_CONFIGURED;
  if (td.num_tdcx.load(std::memory_order_acquire) < kTdcsPages) return TDX_TDCS_NOT_ALLOCATED;
  return TDX_SUCCESS;
}

TdxStatus TdAccess::Acquire(ModuleState& m, uint64_t tdr_pa, const TdAccessSpec& spec) {
  if (TdxStatus s = LockTdr(m, tdr_pa, spec.tdr_operand, spec.tdr_mode); s != TDX_SUCCESS)
    return s;
  if (TdxStatus s = CheckBuildState(*td_); s != TDX_SUCCESS) return s;
  if (spec.lock_op_state && !op_state_.Acquire(td_->op_state_lock, LockMode::kShared))
    return WithOperand(TDX_OPERAND_BUSY, kOpOpState);
  if (!(spec.allowed_op_states & OpBit(td_->op_state.load(std::memory_order_acquire))))
    return TDX_OP_STATE_INCORRECT;
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx
