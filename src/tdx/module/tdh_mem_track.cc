// TDH.MEM.TRACK (leaf 38, tdx.md §2.5, §1.5): advance the TD's TLB epoch, once no vCPU is
// still inside from two epochs back.
#include "tdx/module/leaves.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus MemTrack(ModuleState& m, Regs& r) {
  TdAccess access;
  if (TdxStatus s = access.Acquire(m, r.rcx, {kOpRcx, LockMode::kShared, true, kOpsTrack});
      s != TDX_SUCCESS)
    return s;
  Td& td = access.td();
  TryGuard<uint32_t> epoch_lock;
  if (!epoch_lock.Acquire(td.epoch_lock, LockMode::kExclusive))
    return WithOperand(TDX_OPERAND_BUSY, kOpTdEpoch);
  uint64_t epoch = td.td_epoch.load(std::memory_order_relaxed);
  if (td.refcount[1 - (epoch & 1)].load(std::memory_order_acquire) != 0)
    return TDX_PREVIOUS_TLB_EPOCH_BUSY;
  td.td_epoch.store(epoch + 1, std::memory_order_release);
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
