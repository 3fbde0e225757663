// TDH.MR.FINALIZE (leaf 17, tdx.md §2.12): seal MRTD and make the TD runnable.
#include "tdx/module/leaves.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus MrFinalize(ModuleState& m, Regs& r) {
  TdAccess access;
  if (TdxStatus s = access.Acquire(m, r.rcx, {kOpRcx, LockMode::kExclusive, false,
                                              kOpsInitializedOnly});
      s != TDX_SUCCESS)
    return s;
  Td& td = access.td();
  if (td.num_vcpus.load(std::memory_order_acquire) == 0) return TDX_NO_VCPUS;
  td.mrtd = td.measurement.Finalize();
  td.finalized.store(true, std::memory_order_release);
  td.op_state.store(kOpRunnable, std::memory_order_release);
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
