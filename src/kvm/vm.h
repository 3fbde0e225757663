// Vm: one emulated virtual machine (the object behind a VM fd): its memslots and their
// guest_memfd bindings, VM-level memory attributes, and the MMU invalidation state.
//
// Locks, outermost first (docs/design/locking.md): slots_mu_ (kvm->slots_lock), then a
// guest_memfd's invalidate lock, then mmu_lock_. attrs_mu_ and slots_ptr_mu_ are leaves.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <map>
#include <memory>
#include <vector>

#include "base/interval_map.h"
#include "base/mutex.h"
#include "base/result.h"
#include "base/stats.h"
#include "gmem/attributes.h"
#include "gmem/vm_traits.h"
#include "kvm/fault.h"
#include "kvm/memslot.h"
#include "kvm/mmu_invalidate.h"
#include "kvm/params.h"
#include "kvm/tdp/tdp_table.h"
#include "kvm/vm_type.h"

struct kvm_userspace_memory_region2;
struct kvm_memory_attributes;

namespace cocomem::gmem {
class GmemFile;
}

namespace cocomem::kvm {
namespace tdx {
class TdxHost;
class TdxVm;
}  // namespace tdx

class Kvm;
class GmemBinding;
class Vcpu;

inline constexpr unsigned kMaxVcpuIds = 4096;  // KVM_MAX_VCPU_IDS (x86 default)

struct GfnRange {
  uint16_t as_id;
  Gfn start;
  Gfn end;
};

inline constexpr uint16_t kUserMemSlots = 32764;        // KVM_USER_MEM_SLOTS (x86)
inline constexpr uint64_t kMemMaxNrPages = (1ull << 31) - 1;  // KVM_MEM_MAX_NR_PAGES
inline constexpr uint64_t kTaskSizeMax = (1ull << 47) - 4096;  // x86-64 TASK_SIZE_MAX

class Vm {
 public:
  // Use Kvm::CreateVm. TDX VMs get the host's TDX state.
  Vm(std::shared_ptr<Kvm> kvm, VmType type, const Params& params,
     tdx::TdxHost* tdx_host = nullptr);
  ~Vm();
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  VmType type() const { return type_; }
  bool has_private_mem() const { return HasPrivateMem(type_); }
  // Module parameters as they were when the VM was created.
  const Params& params() const { return params_; }
  Kvm& kvm() const { return *kvm_; }
  // The creating process: VM ioctls from any other process fail with EIO, as in KVM.
  pid_t creator_pid() const { return creator_pid_; }

  long CheckExtension(long cap) const;
  // What guest_memfd files created on this VM may be (flags, conversions).
  gmem::VmTraits GmemTraits() const;
  // Memslot address spaces (x86: 2 with SMM, 1 for VMs with private memory).
  uint16_t nr_address_spaces() const { return has_private_mem() ? 1 : 2; }

  // ---- memslots ----------------------------------------------------------------------
  // Turns a guest_memfd fd into its file: EBADF for a closed fd, EINVAL for any other file.
  using GmemResolver = std::function<Result<std::shared_ptr<gmem::GmemFile>>(int fd)>;
  // KVM_SET_USER_MEMORY_REGION(2): every check of §1.5 in the kernel's order.
  Status SetUserMemoryRegion(const kvm_userspace_memory_region2& mem, bool v2,
                             const GmemResolver& resolve) EXCLUDES(slots_mu_);
  // The current memslots; a snapshot that stays valid while held.
  std::shared_ptr<const MemslotSet> memslots() const EXCLUDES(slots_ptr_mu_);

  // ---- memory attributes -------------------------------------------------------------
  // KVM_SET_MEMORY_ATTRIBUTES (VM-level; PRIVATE only without in-place conversion).
  Status SetMemoryAttributes(const kvm_memory_attributes& attrs) EXCLUDES(slots_mu_);
  // Attributes the VM ioctl accepts.
  uint64_t supported_vm_attributes() const;
  // kvm_mem_is_private(): guest_memfd's attribute (in-place conversion) or the VM's.
  bool MemIsPrivate(uint16_t as_id, Gfn gfn) const;

  // ---- invalidation (from guest_memfd bindings and attribute changes) ----------------
  void InvalidateBegin(const std::vector<GfnRange>& ranges) EXCLUDES(mmu_lock_);
  void InvalidateEnd() EXCLUDES(mmu_lock_);
  // Splits huge private mappings crossing [start, end) (decision 2).
  Status SplitCrossBoundary(uint16_t as_id, Gfn start, Gfn end);
  void ZapGfnRange(uint16_t as_id, Gfn start, Gfn end, gmem::ZapFilter filter);
  uint64_t mmu_invalidate_seq() const { return invalidate_.seq(); }
  uint64_t mmu_invalidate_in_progress() const EXCLUDES(mmu_lock_);

  // ---- vCPUs -------------------------------------------------------------------------------
  // KVM_CREATE_VCPU: EINVAL for id >= KVM_MAX_VCPU_IDS, EEXIST for a taken id.
  Result<Vcpu*> CreateVcpu(unsigned long id) EXCLUDES(vcpus_mu_);
  // KVM_ENABLE_CAP on the VM (KVM_CAP_EXIT_HYPERCALL).
  Status EnableCap(uint32_t cap, uint32_t flags, uint64_t arg0);
  uint64_t exit_hypercall_mask() const { return exit_hypercall_mask_.load(std::memory_order_relaxed); }

  // ---- the fault path and guest access -------------------------------------------------
  // kvm_mmu_page_fault for one access: maps the GFN or says which exit userspace gets.
  FaultResult HandleFault(const FaultRequest& req);
  // Runs fn on the host address the TDP maps `gpa` to, with mmu_lock held shared so no
  // zap can pull the page away meanwhile; false if nothing maps it (fault first). The
  // access is private iff `is_private` (default: the GPA's attribute, looked up here).
  bool WithGuestPage(uint16_t as_id, Gpa gpa, bool write, const std::function<void(std::byte*)>& fn,
                     std::optional<bool> is_private = std::nullopt) EXCLUDES(mmu_lock_);
  // The leaf mapping `gfn`, for tests and invariant checks.
  std::optional<tdp::TdpTable::Mapping> LookupMapping(uint16_t as_id, Gfn gfn) const
      EXCLUDES(mmu_lock_);
  void ForEachMapping(uint16_t as_id,
                      const std::function<void(const tdp::TdpTable::Mapping&)>& fn) const
      EXCLUDES(mmu_lock_);
  // Number of leaves in the private (mirror) root; 0 for VMs without one.
  size_t mirror_leaf_count() const EXCLUDES(mmu_lock_);
  // Invariants of this VM's mappings: no SPTE of a kind its GFN's attribute disagrees
  // with, no leaf over a page without a folio or with the wrong PFN, no leaf over mixed attributes. Empty if all hold.
  std::vector<std::string> CheckInvariants() const;

  // ---- TDX and VM death -------------------------------------------------------------------
  // KVM's TDX state for this VM; nullptr unless the VM type is TDX.
  tdx::TdxVm* tdx() const { return tdx_.get(); }
  // kvm_vm_dead()/KVM_BUG_ON(): every later ioctl on the VM and its vCPUs fails with EIO.
  void MarkDead(std::string reason) EXCLUDES(dead_mu_);
  bool dead() const { return dead_.load(std::memory_order_acquire); }
  std::string dead_reason() const EXCLUDES(dead_mu_);
  void ForEachVcpu(const std::function<void(Vcpu&)>& fn) EXCLUDES(vcpus_mu_);
  // A TDX guest accepted `gfn` at `level` while a larger private leaf maps it: split that
  // leaf down to `level` (BLOCK, TRACK, DEMOTE) and keep its 2M range at 4K from now on
  // (KVM's GUEST_INHIBIT, one-way).
  Status SplitForAccept(Gfn gfn, tdp::Level level) EXCLUDES(mmu_lock_);
  // Holds kvm->slots_lock around fn (TDX INIT_MEM_REGION: no memslot changes meanwhile).
  Status WithSlotsLock(const std::function<Status()>& fn) EXCLUDES(slots_mu_);

  const StatsGroup& stats() const { return stats_; }

 private:
  bool GuestInhibited(Gfn gfn) const;
  // The largest level at which `gfn` can be mapped (min of folio order, slot alignment,
  // attribute uniformity and the VM type's limit).
  tdp::Level MaxLevel(const Memslot& slot, Gfn gfn, bool is_private, PageOrder folio_order) const;
  bool RangeHasAttr(const Memslot& slot, Gfn start, Gfn end, bool is_private) const;
  // The root a mapping of this kind lives in: VMs with external private tables (TDX) keep
  // private GFNs in a mirror root and shared ones in the direct root; others use one root.
  tdp::TdpTable& Root(uint16_t as_id, bool is_private) {
    return is_private && mirror_ ? *mirror_ : *roots_[as_id];
  }
  const tdp::TdpTable& Root(uint16_t as_id, bool is_private) const {
    return is_private && mirror_ ? *mirror_ : *roots_[as_id];
  }
  // Every root of an address space (the mirror belongs to address space 0).
  template <typename Fn>
  void ForEachRoot(uint16_t as_id, Fn&& fn) const {
    fn(static_cast<const tdp::TdpTable&>(*roots_[as_id]));
    if (as_id == 0 && mirror_) fn(static_cast<const tdp::TdpTable&>(*mirror_));
  }
  template <typename Fn>
  void ForEachRoot(uint16_t as_id, Fn&& fn) {
    fn(*roots_[as_id]);
    if (as_id == 0 && mirror_) fn(*mirror_);
  }
  Status CreateSlotLocked(const kvm_userspace_memory_region2& mem, const GmemResolver& resolve,
                          const Memslot* old) REQUIRES(slots_mu_);
  void DeleteSlotLocked(const Memslot& old) REQUIRES(slots_mu_);
  void Publish(std::shared_ptr<const MemslotSet> slots) EXCLUDES(slots_ptr_mu_);
  std::shared_ptr<const MemslotSet> SlotsLocked() const REQUIRES(slots_mu_);

  const std::shared_ptr<Kvm> kvm_;  // a VM keeps its machine alive
  const VmType type_;
  const Params params_;
  const pid_t creator_pid_;

  mutable Mutex slots_mu_ ACQUIRED_BEFORE(mmu_lock_);
  // The VM's listener on each guest_memfd it has bound (kept until the VM dies; a
  // released file's binding is inert).
  std::map<const gmem::GmemFile*, std::unique_ptr<GmemBinding>> bindings_ GUARDED_BY(slots_mu_);

  mutable Mutex slots_ptr_mu_;
  std::shared_ptr<const MemslotSet> slots_ GUARDED_BY(slots_ptr_mu_);

  mutable SharedMutex attrs_mu_;
  IntervalMap<Gfn, bool> vm_private_ GUARDED_BY(attrs_mu_);  // runs of private GFNs

  mutable SharedMutex mmu_lock_;
  MmuInvalidate invalidate_;  // written under mmu_lock_ (exclusive)
  // One TDP root per address space. Installs hold mmu_lock_ shared, zaps/splits exclusive.
  std::unique_ptr<tdp::TdpTable> roots_[2];
  // TDX: KVM's TD state, and the mirror of the Secure EPT whose hooks it implements.
  std::unique_ptr<tdx::TdxVm> tdx_;
  std::unique_ptr<tdp::TdpTable> mirror_;
  IntervalMap<Gfn, bool> guest_inhibit_ GUARDED_BY(attrs_mu_);  // 2M ranges kept at 4K

  mutable Mutex dead_mu_;
  std::atomic<bool> dead_{false};
  std::string dead_reason_ GUARDED_BY(dead_mu_);

  Mutex vcpus_mu_;
  std::vector<std::unique_ptr<Vcpu>> vcpus_ GUARDED_BY(vcpus_mu_);
  std::atomic<uint64_t> exit_hypercall_mask_{0};

  StatsGroup stats_{"kvm.vm"};
  Counter slots_created_{stats_, "memslots_created", "memslots created"};
  Counter slots_deleted_{stats_, "memslots_deleted", "memslots deleted"};
  Counter attribute_changes_{stats_, "attribute_changes", "KVM_SET_MEMORY_ATTRIBUTES committed"};
  Counter invalidations_{stats_, "invalidations", "mmu invalidations (begin/end pairs)"};
  Counter zap_requests_{stats_, "zap_requests", "GFN ranges asked to be zapped"};
  Counter zapped_pages_{stats_, "zapped_pages", "4K pages unmapped by zaps"};
  Counter splits_{stats_, "tdp_splits", "SplitCrossBoundary calls that split huge leaves"};
  Counter faults_{stats_, "faults", "guest page faults handled"};
  Counter faults_4k_{stats_, "faults_mapped_4k", "faults that installed a 4K leaf"};
  Counter faults_2m_{stats_, "faults_mapped_2m", "faults that installed a 2M leaf"};
  Counter faults_1g_{stats_, "faults_mapped_1g", "faults that installed a 1G leaf"};
  Counter faults_spurious_{stats_, "faults_spurious", "faults a racing fault had already fixed"};
  Counter fault_retries_{stats_, "fault_retries", "faults retried for a racing invalidation"};
  Counter memory_fault_exits_{stats_, "memory_fault_exits", "KVM_EXIT_MEMORY_FAULT exits"};
  Counter mmio_exits_{stats_, "mmio_exits", "faults on GPAs without a memslot"};
};

}  // namespace cocomem::kvm
