#include "tdx/module/pamt.h"

#include <sys/mman.h>

#include <cerrno>

namespace cocomem::tdx {

void PamtHold::Release() {
  if (children_ != nullptr) {
    for (unsigned i = 0; i < 512; ++i) children_[i].lock.Unlock();
    children_ = nullptr;
  }
  if (leaf_ != nullptr) leaf_->lock.Unlock(leaf_mode_);
  leaf_ = nullptr;
  if (parent_ != nullptr) parent_->lock.UnlockShared();
  parent_ = nullptr;
}

Result<std::unique_ptr<Pamt>> Pamt::Create(uint64_t npages) {
  std::unique_ptr<Pamt> p(new Pamt());
  p->npages_ = npages;
  for (unsigned size = 0; size < 3; ++size) {
    uint64_t n = (npages >> (9 * size)) + 1;
    size_t bytes = n * sizeof(PamtEntry);
    void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return Error(ENOMEM);
    p->arrays_[size] = static_cast<PamtEntry*>(m);  // zero pages == PT_NDA, unlocked
    p->bytes_[size] = bytes;
  }
  return p;
}

Pamt::~Pamt() {
  for (unsigned size = 0; size < 3; ++size)
    if (arrays_[size] != nullptr) munmap(arrays_[size], bytes_[size]);
}

static bool IsReg(const PamtEntry& e) { return e.Type() == PageType::kReg; }

PamtLockResult Pamt::Lock(Pfn pfn, unsigned size, LockMode mode, PamtHold* hold) const {
  hold->Release();
  PamtEntry& e1g = At(2, pfn);
  if (size == 0) {
    PamtEntry& e2m = At(1, pfn);
    if (!e2m.lock.TryLockShared()) return PamtLockResult::kBusy;
    PamtEntry& e4k = At(0, pfn);
    if (!e4k.lock.TryLock(mode)) {
      e2m.lock.UnlockShared();
      return PamtLockResult::kBusy;
    }
    hold->parent_ = &e2m;
    hold->leaf_ = &e4k;
    hold->leaf_mode_ = mode;
    if (IsReg(e2m) || IsReg(e1g)) {
      hold->Release();
      return PamtLockResult::kSizeMismatch;
    }
    return PamtLockResult::kOk;
  }
  if (size == 1) {
    PamtEntry& e2m = At(1, pfn);
    if (!e2m.lock.TryLock(mode)) return PamtLockResult::kBusy;
    hold->leaf_ = &e2m;
    hold->leaf_mode_ = mode;
    if (IsReg(e1g)) {
      hold->Release();
      return PamtLockResult::kSizeMismatch;
    }
    return PamtLockResult::kOk;
  }
  // 1G: the entry plus every 2M entry below it, exclusive.
  if (!e1g.lock.TryLock(mode)) return PamtLockResult::kBusy;
  PamtEntry* children = &At(1, Pfn(pfn.value() & ~uint64_t{(1u << 18) - 1}));
  for (unsigned i = 0; i < 512; ++i) {
    if (!children[i].lock.TryLock()) {
      for (unsigned j = 0; j < i; ++j) children[j].lock.Unlock();
      e1g.lock.Unlock(mode);
      return PamtLockResult::kBusy;
    }
  }
  hold->leaf_ = &e1g;
  hold->leaf_mode_ = mode;
  hold->children_ = children;
  return PamtLockResult::kOk;
}

unsigned Pamt::LeafSize(Pfn pfn) const {
  if (IsReg(At(2, pfn))) return 2;
  if (IsReg(At(1, pfn))) return 1;
  return 0;
}

const PamtEntry& Pamt::LeafOf(Pfn pfn, unsigned* size) const {
  *size = LeafSize(pfn);
  return At(*size, pfn);
}

}  // namespace cocomem::tdx
