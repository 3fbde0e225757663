#include "kvm/vm.h"

#include <cocomem/kvm.h>

#include <cerrno>

#include "base/check.h"
#include "base/process.h"
#include "gmem/gmem_file.h"
#include "kvm/capabilities.h"
#include "kvm/gmem_binding.h"
#include "kvm/tdx/tdx_vm.h"
#include "kvm/vcpu.h"

namespace cocomem::kvm {

Vm::Vm(std::shared_ptr<Kvm> kvm, VmType type, const Params& params, tdx::TdxHost* tdx_host)
    : kvm_(std::move(kvm)),
      type_(type),
      params_(params),
      creator_pid_(CurrentPid()),
      slots_(std::make_shared<MemslotSet>()) {
  for (auto& root : roots_) root = std::make_unique<tdp::TdpTable>();
  if (type_ == VmType::kTdx) {
    CHECK(tdx_host);
    tdx_ = std::make_unique<tdx::TdxVm>(*this, *tdx_host);
    mirror_ = std::make_unique<tdp::TdpTable>(tdx_.get());
  }
}

Vm::~Vm() {
  // Guest threads first, while everything they may touch still exists.
  std::vector<std::unique_ptr<Vcpu>> vcpus;
  {
    MutexLock l(&vcpus_mu_);
    vcpus.swap(vcpus_);
  }
  vcpus.clear();
  // The TD goes before its mirror table: teardown reclaims every page the module holds.
  tdx_.reset();
}

void Vm::MarkDead(std::string reason) {
  MutexLock l(&dead_mu_);
  if (dead_.load(std::memory_order_relaxed)) return;
  dead_reason_ = std::move(reason);
  dead_.store(true, std::memory_order_release);
}

std::string Vm::dead_reason() const {
  MutexLock l(&dead_mu_);
  return dead_reason_;
}

void Vm::ForEachVcpu(const std::function<void(Vcpu&)>& fn) {
  MutexLock l(&vcpus_mu_);
  for (auto& v : vcpus_) fn(*v);
}

Status Vm::WithSlotsLock(const std::function<Status()>& fn) {
  MutexLock l(&slots_mu_);
  return fn();
}

bool Vm::GuestInhibited(Gfn gfn) const {
  ReaderLock r(&attrs_mu_);
  return guest_inhibit_.Lookup(gfn).has_value();
}

Status Vm::SplitForAccept(Gfn gfn, tdp::Level level) {
  // Lazy 4K accepts come here one page after another: once the range is inhibited, only a
  // leaf larger than `level` needs the exclusive locks.
  if (GuestInhibited(gfn)) {
    ReaderLock r(&mmu_lock_);
    const std::optional<tdp::TdpTable::Mapping> m = mirror_->Lookup(gfn);
    if (!m || m->level <= level) return Ok();
  }
  {
    WriterLock w(&attrs_mu_);
    const Gfn base = AlignDown(gfn, PageOrder::k2M);
    guest_inhibit_.Assign(base, base + PagesIn(PageOrder::k2M), true);
  }
  WriterLock w(&mmu_lock_);
  for (;;) {
    std::optional<tdp::TdpTable::Mapping> m = mirror_->Lookup(gfn);
    if (!m || m->level <= level) return Ok();
    RETURN_IF_ERROR(mirror_->Split(gfn, m->level));
    splits_.Add();
  }
}

Result<Vcpu*> Vm::CreateVcpu(unsigned long id) {
  if (id >= kMaxVcpuIds) return Error(EINVAL);
  // tdx_vcpu_create(): a TD's vCPUs come after KVM_TDX_INIT_VM.
  if (tdx_ && tdx_->state() == tdx::TdState::kUninitialized) return Error(EIO);
  MutexLock l(&vcpus_mu_);
  for (const auto& v : vcpus_) {
    if (v->id() == id) return Error(EEXIST);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Vcpu> vcpu, Vcpu::Create(*this, static_cast<uint32_t>(id)));
  vcpus_.push_back(std::move(vcpu));
  return vcpus_.back().get();
}

Status Vm::EnableCap(uint32_t cap, uint32_t flags, uint64_t arg0) {
  if (flags != 0) return Error(EINVAL);
  switch (cap) {
    case KVM_CAP_EXIT_HYPERCALL:
      if (arg0 & ~(uint64_t{1} << KVM_HC_MAP_GPA_RANGE)) return Error(EINVAL);
      exit_hypercall_mask_.store(arg0, std::memory_order_relaxed);
      return Ok();
    default:
      return Error(EINVAL);
  }
}

long Vm::CheckExtension(long cap) const { return kvm::CheckExtension(params_, this, cap); }

gmem::VmTraits Vm::GmemTraits() const {
  return gmem::VmTraits{
      .supported_flags = SupportedGmemFlags(params_, this),
      .has_private_mem = has_private_mem(),
      .in_place_conversion = params_.gmem_in_place_conversion,
      .supported_attributes = SupportedMemAttributes(this),
  };
}

uint64_t Vm::supported_vm_attributes() const {
  // [CONV-v8]: with in-place conversion PRIVATE lives in guest_memfd, not in the VM.
  return params_.gmem_in_place_conversion ? 0 : SupportedMemAttributes(this);
}

// ---- memslots ---------------------------------------------------------------------------

std::shared_ptr<const MemslotSet> Vm::memslots() const {
  MutexLock l(&slots_ptr_mu_);
  return slots_;
}

std::shared_ptr<const MemslotSet> Vm::SlotsLocked() const { return memslots(); }

void Vm::Publish(std::shared_ptr<const MemslotSet> slots) {
  MutexLock l(&slots_ptr_mu_);
  slots_ = std::move(slots);
}

Status Vm::SetUserMemoryRegion(const kvm_userspace_memory_region2& mem, bool v2,
                               const GmemResolver& resolve) {
  // check_memory_region_flags (v1 only ever knows LOG_DIRTY_PAGES | READONLY).
  if (!v2 && (mem.flags & ~(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY))) return Error(EINVAL);
  const bool gmem = mem.flags & KVM_MEM_GUEST_MEMFD;
  uint32_t valid = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_GUEST_MEMFD;
  if (gmem) valid &= ~KVM_MEM_LOG_DIRTY_PAGES;  // no dirty logging of private memory
  const bool has_readonly_mem = type_ != VmType::kTdx && type_ != VmType::kSnp &&
                                type_ != VmType::kSevEs;  // !has_protected_state
  if (has_readonly_mem && !gmem) valid |= KVM_MEM_READONLY;
  if (mem.flags & ~valid) return Error(EINVAL);

  // General sanity checks, in __kvm_set_memory_region's order.
  const uint16_t as_id = static_cast<uint16_t>(mem.slot >> 16);
  const uint16_t id = static_cast<uint16_t>(mem.slot);
  if (!IsPageAligned(mem.memory_size)) return Error(EINVAL);
  if (!IsPageAligned(mem.guest_phys_addr)) return Error(EINVAL);
  if (!IsPageAligned(mem.userspace_addr) || mem.userspace_addr > kTaskSizeMax ||
      mem.memory_size > kTaskSizeMax - mem.userspace_addr) {
    return Error(EINVAL);  // access_ok() on the range
  }
  if (gmem && (!IsPageAligned(mem.guest_memfd_offset) ||
               mem.guest_memfd_offset + mem.memory_size < mem.guest_memfd_offset)) {
    return Error(EINVAL);
  }
  if (as_id >= nr_address_spaces() || id >= kUserMemSlots) return Error(EINVAL);
  if (mem.guest_phys_addr + mem.memory_size < mem.guest_phys_addr) return Error(EINVAL);
  if ((mem.memory_size >> kPageShift) > kMemMaxNrPages) return Error(EINVAL);

  MutexLock l(&slots_mu_);
  auto slots = SlotsLocked();
  const Memslot* old = slots->ById(as_id, id);
  if (mem.memory_size == 0) {
    if (!old) return Error(EINVAL);
    DeleteSlotLocked(*old);
    return Ok();
  }
  return CreateSlotLocked(mem, resolve, old);
}

Status Vm::CreateSlotLocked(const kvm_userspace_memory_region2& mem, const GmemResolver& resolve,
                            const Memslot* old) {
  const uint16_t as_id = static_cast<uint16_t>(mem.slot >> 16);
  const uint16_t id = static_cast<uint16_t>(mem.slot);
  const Gfn base = GfnOf(Gpa(mem.guest_phys_addr));
  const uint64_t npages = mem.memory_size >> kPageShift;
  bool move = false;
  if (old) {
    // guest_memfd slots are immutable: only deletion is allowed.
    if ((mem.flags & KVM_MEM_GUEST_MEMFD) || old->has_gmem_flag()) return Error(EINVAL);
    if (mem.userspace_addr != old->userspace_addr || npages != old->npages ||
        ((mem.flags ^ old->flags) & KVM_MEM_READONLY)) {
      return Error(EINVAL);
    }
    if (base == old->base_gfn && mem.flags == old->flags) return Ok();  // nothing to change
    move = base != old->base_gfn;
  }
  auto slots = SlotsLocked();
  if ((!old || move) && slots->Overlaps(as_id, id, base, base + npages)) return Error(EEXIST);

  auto slot = std::make_shared<Memslot>();
  slot->as_id = as_id;
  slot->id = id;
  slot->flags = mem.flags;
  slot->base_gfn = base;
  slot->npages = npages;
  slot->userspace_addr = mem.userspace_addr;

  if (mem.flags & KVM_MEM_GUEST_MEMFD) {
    // kvm_gmem_bind
    ASSIGN_OR_RETURN(std::shared_ptr<gmem::GmemFile> file,
                     resolve(static_cast<int>(mem.guest_memfd)));
    if (file->vm() != this) return Error(EINVAL);
    const uint64_t offset = mem.guest_memfd_offset;
    if (static_cast<int64_t>(offset) < 0 || !IsPageAligned(offset) ||
        offset + mem.memory_size > file->inode().size()) {
      return Error(EINVAL);
    }
    slot->gmem = file;
    slot->gmem_pgoff = PgOffOfByte(offset);
    slot->gmem_only = file->inode().flags() & GUEST_MEMFD_FLAG_MMAP;
    auto& binding = bindings_[file.get()];
    const bool fresh = binding == nullptr || binding->released();
    if (fresh) binding = std::make_unique<GmemBinding>(*this);
    GmemBinding* b = binding.get();
    RETURN_IF_ERROR(file->inode().WithInvalidateLockHeld([&]() -> Status {
      if (b->Overlaps(slot->gmem_pgoff, slot->gmem_pgoff + npages)) return Error(EINVAL);
      b->Bind(*slot);
      return Ok();
    }));
    if (fresh) file->inode().AddListener(b);
  }

  if (old) {
    // A move or a flags change: mappings of the old range go (kvm_arch_flush_shadow_memslot).
    InvalidateBegin({{old->as_id, old->base_gfn, old->end_gfn()}});
    ZapGfnRange(old->as_id, old->base_gfn, old->end_gfn(), gmem::ZapFilter::kBoth);
    Publish(slots->With(std::move(slot)));
    InvalidateEnd();
  } else {
    Publish(slots->With(std::move(slot)));
    slots_created_.Add();
  }
  return Ok();
}

void Vm::DeleteSlotLocked(const Memslot& old) {
  const GfnRange range{old.as_id, old.base_gfn, old.end_gfn()};
  std::shared_ptr<gmem::GmemFile> file = old.gmem.lock();
  auto slots = SlotsLocked();
  InvalidateBegin({range});
  ZapGfnRange(range.as_id, range.start, range.end, gmem::ZapFilter::kBoth);
  Publish(slots->Without(old.as_id, old.id));
  InvalidateEnd();
  if (file) {
    // kvm_gmem_unbind
    if (auto it = bindings_.find(file.get()); it != bindings_.end() && !it->second->released()) {
      GmemBinding* b = it->second.get();
      (void)file->inode().WithInvalidateLockHeld([&]() -> Status {
        b->Unbind(old);
        return Ok();
      });
    }
  }
  slots_deleted_.Add();
}

// ---- memory attributes ------------------------------------------------------------------

Status Vm::SetMemoryAttributes(const kvm_memory_attributes& attrs) {
  if (attrs.flags != 0) return Error(EINVAL);
  if (attrs.attributes & ~supported_vm_attributes()) return Error(EINVAL);
  if (attrs.size == 0 || attrs.address + attrs.size < attrs.address) return Error(EINVAL);
  if (!IsPageAligned(attrs.address) || !IsPageAligned(attrs.size)) return Error(EINVAL);
  const Gfn start = GfnOf(Gpa(attrs.address));
  const Gfn end = GfnOf(Gpa(attrs.address + attrs.size));
  const bool to_private = attrs.attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE;

  MutexLock l(&slots_mu_);
  {
    ReaderLock r(&attrs_mu_);
    bool any_private = false;
    vm_private_.ForEachIn(start, end, [&](Gfn, Gfn, bool) { any_private = true; });
    if (to_private ? vm_private_.AllEqual(start, end, true) : !any_private) return Ok();
  }
  // Zap what the change makes wrong: shared mappings when going private, private ones
  // when going shared (kvm_arch_pre_set_memory_attributes), in every overlapping slot.
  std::vector<GfnRange> ranges;
  SlotsLocked()->ForEach([&](const Memslot& s) {
    const Gfn a = std::max(start, s.base_gfn), b = std::min(end, s.end_gfn());
    if (a < b) ranges.push_back({s.as_id, a, b});
  });
  if (!ranges.empty()) InvalidateBegin(ranges);
  for (const GfnRange& r : ranges) {
    ZapGfnRange(r.as_id, r.start, r.end,
                to_private ? gmem::ZapFilter::kShared : gmem::ZapFilter::kPrivate);
  }
  {
    WriterLock w(&attrs_mu_);
    if (to_private) {
      vm_private_.Assign(start, end, true);
    } else {
      vm_private_.Erase(start, end);
    }
  }
  if (!ranges.empty()) InvalidateEnd();
  attribute_changes_.Add();
  return Ok();
}

bool Vm::MemIsPrivate(uint16_t as_id, Gfn gfn) const {
  if (!has_private_mem()) return false;
  if (params_.gmem_in_place_conversion) {
    auto slots = memslots();
    const Memslot* slot = slots->Find(as_id, gfn);
    if (!slot) return false;
    std::shared_ptr<gmem::GmemFile> file = slot->gmem.lock();
    if (!file) return false;  // no file: shared
    return file->inode().AttrAt(slot->GmemIndex(gfn)) == gmem::MemAttr::kPrivate;
  }
  ReaderLock r(&attrs_mu_);
  return vm_private_.Lookup(gfn).has_value();
}

// ---- invalidation -----------------------------------------------------------------------

void Vm::InvalidateBegin(const std::vector<GfnRange>& ranges) {
  WriterLock w(&mmu_lock_);
  invalidate_.Begin();
  for (const GfnRange& r : ranges) invalidate_.RangeAdd(r.start, r.end);
}

void Vm::InvalidateEnd() {
  WriterLock w(&mmu_lock_);
  invalidate_.End();
  invalidations_.Add();
}

size_t Vm::mirror_leaf_count() const {
  ReaderLock r(&mmu_lock_);
  size_t n = 0;
  if (mirror_) mirror_->ForEachLeaf([&](const tdp::TdpTable::Mapping&) { ++n; });
  return n;
}

uint64_t Vm::mmu_invalidate_in_progress() const {
  ReaderLock r(&mmu_lock_);
  return invalidate_.in_progress();
}

Status Vm::SplitCrossBoundary(uint16_t as_id, Gfn start, Gfn end) {
  WriterLock w(&mmu_lock_);
  Status result;
  ForEachRoot(as_id, [&](tdp::TdpTable& r) {
    const uint64_t before = r.table_count();
    if (result.ok()) result = r.SplitCrossBoundary(start, end);
    if (r.table_count() != before) splits_.Add();
  });
  return result;
}

void Vm::ZapGfnRange(uint16_t as_id, Gfn start, Gfn end, gmem::ZapFilter filter) {
  if (!(start < end)) return;
  zap_requests_.Add();
  WriterLock w(&mmu_lock_);
  ForEachRoot(as_id, [&](tdp::TdpTable& root) {
    const uint64_t n = root.Zap(start, end, [filter](const tdp::Spte& s) {
      return gmem::Includes(filter, s.is_private() ? gmem::ZapFilter::kPrivate
                                                   : gmem::ZapFilter::kShared);
    });
    zapped_pages_.Add(n);
  });
}

}  // namespace cocomem::kvm
