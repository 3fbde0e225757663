// The "HPA" operand checks of tdx.md §2 for pages handed to the module.
#pragma once

#include <cstdint>

#include "tdx/module/module_state.h"
#include "tdx/module/pamt.h"
#include "tdx/module/status.h"

namespace cocomem::tdx {

// Format and TDX-memory checks: aligned to the page size of `size`, no KeyID bits (and
// nothing at or above MAX_PA) -> OPERAND_INVALID|id; outside a TDMR -> ADDR_RANGE_ERROR|id.
TdxStatus CheckHpaOperand(const ModuleState& m, uint64_t hpa, unsigned size, OperandId id);

// CheckHpaOperand, then the PAMT entry at `size` locked exclusive (BUSY|id) and free:
// PT_NDA at exactly that size, for 2M all 512 4K entries too (PAGE_METADATA_INCORRECT|id).
// On success `hold` keeps the lock until the caller commits.
TdxStatus CheckAndLockFreeHpa(const ModuleState& m, uint64_t hpa, unsigned size, OperandId id,
                              PamtHold* hold);

}  // namespace cocomem::tdx
