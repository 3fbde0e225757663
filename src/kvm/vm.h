// Vm: one emulated virtual machine (the object behind a VM fd): its memslots and their
// guest_memfd bindings, VM-level memory attributes, and the MMU invalidation state.
//
// Locks, outermost first (docs/design/locking.md): slots_mu_ (kvm->slots_lock), then a
// guest_memfd's invalidate lock, then mmu_lock_. attrs_mu_ and slots_ptr_mu_ are leaves.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "base/interval_map.h"
#include "base/mutex.h"
#include "base/result.h"
#include "base/stats.h"
#include "gmem/attributes.h"
#include "gmem/vm_traits.h"
#include "kvm/memslot.h"
#include "kvm/mmu_invalidate.h"
#include "kvm/params.h"
#include "kvm/vm_type.h"

struct kvm_userspace_memory_region2;
struct kvm_memory_attributes;

namespace cocomem::gmem {
class GmemFile;
}

namespace cocomem::kvm {

class Kvm;
class GmemBinding;

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
  // Use Kvm::CreateVm.
  Vm(std::shared_ptr<Kvm> kvm, VmType type, const Params& params);
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

  const StatsGroup& stats() const { return stats_; }

 private:
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

  StatsGroup stats_{"kvm.vm"};
  Counter slots_created_{stats_, "memslots_created", "memslots created"};
  Counter slots_deleted_{stats_, "memslots_deleted", "memslots deleted"};
  Counter attribute_changes_{stats_, "attribute_changes", "KVM_SET_MEMORY_ATTRIBUTES committed"};
  Counter invalidations_{stats_, "invalidations", "mmu invalidations (begin/end pairs)"};
  Counter zap_requests_{stats_, "zap_requests", "GFN ranges asked to be zapped"};
};

}  // namespace cocomem::kvm
