// TdxModule: creation, the SEAMCALL dispatcher (RAX decoding, per-leaf version limits,
// statistics, trace) and the test hooks. The leaves live in tdh_*.cc, the TD side in
// td_side.cc, introspection in introspection.cc.
#include "tdx/module/tdx_module.h"

#include <cerrno>

#include "base/trace.h"
#include "tdx/module/leaves.h"
#include "tdx/module/module_state.h"
#include "tdx/module/sept_walk.h"

namespace cocomem::tdx {

const char* LeafName(Leaf leaf) {
  switch (leaf) {
    case Leaf::kVpEnter: return "TDH.VP.ENTER";
    case Leaf::kMngAddcx: return "TDH.MNG.ADDCX";
    case Leaf::kMemPageAdd: return "TDH.MEM.PAGE.ADD";
    case Leaf::kMemSeptAdd: return "TDH.MEM.SEPT.ADD";
    case Leaf::kVpAddcx: return "TDH.VP.ADDCX";
    case Leaf::kMemPageAug: return "TDH.MEM.PAGE.AUG";
    case Leaf::kMemRangeBlock: return "TDH.MEM.RANGE.BLOCK";
    case Leaf::kMngKeyConfig: return "TDH.MNG.KEY.CONFIG";
    case Leaf::kMngCreate: return "TDH.MNG.CREATE";
    case Leaf::kVpCreate: return "TDH.VP.CREATE";
    case Leaf::kMemPageDemote: return "TDH.MEM.PAGE.DEMOTE";
    case Leaf::kMrExtend: return "TDH.MR.EXTEND";
    case Leaf::kMrFinalize: return "TDH.MR.FINALIZE";
    case Leaf::kVpFlush: return "TDH.VP.FLUSH";
    case Leaf::kMngVpflushdone: return "TDH.MNG.VPFLUSHDONE";
    case Leaf::kMngKeyFreeid: return "TDH.MNG.KEY.FREEID";
    case Leaf::kMngInit: return "TDH.MNG.INIT";
    case Leaf::kVpInit: return "TDH.VP.INIT";
    case Leaf::kMemPagePromote: return "TDH.MEM.PAGE.PROMOTE";
    case Leaf::kMemSeptRd: return "TDH.MEM.SEPT.RD";
    case Leaf::kPhymemPageReclaim: return "TDH.PHYMEM.PAGE.RECLAIM";
    case Leaf::kMemPageRemove: return "TDH.MEM.PAGE.REMOVE";
    case Leaf::kMemSeptRemove: return "TDH.MEM.SEPT.REMOVE";
    case Leaf::kMemTrack: return "TDH.MEM.TRACK";
    case Leaf::kMemRangeUnblock: return "TDH.MEM.RANGE.UNBLOCK";
    case Leaf::kPhymemPageWbinvd: return "TDH.PHYMEM.PAGE.WBINVD";
  }
  return "TDH.UNKNOWN";
}

const char* SeptStateName(SeptState s) {
  switch (s) {
    case SeptState::kFree: return "FREE";
    case SeptState::kNlMapped: return "NL_MAPPED";
    case SeptState::kNlBlocked: return "NL_BLOCKED";
    case SeptState::kMapped: return "MAPPED";
    case SeptState::kBlocked: return "BLOCKED";
    case SeptState::kPending: return "PENDING";
    case SeptState::kPendingBlocked: return "PENDING_BLOCKED";
  }
  return "?";
}

TdxModule::TdxModule(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TdxModule::~TdxModule() = default;

Result<std::unique_ptr<TdxModule>> TdxModule::Create(host::Arena& arena, ModuleConfig config) {
  if (config.phys_bits < 32 || config.keyid_bits == 0 ||
      config.phys_bits + config.keyid_bits > 52 ||
      config.first_private_hkid >= (1u << config.keyid_bits))
    return Error(EINVAL);
  const uint64_t npages = arena.capacity_pages();
  if ((npages << kPageShift) > (uint64_t{1} << config.phys_bits) || npages >= (uint64_t{1} << 32))
    return Error(EINVAL);
  for (const auto& r : config.tdmrs) {
    constexpr uint64_t k1G = uint64_t{1} << 18;
    if (r.npages == 0 || (r.start.value() % k1G) || (r.npages % k1G) || !arena.Contains(r))
      return Error(EINVAL);
  }
  auto impl = std::make_unique<Impl>(arena, std::move(config));
  ASSIGN_OR_RETURN(impl->pamt, Pamt::Create(npages));
  impl->hpa_limit_shift = impl->config.phys_bits;
  impl->max_pa_bits = impl->config.phys_bits + impl->config.keyid_bits;
  {
    MutexLock l(&impl->mu);
    impl->hkid_in_use.assign(size_t{1} << impl->config.keyid_bits, false);
  }
  return std::unique_ptr<TdxModule>(new TdxModule(std::move(impl)));
}

const ModuleConfig& TdxModule::config() const { return impl_->config; }
host::Arena& TdxModule::arena() const { return impl_->arena; }

static TdxStatus Dispatch(ModuleState& m, unsigned leaf, unsigned version, Regs& r) {
  const unsigned max_version =
      (leaf == static_cast<unsigned>(Leaf::kMemPagePromote) ||
       leaf == static_cast<unsigned>(Leaf::kMemSeptAdd))
          ? 1
          : 0;
  if (version > max_version) return WithOperand(TDX_OPERAND_INVALID, kOpRax);
  switch (static_cast<Leaf>(leaf)) {
    case Leaf::kMngAddcx: return leaf::MngAddcx(m, r);
    case Leaf::kMemPageAdd: return leaf::MemPageAdd(m, r);
    case Leaf::kMemSeptAdd: return leaf::MemSeptAdd(m, r, version);
    case Leaf::kVpAddcx: return leaf::VpAddcx(m, r);
    case Leaf::kMemPageAug: return leaf::MemPageAug(m, r);
    case Leaf::kMemRangeBlock: return leaf::MemRangeBlock(m, r);
    case Leaf::kMngKeyConfig: return leaf::MngKeyConfig(m, r);
    case Leaf::kMngCreate: return leaf::MngCreate(m, r);
    case Leaf::kVpCreate: return leaf::VpCreate(m, r);
    case Leaf::kMemPageDemote: return leaf::MemPageDemote(m, r);
    case Leaf::kMrExtend: return leaf::MrExtend(m, r);
    case Leaf::kMrFinalize: return leaf::MrFinalize(m, r);
    case Leaf::kVpFlush: return leaf::VpFlush(m, r);
    case Leaf::kMngVpflushdone: return leaf::MngVpflushdone(m, r);
    case Leaf::kMngKeyFreeid: return leaf::MngKeyFreeid(m, r);
    case Leaf::kMngInit: return leaf::MngInit(m, r);
    case Leaf::kVpInit: return leaf::VpInit(m, r);
    case Leaf::kMemPagePromote: return leaf::MemPagePromote(m, r);
    case Leaf::kMemSeptRd: return leaf::MemSeptRd(m, r);
    case Leaf::kPhymemPageReclaim: return leaf::PhymemPageReclaim(m, r);
    case Leaf::kMemPageRemove: return leaf::MemPageRemove(m, r);
    case Leaf::kMemSeptRemove: return leaf::MemSeptRemove(m, r);
    case Leaf::kMemTrack: return leaf::MemTrack(m, r);
    case Leaf::kMemRangeUnblock: return leaf::MemRangeUnblock(m, r);
    case Leaf::kPhymemPageWbinvd: return leaf::PhymemPageWbinvd(m, r);
    case Leaf::kVpEnter:  // the TD side: VpEnter()/TdExitEpoch()
      break;
  }
  return WithOperand(TDX_OPERAND_INVALID, kOpRax);
}

TdxStatus TdxModule::Seamcall(Regs& regs) {
  const uint64_t rax = regs.rax;
  const unsigned leaf = rax & 0xFFFF;
  const unsigned version = (rax >> 16) & 0xFF;
  TdxStatus s;
  if (rax >> 24) {
    s = WithOperand(TDX_OPERAND_INVALID, kOpRax);
  } else {
    trace::Scope ts("seamcall", LeafName(static_cast<Leaf>(leaf)));
    s = Dispatch(*impl_, leaf, version, regs);
  }
  regs.rax = s;
  impl_->seamcall_stats.Count(leaf, s);
  if (StatusCode(s) == TDX_OPERAND_BUSY) impl_->busy.Add();
  return s;
}

void TdxModule::SetTdParams(Hpa tdr, const TdParams& params) {
  MutexLock l(&impl_->mu);
  impl_->pending_params[tdr.value()] = params;
}

std::vector<std::tuple<Leaf, TdxStatus, uint64_t>> TdxModule::SeamcallCounts() const {
  return impl_->seamcall_stats.Snapshot();
}

void TdxModule::InjectPendingInterruptForTest(unsigned count) {
  impl_->pending_interrupts.store(count, std::memory_order_relaxed);
}

TdxModule::HeldLock::HeldLock(HeldLock&& o) noexcept : release_(std::move(o.release_)) {
  o.release_ = nullptr;
}
TdxModule::HeldLock::~HeldLock() {
  if (release_) release_();
}

TdxModule::HeldLock TdxModule::HoldLockForTest(TestLock which, Hpa tdr, uint64_t gpa_or_hpa,
                                               SeptLevel level) {
  ModuleState& m = *impl_;
  if (which == TestLock::kPamtPage) {
    auto hold = std::make_shared<PamtHold>();
    CHECK_MSG(m.pamt->Lock(PfnOf(Hpa(gpa_or_hpa)), 0, LockMode::kExclusive, hold.get()) ==
                  PamtLockResult::kOk,
              "PAMT entry not free");
    return HeldLock([hold] { hold->Release(); });
  }
  if (which == TestLock::kTdrExclusive) {
    PamtEntry* e = &m.pamt->At(0, PfnOf(tdr));
    CHECK_MSG(e->lock.TryLock(), "TDR lock not free");
    return HeldLock([e] { e->lock.Unlock(); });
  }
  Td* td = m.TdOfTdr(PfnOf(tdr));
  CHECK_MSG(td != nullptr, "not a TDR");
  switch (which) {
    case TestLock::kOpState:
      CHECK_MSG(td->op_state_lock.TryLock(), "OP_STATE lock not free");
      return HeldLock([td] { td->op_state_lock.Unlock(); });
    case TestLock::kSeptTreeExclusive:
      CHECK_MSG(td->sept_tree_lock.TryLock(), "SEPT tree lock not free");
      return HeldLock([td] { td->sept_tree_lock.Unlock(); });
    case TestLock::kEpochExclusive:
      CHECK_MSG(td->epoch_lock.TryLock(), "epoch lock not free");
      return HeldLock([td] { td->epoch_lock.Unlock(); });
    case TestLock::kSeptEntry: {
      CHECK(td->Initialized());
      SeptSlot slot = WalkSept(m, *td, gpa_or_hpa, level);
      CHECK_MSG(slot.level == level, "no S-EPT entry at that level");
      uint64_t raw;
      CHECK_MSG(TryLockEntryHost(slot.entry, &raw), "S-EPT entry lock not free");
      uint64_t* p = slot.entry;
      return HeldLock([p] { EntryRef(p).fetch_and(~sept::kTdel, std::memory_order_release); });
    }
    default: break;
  }
  CHECK(false);
}

}  // namespace cocomem::tdx
