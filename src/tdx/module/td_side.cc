// The TD side of the module: a vCPU entering/leaving the TD (TLB epoch refcounts, §1.5),
// the CPU's lock-free walk of the Secure EPT for a guest access (§2.16), and the TDCALLs.
#include <cstring>

#include "tdx/module/leaves.h"
#include "tdx/module/module_state.h"
#include "tdx/module/sept_walk.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx {

TdxStatus TdxModule::VpEnter(Hpa tdvpr) {
  ModuleState& m = *impl_;
  Vcpu* vcpu = m.VcpuOfTdvpr(tdvpr.value());
  if (vcpu == nullptr) return WithOperand(TDX_OPERAND_INVALID, kOpRcx);
  Td& td = *vcpu->td;
  if (TdxStatus s = CheckBuildState(td); s != TDX_SUCCESS) return s;
  if (td.op_state.load(std::memory_order_acquire) != kOpRunnable ||
      !vcpu->initialized.load(std::memory_order_acquire))
    return TDX_OP_STATE_INCORRECT;
  if (vcpu->in_td.load(std::memory_order_relaxed)) return WithOperand(TDX_OPERAND_BUSY, kOpRcx);
  TryGuard<uint32_t> epoch_lock;
  if (!epoch_lock.Acquire(td.epoch_lock, LockMode::kShared))
    return WithOperand(TDX_OPERAND_BUSY, kOpTdEpoch);
  const uint64_t epoch = td.td_epoch.load(std::memory_order_acquire);
  td.refcount[epoch & 1].fetch_add(1, std::memory_order_acq_rel);
  vcpu->vcpu_epoch.store(epoch, std::memory_order_relaxed);
  vcpu->in_td.store(true, std::memory_order_release);
  return TDX_SUCCESS;
}

void TdxModule::TdExitEpoch(Hpa tdvpr) {
  Vcpu* vcpu = impl_->VcpuOfTdvpr(tdvpr.value());
  CHECK_MSG(vcpu != nullptr && vcpu->in_td.load(std::memory_order_relaxed),
            "TD exit of a vCPU that is not in the TD");
  vcpu->in_td.store(false, std::memory_order_relaxed);
  vcpu->td->refcount[vcpu->vcpu_epoch.load(std::memory_order_relaxed) & 1].fetch_sub(
      1, std::memory_order_acq_rel);
}

GuestWalk TdxModule::Walk(Hpa tdr, uint64_t gpa, bool write) const {
  const ModuleState& m = *impl_;
  GuestWalk w;
  w.exit.exit_qualification = write ? 0x2 : 0x1;
  w.exit.gpa = gpa;
  const Td* td = m.TdOfTdr(PfnOf(tdr));
  if (td == nullptr || !td->Initialized() ||
      td->lifecycle.load(std::memory_order_acquire) == Lifecycle::kTeardown ||
      !GpaValid(m, *td, gpa))
    return w;
  SeptSlot slot = WalkSept(m, *td, gpa, 0);
  auto state = sept::Decode(slot.raw);
  if (state == SeptState::kMapped) {
    w.kind = GuestWalk::Kind::kAccessible;
    w.hpa = Hpa(sept::EntryHpa(slot.raw, slot.level) + (gpa & (sept::LevelBytes(slot.level) - 1)));
    return w;
  }
  if (state == SeptState::kPending) {
    if (!(td->params.attributes & kTdAttrSeptVeDisable)) {
      w.kind = GuestWalk::Kind::kVe;
      return w;
    }
    w.exit.ext_exit_qualification = kEeqTypePendingEptViolation;
  }
  return w;
}

TdcallResult TdxModule::TdgMemPageAccept(Hpa tdvpr, uint64_t rcx) {
  Vcpu* vcpu = impl_->VcpuOfTdvpr(tdvpr.value());
  CHECK_MSG(vcpu != nullptr, "TDCALL from an unknown vCPU");
  return leaf::TdgMemPageAccept(*impl_, *vcpu, rcx);
}

TdcallResult TdxModule::TdgMrReport(Hpa tdvpr, uint8_t mrtd[48]) {
  Vcpu* vcpu = impl_->VcpuOfTdvpr(tdvpr.value());
  CHECK_MSG(vcpu != nullptr, "TDCALL from an unknown vCPU");
  const Td& td = *vcpu->td;
  if (td.finalized.load(std::memory_order_acquire))
    std::memcpy(mrtd, td.mrtd.data(), td.mrtd.size());
  else
    std::memset(mrtd, 0, 48);
  return TdcallResult{};
}

}  // namespace cocomem::tdx
