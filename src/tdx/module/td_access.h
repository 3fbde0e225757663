// Prologue A of every TD-scoped SEAMCALL (tdx.md §2 "TDR+TDCS"): the TDR operand, its
// PAMT lock and type, the TD-state checks of §1.4, the OP_STATE lock and gate.
#pragma once

#include <cstdint>

#include "tdx/module/locks.h"
#include "tdx/module/module_state.h"
#include "tdx/module/status.h"
#include "tdx/module/td.h"

namespace cocomem::tdx {

struct TdAccessSpec {
  OperandId tdr_operand = kOpRdx;
  LockMode tdr_mode = LockMode::kShared;
  bool lock_op_state = true;
  OpStateMask allowed_op_states = 0;
};

// Holds the TDR (and OP_STATE) locks of one SEAMCALL until destroyed.
class TdAccess {
 public:
  TdAccess() = default;
  TdAccess(const TdAccess&) = delete;
  TdAccess& operator=(const TdAccess&) = delete;

  // The whole prologue: LockTdr, CheckBuildState, OP_STATE lock and gate.
  TdxStatus Acquire(ModuleState& m, uint64_t tdr_pa, const TdAccessSpec& spec);
  // Steps 1-4 only (operand format, TDMR, PAMT lock, PT_TDR): for the TD-management leaves.
  TdxStatus LockTdr(ModuleState& m, uint64_t tdr_pa, OperandId id, LockMode mode);

  Td& td() const { return *td_; }

 private:
  Td* td_ = nullptr;
  TryGuard<uint16_t> tdr_;
  TryGuard<uint32_t> op_state_;
};

// The TDVPR operand of the TDH.VP.* leaves: format, TDMR, PAMT lock, PT_TDVPR.
TdxStatus LockTdvpr(ModuleState& m, uint64_t tdvpr_pa, OperandId id, LockMode mode,
                    TryGuard<uint16_t>* lock, Vcpu** vcpu);

// TDR.FATAL, lifecycle KEYS_CONFIGURED, all TDCS pages added.
TdxStatus CheckBuildState(const Td& td);

}  // namespace cocomem::tdx
