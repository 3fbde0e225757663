// The KVM x86 fault path with guest_memfd (§3.7, §7.4), and guest accesses through the TDP.
#include <cocomem/kvm.h>

#include <cerrno>
#include <string>

#include "gmem/gmem_file.h"
#include "kvm/kvm.h"
#include "kvm/vm.h"

namespace cocomem::kvm {

using tdp::Level;

bool Vm::RangeHasAttr(const Memslot& slot, Gfn start, Gfn end, bool is_private) const {
  if (params_.gmem_in_place_conversion && has_private_mem()) {
    std::shared_ptr<gmem::GmemFile> file = slot.gmem.lock();
    if (!file) return !is_private;
    return file->inode().RangeHasAttr(slot.GmemIndex(start), slot.GmemIndex(end),
                                      is_private ? gmem::MemAttr::kPrivate : gmem::MemAttr::kShared);
  }
  ReaderLock r(&attrs_mu_);
  if (is_private) return vm_private_.AllEqual(start, end, true);
  bool any = false;
  vm_private_.ForEachIn(start, end, [&](Gfn, Gfn, bool) { any = true; });
  return !any;
}

Level Vm::MaxLevel(const Memslot& slot, Gfn gfn, bool is_private, PageOrder folio_order) const {
  for (Level l = tdp::LevelOf(folio_order); l != Level::k4K;
       l = static_cast<Level>(static_cast<int>(l) - 1)) {
    const Gfn base = AlignDown(gfn, tdp::OrderOf(l));
    const Gfn end = base + tdp::PagesAt(l);
    if (base < slot.base_gfn || slot.end_gfn() < end) continue;            // slot edges
    if (!IsAlignedTo(slot.GmemIndex(base), tdp::OrderOf(l))) continue;     // misaligned binding
    if (type_ == VmType::kTdx && is_private && l == Level::k1G) continue;  // TDX: private <= 2M
    if (type_ == VmType::kTdx && is_private && GuestInhibited(base)) continue;
    if (!RangeHasAttr(slot, base, end, is_private)) continue;              // mixed
    return l;
  }
  return Level::k4K;
}

FaultResult Vm::HandleFault(const FaultRequest& req) {
  faults_.Add();
  const Gfn gfn = GfnOf(req.gpa);
  FaultResult res;
  auto memory_fault = [&](int error) {
    res.kind = FaultResult::Kind::kMemoryFault;
    res.error = error;
    res.memory_fault_flags = req.is_private ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0;
    memory_fault_exits_.Add();
    return res;
  };
  for (;;) {
    // Snapshot first: anything that invalidates after this makes the install retry.
    const uint64_t seq = invalidate_.seq();
    std::shared_ptr<const MemslotSet> slots = memslots();
    const Memslot* slot = slots->Find(req.as_id, gfn);
    if (req.is_private != MemIsPrivate(req.as_id, gfn)) return memory_fault(EFAULT);
    // A private access needs a guest_memfd behind it, even where there is no memslot.
    if (!slot && req.is_private) return memory_fault(EFAULT);
    // No memslot, or a write to a read-only one: emulated MMIO.
    if (!slot || (req.write && (slot->flags & KVM_MEM_READONLY))) {
      res.kind = FaultResult::Kind::kMmio;
      mmio_exits_.Add();
      return res;
    }
    uint64_t frame = 0;
    bool hva = false;
    PageOrder order = PageOrder::k4K;
    if (req.is_private || slot->gmem_only) {
      std::shared_ptr<gmem::GmemFile> file = slot->gmem.lock();
      if (!file) return memory_fault(EFAULT);  // guest_memfd closed
      Result<gmem::Inode::PfnInfo> pfn = file->inode().GetPfn(slot->GmemIndex(gfn));
      if (!pfn.ok()) return memory_fault(pfn.error());  // EHWPOISON, ENOMEM, ...
      frame = pfn->pfn.value();
      order = pfn->max_order;
    } else {
      frame = (slot->userspace_addr >> kPageShift) + (gfn - slot->base_gfn);
      hva = true;
    }
    Level level = std::min(MaxLevel(*slot, gfn, req.is_private, order), req.max_level);
    const bool writable = !(slot->flags & KVM_MEM_READONLY);

    ReaderLock l(&mmu_lock_);
    const Gfn leaf_base = AlignDown(gfn, tdp::OrderOf(level));
    if (invalidate_.Retry(seq, leaf_base, leaf_base + tdp::PagesAt(level))) {
      ++res.retries;
      fault_retries_.Add();
      continue;
    }
    bool busy = false;
    for (;;) {
      const Gfn base = AlignDown(gfn, tdp::OrderOf(level));
      const tdp::Spte leaf =
          tdp::Spte::MakeLeaf(frame - (gfn - base), writable, req.is_private, hva);
      Status s = Root(req.as_id, req.is_private).Map(base, level, leaf);
      if (s.ok()) {
        (level == Level::k4K ? faults_4k_ : level == Level::k2M ? faults_2m_ : faults_1g_).Add();
        break;
      }
      if (s.error() == EEXIST) {
        faults_spurious_.Add();
        res.spurious = true;
        break;
      }
      if (s.error() == EINPROGRESS) {  // a racing install or module contention: fault again
        busy = true;
        break;
      }
      if (s.error() == EAGAIN && level != Level::k4K) {  // smaller mappings inside
        level = static_cast<Level>(static_cast<int>(level) - 1);
        continue;
      }
      if (s.error() == EIO || dead()) {  // a SEAMCALL failed: the VM is bugged
        res.kind = FaultResult::Kind::kError;
        res.error = EIO;
        return res;
      }
      return memory_fault(s.error());
    }
    if (busy) {
      ++res.retries;
      fault_retries_.Add();
      continue;
    }
    res.level = level;
    return res;
  }
}

bool Vm::WithGuestPage(uint16_t as_id, Gpa gpa, bool write,
                       const std::function<void(std::byte*)>& fn,
                       std::optional<bool> access_private) {
  const bool is_private = access_private ? *access_private : MemIsPrivate(as_id, GfnOf(gpa));
  ReaderLock l(&mmu_lock_);
  std::optional<tdp::TdpTable::Mapping> m = Root(as_id, is_private).Lookup(GfnOf(gpa));
  if (!m || (write && !m->spte.writable()) || m->spte.is_private() != is_private) return false;
  const uint64_t frame = m->FrameOf(GfnOf(gpa));
  std::byte* page = m->spte.hva() ? reinterpret_cast<std::byte*>(frame << kPageShift)
                                  : kvm().arena().HardwareView(Pfn(frame));
  fn(page + (gpa.value() & (kPageSize - 1)));
  return true;
}

std::optional<tdp::TdpTable::Mapping> Vm::LookupMapping(uint16_t as_id, Gfn gfn) const {
  ReaderLock l(&mmu_lock_);
  std::optional<tdp::TdpTable::Mapping> m;
  ForEachRoot(as_id, [&](const tdp::TdpTable& root) {
    if (!m) m = root.Lookup(gfn);
  });
  return m;
}

void Vm::ForEachMapping(uint16_t as_id,
                        const std::function<void(const tdp::TdpTable::Mapping&)>& fn) const {
  ReaderLock l(&mmu_lock_);
  ForEachRoot(as_id, [&](const tdp::TdpTable& root) { root.ForEachLeaf(fn); });
}

std::vector<std::string> Vm::CheckInvariants() const {
  std::vector<std::string> v;
  for (uint16_t as_id = 0; as_id < nr_address_spaces(); ++as_id) {
    // Snapshot the leaves first: guest_memfd's locks come before mmu_lock.
    std::vector<tdp::TdpTable::Mapping> leaves;
    ForEachMapping(as_id, [&](const tdp::TdpTable::Mapping& m) { leaves.push_back(m); });
    auto slots = memslots();
    for (const auto& m : leaves) {
      const Gfn end = m.gfn + tdp::PagesAt(m.level);
      const std::string where = "GFN " + std::to_string(m.gfn.value()) + " (level " +
                                std::to_string(static_cast<int>(m.level)) + ")";
      const Memslot* slot = slots->Find(as_id, m.gfn);
      if (!slot || slot->end_gfn() < end) {
        v.push_back("leaf at " + where + " outside any memslot");
        continue;
      }
      if (!RangeHasAttr(*slot, m.gfn, end, m.spte.is_private())) {
        v.push_back("leaf at " + where + " disagrees with the attributes of its range");
      }
      if (m.spte.hva()) continue;
      std::shared_ptr<gmem::GmemFile> file = slot->gmem.lock();
      if (!file) {
        v.push_back("leaf at " + where + " maps a PFN of a guest_memfd that is gone");
        continue;
      }
      // A leaf may be larger than the folios under it: guest_memfd splits a huge folio
      // (a 4K conversion inside it) before, or without, KVM splitting mappings that do
      // not cross the converted range (decision 1). Its pages must still be present.
      if (!file->inode().FolioOrderAt(slot->GmemIndex(m.gfn)) ||
          !file->inode().FolioOrderAt(slot->GmemIndex(end - 1))) {
        v.push_back("leaf at " + where + " maps a page with no folio");
      }
      if (file->inode().PfnOf(slot->GmemIndex(m.gfn)).value() != m.spte.frame()) {
        v.push_back("leaf at " + where + " maps the wrong PFN");
      }
    }
  }
  return v;
}

}  // namespace cocomem::kvm
