// TdxVm: the TD's lifecycle and the KVM_MEMORY_ENCRYPT_OP commands (tdx_vm_ioctl,
// tdx_vcpu_unlocked_ioctl). The mirror hooks are in sept_hooks.cc, INIT_MEM_REGION in
// init_mem_region.cc.
#include "kvm/tdx/tdx_vm.h"

#include <cerrno>
#include <cstring>
#include <thread>

#include "base/user_copy.h"
#include "kvm/kvm.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"

namespace cocomem::kvm::tdx {

using ::cocomem::tdx::kTdcsPages;
using ::cocomem::tdx::kTdvpxPages;
using ::cocomem::tdx::StatusCode;
using ::cocomem::tdx::TDX_OPERAND_BUSY;
using ::cocomem::tdx::TDX_SUCCESS;

namespace {
constexpr uint64_t kPageChunk = 64;  // module pages are reserved from the arena in chunks
}

TdxVm::TdxVm(Vm& vm, TdxHost& host) : vm_(vm), host_(host) {}

TdxVm::~TdxVm() {
  MutexLock l(&mu_);
  Teardown();
}

std::optional<Pfn> TdxVm::tdvpr(uint32_t vcpu_id) const {
  MutexLock l(&mu_);
  auto it = tdvprs_.find(vcpu_id);
  if (it == tdvprs_.end()) return std::nullopt;
  return it->second;
}

Result<Pfn> TdxVm::AllocPage() {
  MutexLock l(&pages_mu_);
  if (free_pages_.empty()) {
    ASSIGN_OR_RETURN(host::PfnRange r, vm_.kvm().arena().Reserve(kPageChunk, PageOrder::k4K));
    pages_.push_back(r);
    for (uint64_t i = kPageChunk; i-- > 0;) free_pages_.push_back(r.start + i);
  }
  const Pfn p = free_pages_.back();
  free_pages_.pop_back();
  return p;
}

Error TdxVm::Bug(const char* what, TdxStatus status, const ExtErr& err) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "TDX_BUG_ON: %s failed: status 0x%016llx (%s), entry 0x%llx, level_state 0x%llx",
                what, static_cast<unsigned long long>(status), ::cocomem::tdx::StatusName(status),
                static_cast<unsigned long long>(err.entry),
                static_cast<unsigned long long>(err.level_state));
  vm_.MarkDead(buf);
  return Error(EIO);
}

void TdxVm::KickVcpus() {
  kicks_.Add();
  vm_.ForEachVcpu([](Vcpu& v) { v.WaitOutsideGuestMode(); });
}

TdxStatus TdxVm::RetryBusy(const std::function<TdxStatus()>& seamcall) {
  for (;;) {
    const TdxStatus s = seamcall();
    if (StatusCode(s) != TDX_OPERAND_BUSY) return s;
    busy_retries_.Add();
    KickVcpus();
    std::this_thread::yield();
  }
}

Status TdxVm::Track() {
  if (!runnable()) return Ok();  // before finalize nothing needs tracking
  const TdxStatus s = RetryBusy([&] { return TdhMemTrack(td_); });
  if (s != TDX_SUCCESS) return Bug("TDH.MEM.TRACK", s);
  tracks_.Add();
  KickVcpus();
  return Ok();
}

// ---- KVM_MEMORY_ENCRYPT_OP ------------------------------------------------------------

Status TdxVm::VmIoctl(kvm_tdx_cmd& cmd) {
  if (cmd.hw_error) return Error(EINVAL);  // an output: must come in as zero
  if (cmd.id == KVM_TDX_CAPABILITIES) return Capabilities(cmd);
  MutexLock l(&mu_);
  switch (cmd.id) {
    case KVM_TDX_INIT_VM:
      return InitVm(cmd);
    case KVM_TDX_FINALIZE_VM:
      return Finalize(cmd);
    default:
      return Error(EINVAL);
  }
}

Status TdxVm::VcpuIoctl(Vcpu& vcpu, kvm_tdx_cmd& cmd) {
  if (cmd.hw_error) return Error(EINVAL);
  MutexLock l(&mu_);
  if (state() != TdState::kInitialized) return Error(EINVAL);  // no HKID yet, or runnable
  switch (cmd.id) {
    case KVM_TDX_INIT_VCPU:
      return InitVcpu(vcpu, cmd);
    case KVM_TDX_INIT_MEM_REGION:
      return InitMemRegion(vcpu, cmd);
    default:
      return Error(EINVAL);
  }
}

Status TdxVm::Capabilities(kvm_tdx_cmd& cmd) {
  if (cmd.flags) return Error(EINVAL);
  kvm_tdx_capabilities caps;
  RETURN_IF_ERROR(CopyFromUser(&caps, cmd.data));
  const uint32_t user_nent = caps.cpuid.nent;
  std::memset(&caps, 0, sizeof caps);
  caps.supported_attrs = kSupportedTdAttrs;
  caps.supported_xfam = kSupportedXfam;
  caps.cpuid.nent = 0;  // no configurable CPUID leaves are emulated
  (void)user_nent;      // E2BIG needs more entries than the user has room for: never
  RETURN_IF_ERROR(CopyToUser(cmd.data, caps));
  return Ok();
}

Status TdxVm::InitVm(kvm_tdx_cmd& cmd) {
  if (cmd.flags) return Error(EINVAL);
  if (state() != TdState::kUninitialized) return Error(EINVAL);
  kvm_tdx_init_vm init;
  RETURN_IF_ERROR(CopyFromUser(&init, cmd.data));
  for (uint64_t r : init.reserved) {
    if (r) return Error(EINVAL);
  }
  if (init.cpuid.nent > 256) return Error(E2BIG);  // KVM_MAX_CPUID_ENTRIES
  if ((init.attributes & ~kSupportedTdAttrs) || (init.xfam & ~kSupportedXfam)) {
    return Error(EINVAL);
  }
  ASSIGN_OR_RETURN(const uint16_t hkid, host_.AllocHkid());
  // TDR, then the TDCS pages, then the TD's key and parameters (__tdx_td_init).
  Result<Pfn> tdr = AllocPage();
  if (!tdr.ok()) {
    host_.FreeHkid(hkid);
    return Error(tdr.error());
  }
  tdr_ = *tdr;
  td_ = TdRef{&module(), tdr_, hkid};
  ClflushPfn(vm_.kvm().arena(), tdr_);
  TdxStatus s = TdhMngCreate(module(), tdr_, hkid);
  if (s != TDX_SUCCESS) {
    cmd.hw_error = s;
    return Bug("TDH.MNG.CREATE", s);
  }
  s = TdhMngKeyConfig(td_);
  if (s != TDX_SUCCESS) {
    cmd.hw_error = s;
    return Bug("TDH.MNG.KEY.CONFIG", s);
  }
  for (unsigned i = 0; i < kTdcsPages; ++i) {
    ASSIGN_OR_RETURN(Pfn page, AllocPage());
    ClflushPfn(vm_.kvm().arena(), page);
    s = TdhMngAddcx(td_, page);
    if (s != TDX_SUCCESS) {
      cmd.hw_error = s;
      return Bug("TDH.MNG.ADDCX", s);
    }
  }
  gpaw_ = 48;
  module().SetTdParams(HpaOf(tdr_), ::cocomem::tdx::TdParams{.attributes = init.attributes,
                                                             .xfam = init.xfam,
                                                             .gpaw = gpaw_});
  s = TdhMngInit(td_);
  if (s != TDX_SUCCESS) {
    cmd.hw_error = s;
    return Bug("TDH.MNG.INIT", s);
  }
  ASSIGN_OR_RETURN(bounce_, AllocPage());
  state_.store(TdState::kInitialized, std::memory_order_release);
  return Ok();
}

Status TdxVm::Finalize(kvm_tdx_cmd& cmd) {
  if (state() != TdState::kInitialized) return Error(EINVAL);
  cmd.hw_error = TdhMrFinalize(td_);
  if (StatusCode(cmd.hw_error) == TDX_OPERAND_BUSY) return Error(EBUSY);
  if (cmd.hw_error != TDX_SUCCESS) return Bug("TDH.MR.FINALIZE", cmd.hw_error);
  state_.store(TdState::kRunnable, std::memory_order_release);  // also pre_fault_allowed
  return Ok();
}

Status TdxVm::InitVcpu(Vcpu& vcpu, kvm_tdx_cmd& cmd) {
  if (cmd.flags) return Error(EINVAL);
  if (tdvprs_.count(vcpu.id())) return Error(EINVAL);  // already initialized
  ASSIGN_OR_RETURN(Pfn tdvpr, AllocPage());
  ClflushPfn(vm_.kvm().arena(), tdvpr);
  TdxStatus s = TdhVpCreate(td_, tdvpr);
  if (s != TDX_SUCCESS) {
    cmd.hw_error = s;
    return Bug("TDH.VP.CREATE", s);
  }
  for (unsigned i = 0; i < kTdvpxPages; ++i) {
    ASSIGN_OR_RETURN(Pfn page, AllocPage());
    ClflushPfn(vm_.kvm().arena(), page);
    s = TdhVpAddcx(td_, tdvpr, page);
    if (s != TDX_SUCCESS) {
      cmd.hw_error = s;
      return Bug("TDH.VP.ADDCX", s);
    }
  }
  s = TdhVpInit(td_, tdvpr, cmd.data);
  if (s != TDX_SUCCESS) {
    cmd.hw_error = s;
    return Bug("TDH.VP.INIT", s);
  }
  tdvprs_[vcpu.id()] = tdvpr;
  return Ok();
}

// ---- teardown (tdx_mmu_release_hkid, tdx_vm_free) ------------------------------------------

void TdxVm::Teardown() {
  if (state() == TdState::kUninitialized && tdr_.value() == 0) {
    MutexLock l(&pages_mu_);
    for (const host::PfnRange& r : pages_) vm_.kvm().arena().Release(r);
    return;
  }
  auto& mod = module();
  for (const auto& [id, tdvpr] : tdvprs_) (void)TdhVpFlush(td_, tdvpr);
  (void)TdhMngVpflushdone(td_);
  (void)TdhMngKeyFreeid(td_);
  // Every page the TD still owns goes back (RECLAIM): guest pages and S-EPT tables first,
  // then vCPU and TD control pages, the TDR last. Pages that fail stay with the module and
  // are not returned to the arena, so nothing is reused while the module thinks it owned.
  std::vector<Pfn> owned;
  mod.ForEachSeptEntry(HpaOf(tdr_), [&](const ::cocomem::tdx::SeptEntryInfo& e) {
    owned.push_back(PfnOf(e.hpa));
  });
  std::vector<Pfn> leaked;
  for (Pfn p : owned) {
    if (TdhPhymemPageReclaim(mod, p) != TDX_SUCCESS) leaked.push_back(p);
  }
  // Control pages: whatever the module still records as ours in the pages we reserved.
  std::vector<host::PfnRange> ranges;
  {
    MutexLock l(&pages_mu_);
    ranges = pages_;
  }
  for (const host::PfnRange& r : ranges) {
    for (uint64_t i = 0; i < r.npages; ++i) {
      const Pfn p = r.start + i;
      if (p == tdr_) continue;
      const auto type = mod.Pamt(p).type;
      if (type == ::cocomem::tdx::PageType::kNda) continue;
      if (TdhPhymemPageReclaim(mod, p) != TDX_SUCCESS) leaked.push_back(p);
    }
  }
  if (TdhPhymemPageReclaim(mod, tdr_) == TDX_SUCCESS) {
    (void)TdhPhymemPageWbinvdGlobal(mod, tdr_);
  } else {
    leaked.push_back(tdr_);
  }
  host_.FreeHkid(td_.hkid);
  MutexLock l(&pages_mu_);
  for (const host::PfnRange& r : pages_) {
    bool clean = true;
    for (Pfn p : leaked) clean &= !r.Contains(p);
    if (clean) vm_.kvm().arena().Release(r);
  }
  pages_.clear();
  free_pages_.clear();
}

// ---- invariants ---------------------------------------------------------------------------

std::vector<std::string> TdxVm::CheckInvariants() const {
  if (state() == TdState::kUninitialized) return {};
  std::vector<std::string> v = module().CheckInvariants();
  // Mirror leaves and S-EPT leaves must agree one to one.
  std::map<uint64_t, ::cocomem::tdx::SeptEntryInfo> sept_leaves;
  module().ForEachSeptEntry(HpaOf(tdr_), [&](const ::cocomem::tdx::SeptEntryInfo& e) {
    using ::cocomem::tdx::SeptState;
    if (e.state == SeptState::kMapped || e.state == SeptState::kPending ||
        e.state == SeptState::kBlocked || e.state == SeptState::kPendingBlocked) {
      sept_leaves[e.gpa] = e;
    }
  });
  std::map<uint64_t, tdp::TdpTable::Mapping> mirror;
  vm_.ForEachMapping(0, [&](const tdp::TdpTable::Mapping& m) {
    if (m.spte.is_private()) mirror[GpaOf(m.gfn).value()] = m;
  });
  char buf[200];
  for (const auto& [gpa, m] : mirror) {
    auto it = sept_leaves.find(gpa);
    if (it == sept_leaves.end()) {
      std::snprintf(buf, sizeof buf, "mirror leaf at GPA 0x%llx (PFN 0x%llx) has no S-EPT leaf",
                    static_cast<unsigned long long>(gpa),
                    static_cast<unsigned long long>(m.spte.frame()));
      v.push_back(buf);
    } else if (SeptLevelOf(m.level) != it->second.level ||
               PfnOf(it->second.hpa).value() != m.spte.frame()) {
      std::snprintf(buf, sizeof buf,
                    "mirror leaf at GPA 0x%llx (level %d, PFN 0x%llx) disagrees with the S-EPT "
                    "(level %d, PFN 0x%llx)",
                    static_cast<unsigned long long>(gpa), static_cast<int>(m.level),
                    static_cast<unsigned long long>(m.spte.frame()),
                    static_cast<int>(it->second.level) + 1,
                    static_cast<unsigned long long>(PfnOf(it->second.hpa).value()));
      v.push_back(buf);
    }
  }
  for (const auto& [gpa, e] : sept_leaves) {
    if (!mirror.count(gpa)) {
      std::snprintf(buf, sizeof buf, "S-EPT leaf at GPA 0x%llx (PFN 0x%llx, %s) is not in the mirror",
                    static_cast<unsigned long long>(gpa),
                    static_cast<unsigned long long>(PfnOf(e.hpa).value()),
                    ::cocomem::tdx::SeptStateName(e.state));
      v.push_back(buf);
    }
  }
  return v;
}

}  // namespace cocomem::kvm::tdx
