// Td and Vcpu: the module's per-TD control state (TDR + TDCS, tdx.md §6.1) and per-vCPU
// state (TDVPS), and the slot tables that find them in O(1) from a TDR/TDVPR page (the
// slot lives in that page's PAMT entry, see pamt.h).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/check.h"
#include "base/memory_types.h"
#include "base/mutex.h"
#include "tdx/module/locks.h"
#include "tdx/module/measurement.h"
#include "tdx/module/tdx_module.h"

namespace cocomem::tdx {

// TDCS page index that holds the Secure EPT root (tdx.md §6.1).
inline constexpr unsigned kSeptRootTdcsIndex = 3;

enum class Lifecycle : uint8_t { kNotConfigured, kKeysConfigured, kBlocked, kTeardown };

// OP_STATE values (tdx.md §1.4); only the first three arise without migration.
enum OpState : uint8_t { kOpUninitialized = 0, kOpInitialized = 1, kOpRunnable = 2 };
using OpStateMask = uint16_t;
constexpr OpStateMask OpBit(unsigned s) { return static_cast<OpStateMask>(1u << s); }
// Gate table of §1.4 (bits = allowed OP_STATEs 0..10).
inline constexpr OpStateMask kOpsInitializedOnly = OpBit(1);
inline constexpr OpStateMask kOpsAug = OpBit(1) | OpBit(2) | OpBit(3) | OpBit(9);
inline constexpr OpStateMask kOpsSeptAdd =
    OpBit(1) | OpBit(2) | OpBit(3) | OpBit(6) | OpBit(7) | OpBit(8) | OpBit(9);
inline constexpr OpStateMask kOpsBlock =
    OpBit(1) | OpBit(2) | OpBit(3) | OpBit(4) | OpBit(5) | OpBit(8) | OpBit(9);
inline constexpr OpStateMask kOpsRemove = kOpsBlock | OpBit(10);
inline constexpr OpStateMask kOpsAllButUninit = 0x7FE;
inline constexpr OpStateMask kOpsTrack = 0x7FE & ~OpBit(10);
// OP_STATEs in which blocked entries must also be TLB-tracked (RUNNABLE, LIVE_*).
inline bool OpStateRequiresTracking(uint8_t s) { return s == 2 || s == 3 || s == 9; }

struct Td {
  Hpa tdr;
  uint32_t slot = 0;
  uint16_t hkid = 0;

  std::atomic<Lifecycle> lifecycle{Lifecycle::kNotConfigured};
  std::atomic<uint8_t> op_state{kOpUninitialized};
  std::atomic<bool> fatal{false};
  std::atomic<unsigned> num_tdcx{0};
  std::array<std::atomic<uint64_t>, kTdcsPages> tdcx_pfn{};
  // 4K units of memory owned by the TD (pages, S-EPT tables, TDCX, TDVPR, TDVPX).
  std::atomic<int64_t> chldcnt{0};
  std::atomic<uint32_t> num_vcpus{0};
  std::atomic<uint64_t> vcpu_pages{0};  // TDVPR + TDVPX pages (for the invariant check)

  // Written by TDH.MNG.INIT under the TDR exclusive lock, published by op_state; read-only
  // afterwards.
  TdParams params;
  unsigned pwl = 3;         // level of the root table's entries (3: 4-level, 4: 5-level)
  uint64_t shared_bit = 0;  // GPA bit 47 or 51
  Pfn sept_root;            // TDCS page 3

  TryRwLock<uint32_t> op_state_lock;
  TryRwLock<uint32_t> sept_tree_lock;
  TryRwLock<uint32_t> epoch_lock;
  std::atomic<uint64_t> td_epoch{0};
  std::array<std::atomic<uint64_t>, 2> refcount{};

  // Guarded by the TDR exclusive lock (PAGE.ADD, MR.EXTEND, MR.FINALIZE, MNG.INIT).
  Measurement measurement;
  std::atomic<bool> finalized{false};
  Sha384Digest mrtd{};  // valid once finalized (release/acquire on `finalized`)

  bool Initialized() const { return op_state.load(std::memory_order_acquire) != kOpUninitialized; }

  // tdx.md §1.5 is_tlb_tracked.
  bool IsTlbTracked(uint64_t bepoch) const {
    uint64_t epoch = td_epoch.load(std::memory_order_acquire);
    if (bepoch + 1 < epoch) return true;
    return bepoch + 1 == epoch && refcount[bepoch & 1].load(std::memory_order_acquire) == 0;
  }
};

struct Vcpu {
  Hpa tdvpr;
  uint32_t slot = 0;
  Td* td = nullptr;
  std::atomic<unsigned> num_tdvpx{0};
  std::atomic<bool> initialized{false};
  std::atomic<bool> in_td{false};
  std::atomic<uint64_t> vcpu_epoch{0};
};

// Objects indexed by a slot number, looked up lock-free. Objects are retired, never freed,
// before the table dies: a lock-free reader racing with teardown still sees a valid object.
template <typename T>
class SlotTable {
 public:
  static constexpr uint32_t kCapacity = 1u << 16;

  SlotTable() : slots_(std::make_unique<std::atomic<T*>[]>(kCapacity)) {}

  // Takes ownership; returns the slot, or -1 when full.
  int64_t Add(std::unique_ptr<T> obj, uint32_t* slot_out) {
    MutexLock l(&mu_);
    if (next_ >= kCapacity) return -1;
    uint32_t slot = next_++;
    *slot_out = slot;
    slots_[slot].store(obj.get(), std::memory_order_release);
    owned_.push_back(std::move(obj));
    return slot;
  }
  T* Get(uint64_t slot) const {
    if (slot >= kCapacity) return nullptr;
    return slots_[slot].load(std::memory_order_acquire);
  }
  void Retire(uint32_t slot) { slots_[slot].store(nullptr, std::memory_order_release); }
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    uint32_t n;
    {
      MutexLock l(&mu_);
      n = next_;
    }
    for (uint32_t i = 0; i < n; ++i)
      if (T* t = Get(i)) fn(*t);
  }

 private:
  std::unique_ptr<std::atomic<T*>[]> slots_;
  mutable Mutex mu_;
  uint32_t next_ GUARDED_BY(mu_) = 0;
  std::vector<std::unique_ptr<T>> owned_ GUARDED_BY(mu_);
};

}  // namespace cocomem::tdx
