// TdxVm: KVM's TDX state for one VM (struct kvm_tdx) — the TD's control pages in the
// module, its lifecycle (uninitialized -> initialized by KVM_TDX_INIT_VM -> runnable after
// KVM_TDX_FINALIZE_VM), its vCPUs' TDVPRs, and the mirror-table hooks that turn every
// change of KVM's mirror page table into SEAMCALLs (tdx_sept_*):
//
//   new table  -> TDH.MEM.SEPT.ADD (a fresh page, clflushed)
//   new leaf   -> TDH.MEM.PAGE.ADD from the INIT_MEM_REGION source before finalize,
//                 TDH.MEM.PAGE.AUG (4K or 2M) after
//   zap        -> BLOCK, TRACK, kick vCPUs, REMOVE, WBINVD of every 4K page
//   split      -> BLOCK, TRACK, kick vCPUs, DEMOTE (a fresh S-EPT page)
//
// TDX_OPERAND_BUSY is retried (after kicking vCPUs); any other failure marks the VM bugged
// (every later ioctl fails with EIO), as KVM's TDX_BUG_ON does.
#pragma once

#include <cocomem/kvm.h>

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "base/result.h"
#include "base/stats.h"
#include "host/pfn_range.h"
#include "kvm/tdp/external_hooks.h"
#include "kvm/tdx/seamcall.h"
#include "kvm/tdx/tdx_host.h"

namespace cocomem::kvm {
class Vm;
class Vcpu;
}  // namespace cocomem::kvm

namespace cocomem::kvm::tdx {

enum class TdState { kUninitialized, kInitialized, kRunnable };

// TD attributes KVM lets userspace set (KVM_TDX_CAPABILITIES.supported_attrs).
inline constexpr uint64_t kTdAttrDebug = 1;
inline constexpr uint64_t kSupportedTdAttrs = kTdAttrDebug | ::cocomem::tdx::kTdAttrSeptVeDisable;
inline constexpr uint64_t kSupportedXfam = 0x3;  // x87 | SSE

class TdxVm final : public tdp::ExternalTableHooks {
 public:
  TdxVm(Vm& vm, TdxHost& host);
  ~TdxVm() override;
  TdxVm(const TdxVm&) = delete;
  TdxVm& operator=(const TdxVm&) = delete;

  // KVM_MEMORY_ENCRYPT_OP on the VM fd (CAPABILITIES, INIT_VM, FINALIZE_VM) and on a vCPU
  // fd (INIT_VCPU, INIT_MEM_REGION). `cmd` was copied from user; hw_error is set on return.
  Status VmIoctl(kvm_tdx_cmd& cmd);
  Status VcpuIoctl(Vcpu& vcpu, kvm_tdx_cmd& cmd);

  TdState state() const { return state_.load(std::memory_order_acquire); }
  bool runnable() const { return state() == TdState::kRunnable; }
  // The shared bit of a GPA (bit 47 with GPAW 48).
  uint64_t shared_gpa_mask() const { return uint64_t{1} << (gpaw_ - 1); }
  unsigned gpaw() const { return gpaw_; }
  // The vCPU's TDVPR once KVM_TDX_INIT_VCPU succeeded.
  std::optional<Pfn> tdvpr(uint32_t vcpu_id) const EXCLUDES(mu_);

  ::cocomem::tdx::TdxModule& module() const { return host_.module(); }
  Hpa tdr() const { return HpaOf(tdr_); }
  const StatsGroup& stats() const { return stats_; }
  // The module's invariants for this TD plus KVM's: every mirror leaf has an S-EPT leaf
  // at the same level with the same PFN and vice versa.
  std::vector<std::string> CheckInvariants() const;

  // ---- tdp::ExternalTableHooks (mirror root) --------------------------------------------
  Status LinkTable(Gfn gfn, tdp::Level level) override;
  Status SetLeaf(Gfn gfn, tdp::Level level, Pfn pfn) override;
  Status RemoveLeaf(Gfn gfn, tdp::Level level, Pfn pfn) override;
  Status SplitLeaf(Gfn gfn, tdp::Level level, Pfn pfn) override;

 private:
  Status Capabilities(kvm_tdx_cmd& cmd);
  Status InitVm(kvm_tdx_cmd& cmd) REQUIRES(mu_);
  Status Finalize(kvm_tdx_cmd& cmd) REQUIRES(mu_);
  Status InitVcpu(Vcpu& vcpu, kvm_tdx_cmd& cmd) REQUIRES(mu_);
  Status InitMemRegion(Vcpu& vcpu, kvm_tdx_cmd& cmd) REQUIRES(mu_);
  Status AddOnePage(uint64_t gpa, uint64_t source_addr, bool measure, kvm_tdx_cmd& cmd) REQUIRES(mu_);
  void Teardown() REQUIRES(mu_);

  // A page for the module (S-EPT table, TDR, TDCS, TDVPR), from the arena.
  Result<Pfn> AllocPage() EXCLUDES(pages_mu_);
  // Runs the SEAMCALL until it is not TDX_OPERAND_BUSY, kicking vCPUs out of the TD in
  // between (tdh_do_no_vcpus).
  TdxStatus RetryBusy(const std::function<TdxStatus()>& seamcall);
  // TDH.MEM.TRACK and the kick that makes the blocked epoch tracked (tdx_track).
  Status Track();
  // Every vCPU in the TD leaves it once (KVM_REQ_OUTSIDE_GUEST_MODE).
  void KickVcpus();
  // TDX_BUG_ON: records what failed, marks the VM bugged. Returns EIO.
  Error Bug(const char* what, TdxStatus status, const ExtErr& err = {});

  Vm& vm_;
  TdxHost& host_;
  TdRef td_{};
  Pfn tdr_;
  std::atomic<TdState> state_{TdState::kUninitialized};
  unsigned gpaw_ = 48;

  // kvm->lock: the TD-wide ioctls one at a time.
  mutable Mutex mu_;
  std::map<uint32_t, Pfn> tdvprs_ GUARDED_BY(mu_);
  // PAGE.ADD's source for the mirror leaf being installed by INIT_MEM_REGION: a page
  // holding the user's data, or the target itself (in place). Set only under mu_.
  std::optional<Pfn> page_add_src_;
  bool page_add_in_place_ = false;
  Pfn bounce_;  // where the user's source page is copied (get_user_pages' page)

  Mutex pages_mu_;
  std::vector<host::PfnRange> pages_ GUARDED_BY(pages_mu_);  // everything we gave the module
  std::vector<Pfn> free_pages_ GUARDED_BY(pages_mu_);

  StatsGroup stats_{"kvm.tdx"};
  Counter sept_tables_{stats_, "sept_tables", "S-EPT tables added (SEPT.ADD)"};
  Counter pages_added_{stats_, "pages_added", "pages added by INIT_MEM_REGION (PAGE.ADD)"};
  Counter pages_measured_{stats_, "pages_measured", "pages measured (16 x MR.EXTEND)"};
  Counter aug_4k_{stats_, "aug_4k", "4K pages augmented at runtime (PAGE.AUG)"};
  Counter aug_2m_{stats_, "aug_2m", "2M pages augmented at runtime (PAGE.AUG)"};
  Counter removed_{stats_, "leaves_removed", "private leaves zapped (BLOCK, TRACK, REMOVE)"};
  Counter demoted_{stats_, "leaves_demoted", "huge private leaves split (BLOCK, TRACK, DEMOTE)"};
  Counter tracks_{stats_, "tracks", "TDH.MEM.TRACK epochs advanced"};
  Counter kicks_{stats_, "kicks", "vCPU kicks out of the TD"};
  Counter busy_retries_{stats_, "busy_retries", "SEAMCALLs retried after TDX_OPERAND_BUSY"};
  Counter clflushed_pages_{stats_, "clflushed_pages", "4K pages flushed through the direct map"};
};

}  // namespace cocomem::kvm::tdx
