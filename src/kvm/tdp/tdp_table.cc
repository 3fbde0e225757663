#include "kvm/tdp/tdp_table.h"

#include <cerrno>

#include "base/check.h"

namespace cocomem::kvm::tdp {
namespace {

constexpr uint64_t kTableTag = Spte::kPresent;  // present, not leaf
// A mirror entry whose external counterpart is being changed (KVM's FROZEN_SPTE): not
// present, and no other fault may touch it until the owner stores the final value.
constexpr uint64_t kFrozen = Spte::kFrozen;

Gfn BaseOfEntry(Gfn base, unsigned index, int level) {
  return base + uint64_t{index} * PagesAt(static_cast<Level>(level));
}

}  // namespace

TdpTable::TdpTable(ExternalTableHooks* hooks) : hooks_(hooks), root_(new Table()) {
  tables_.fetch_add(1, std::memory_order_relaxed);
}

TdpTable::~TdpTable() { FreeTable(root_, kRootLevel); }

TdpTable::Table* TdpTable::NewTable() {
  if (kTableAllocFault.ShouldFail()) return nullptr;
  tables_.fetch_add(1, std::memory_order_relaxed);
  return new Table();
}

void TdpTable::FreeTable(Table* t, int level) {
  if (level > 1) {
    for (auto& e : t->e) {
      const uint64_t v = e.load(std::memory_order_relaxed);
      if ((v & Spte::kPresent) && !(v & Spte::kLeaf)) FreeTable(TableOf(v), level - 1);
    }
  }
  tables_.fetch_sub(1, std::memory_order_relaxed);
  delete t;
}

Status TdpTable::Map(Gfn gfn, Level level, Spte leaf) {
  const int target = static_cast<int>(level);
  CHECK(IsAlignedTo(gfn, OrderOf(level)));
  Table* t = root_;
  for (int lvl = kRootLevel; lvl > target; --lvl) {
    std::atomic<uint64_t>& slot = t->e[IndexAt(gfn, lvl)];
    uint64_t v = slot.load(std::memory_order_acquire);
    if (v == kFrozen) return Error(EINPROGRESS);  // another fault is linking it: retry
    if (!(v & Spte::kPresent)) {
      Table* child = NewTable();
      if (!child) return Error(ENOMEM);
      const uint64_t want = reinterpret_cast<uint64_t>(child) | kTableTag;
      if (hooks_) {
        // Freeze the entry while the external table learns of the child, so that a racing
        // fault neither links a second table nor sees one the module has not got.
        if (!slot.compare_exchange_strong(v, kFrozen, std::memory_order_acq_rel)) {
          FreeTable(child, lvl - 1);
          if (v == kFrozen) return Error(EINPROGRESS);
        } else {
          // The child covers what the entry covers: PagesAt(lvl) pages from an aligned base.
          const Gfn child_base(gfn.value() & ~(PagesAt(static_cast<Level>(lvl)) - 1));
          if (Status s = hooks_->LinkTable(child_base, static_cast<Level>(lvl - 1)); !s.ok()) {
            slot.store(0, std::memory_order_release);
            FreeTable(child, lvl - 1);
            return s;
          }
          slot.store(want, std::memory_order_release);
          v = want;
        }
      } else if (slot.compare_exchange_strong(v, want, std::memory_order_acq_rel)) {
        v = want;
      } else {
        FreeTable(child, lvl - 1);  // another fault linked one first: use theirs
      }
    }
    if (v & Spte::kLeaf) return Error(EEXIST);  // a huge leaf already covers gfn
    t = TableOf(v);
  }
  std::atomic<uint64_t>& slot = t->e[IndexAt(gfn, target)];
  uint64_t expected = slot.load(std::memory_order_acquire);
  if (expected == kFrozen) return Error(EINPROGRESS);
  if (expected & Spte::kPresent) return Error((expected & Spte::kLeaf) ? EEXIST : EAGAIN);
  if (hooks_) {
    if (!slot.compare_exchange_strong(expected, kFrozen, std::memory_order_acq_rel)) {
      if (expected == kFrozen) return Error(EINPROGRESS);
      return Error((expected & Spte::kLeaf) ? EEXIST : EAGAIN);
    }
    if (Status s = hooks_->SetLeaf(gfn, level, Pfn(leaf.frame())); !s.ok()) {
      slot.store(0, std::memory_order_release);
      return s;
    }
    slot.store(leaf.raw, std::memory_order_release);
    return Ok();
  }
  if (!slot.compare_exchange_strong(expected, leaf.raw, std::memory_order_acq_rel)) {
    return Error((expected & Spte::kLeaf) ? EEXIST : EAGAIN);
  }
  return Ok();
}

std::optional<TdpTable::Mapping> TdpTable::Lookup(Gfn gfn) const {
  const Table* t = root_;
  for (int lvl = kRootLevel; lvl >= 1; --lvl) {
    const uint64_t v = t->e[IndexAt(gfn, lvl)].load(std::memory_order_acquire);
    if (!(v & Spte::kPresent)) return std::nullopt;
    if (v & Spte::kLeaf) {
      const Level l = static_cast<Level>(lvl);
      return Mapping{AlignDown(gfn, OrderOf(l)), l, Spte{v}};
    }
    t = TableOf(v);
  }
  return std::nullopt;
}

uint64_t TdpTable::Zap(Gfn start, Gfn end, const std::function<bool(const Spte&)>& zap_it,
                       uint64_t* failed) {
  if (!(start < end)) return 0;
  return ZapIn(root_, kRootLevel, Gfn(0), start, end, zap_it, failed);
}

uint64_t TdpTable::ZapIn(Table* t, int level, Gfn base, Gfn start, Gfn end,
                         const std::function<bool(const Spte&)>& zap_it, uint64_t* failed) {
  const uint64_t span = PagesAt(static_cast<Level>(level));
  uint64_t zapped = 0;
  const unsigned first = start < base ? 0 : static_cast<unsigned>(std::min<uint64_t>((start - base) / span, 512));
  for (unsigned i = first; i < 512; ++i) {
    const Gfn e_start = BaseOfEntry(base, i, level);
    if (!(e_start < end)) break;
    std::atomic<uint64_t>& slot = t->e[i];
    const uint64_t v = slot.load(std::memory_order_relaxed);
    if (!(v & Spte::kPresent)) continue;
    if (v & Spte::kLeaf) {
      const Spte s{v};
      if (!zap_it(s)) continue;
      if (hooks_ && !hooks_->RemoveLeaf(e_start, static_cast<Level>(level), Pfn(s.frame())).ok()) {
        if (failed) ++*failed;
        continue;
      }
      slot.store(0, std::memory_order_release);
      zapped += span;
      continue;
    }
    Table* child = TableOf(v);
    zapped += ZapIn(child, level - 1, e_start, start, end, zap_it, failed);
    // An emptied table goes too (mirror tables stay: S-EPT pages live until teardown).
    if (!hooks_) {
      bool empty = true;
      for (const auto& ce : child->e) empty &= !(ce.load(std::memory_order_relaxed) & Spte::kPresent);
      if (empty) {
        slot.store(0, std::memory_order_release);
        FreeTable(child, level - 1);
      }
    }
  }
  return zapped;
}

Status TdpTable::Split(Gfn gfn, Level level) {
  CHECK(level != Level::k4K);
  const int lvl = static_cast<int>(level);
  Table* t = root_;
  for (int l = kRootLevel; l > lvl; --l) {
    const uint64_t v = t->e[IndexAt(gfn, l)].load(std::memory_order_relaxed);
    CHECK_MSG((v & Spte::kPresent) && !(v & Spte::kLeaf), "no table above the leaf to split");
    t = TableOf(v);
  }
  std::atomic<uint64_t>& slot = t->e[IndexAt(gfn, lvl)];
  const Spte huge{slot.load(std::memory_order_relaxed)};
  CHECK_MSG(huge.present() && huge.leaf(), "splitting something that is not a huge leaf");
  const Gfn start = AlignDown(gfn, OrderOf(level));
  // Child first, fully populated...
  Table* child = NewTable();
  if (!child) return Error(ENOMEM);
  const uint64_t step = PagesAt(static_cast<Level>(lvl - 1));
  for (unsigned i = 0; i < 512; ++i) {
    const Spte small = Spte::MakeLeaf(huge.frame() + i * step, huge.writable(), huge.is_private(),
                                      huge.hva());
    child->e[i].store(small.raw, std::memory_order_relaxed);
  }
  if (hooks_) {
    if (Status s = hooks_->SplitLeaf(start, level, Pfn(huge.frame())); !s.ok()) {
      FreeTable(child, lvl - 1);
      return s;
    }
  }
  // ...the parent entry last.
  slot.store(reinterpret_cast<uint64_t>(child) | kTableTag, std::memory_order_release);
  return Ok();
}

Status TdpTable::SplitCrossBoundary(Gfn start, Gfn end) {
  for (Gfn edge : {start, end}) {
    for (;;) {
      // The leaf that contains both edge - 1 and edge crosses it.
      if (edge.value() == 0) break;
      std::optional<Mapping> m = Lookup(edge);
      if (!m || m->level == Level::k4K || m->gfn == edge) break;
      RETURN_IF_ERROR(Split(edge, m->level));
    }
  }
  return Ok();
}

void TdpTable::ForEachLeaf(const std::function<void(const Mapping&)>& fn) const {
  ForEachIn(root_, kRootLevel, Gfn(0), fn);
}

void TdpTable::ForEachIn(const Table* t, int level, Gfn base,
                         const std::function<void(const Mapping&)>& fn) const {
  for (unsigned i = 0; i < 512; ++i) {
    const uint64_t v = t->e[i].load(std::memory_order_acquire);
    if (!(v & Spte::kPresent)) continue;
    const Gfn g = BaseOfEntry(base, i, level);
    if (v & Spte::kLeaf) {
      fn(Mapping{g, static_cast<Level>(level), Spte{v}});
    } else {
      ForEachIn(TableOf(v), level - 1, g, fn);
    }
  }
}

}  // namespace cocomem::kvm::tdp
