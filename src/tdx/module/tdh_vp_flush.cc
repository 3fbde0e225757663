// TDH.VP.FLUSH (leaf 18): flush a vCPU's cached TD state before teardown. Nothing is
// cached in the emulator; a vCPU still inside the TD is busy.
#include "tdx/module/leaves.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus VpFlush(ModuleState& m, Regs& r) {
  TryGuard<uint16_t> tdvpr_lock;
  Vcpu* vcpu = nullptr;
  if (TdxStatus s = LockTdvpr(m, r.rcx, kOpRcx, LockMode::kExclusive, &tdvpr_lock, &vcpu);
      s != TDX_SUCCESS)
    return s;
  if (vcpu->in_td.load(std::memory_order_acquire)) return WithOperand(TDX_OPERAND_BUSY, kOpRcx);
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
