// Try-locks of the TDX module (tdx.md §1.6): every lock is a try-lock, contention is
// reported as TDX_OPERAND_BUSY with the operand of the contended object, never a wait.
//
// TryRwLock is a shared/exclusive lock in one atomic word (top bit = exclusive, the rest
// counts sharers), used for the TDR/PAMT entries (16-bit, inside a PAMT entry), the TD's
// OP_STATE lock, SEPT tree lock and epoch lock. TryGuard releases what it acquired.
//
// These are not annotated for -Wthread-safety: whether a try-lock is held is a run-time
// fact carried by the guard object, not something the analysis can follow.
#pragma once

#include <atomic>
#include <cstdint>

namespace cocomem::tdx {

enum class LockMode : uint8_t { kShared, kExclusive };

template <typename T>
class TryRwLock {
 public:
  static constexpr T kExclusiveBit = T(T(1) << (sizeof(T) * 8 - 1));

  bool TryLockShared() {
    T v = v_.load(std::memory_order_relaxed);
    do {
      if (v & kExclusiveBit) return false;
    } while (!v_.compare_exchange_weak(v, T(v + 1), std::memory_order_acquire,
                                       std::memory_order_relaxed));
    return true;
  }
  bool TryLock() {
    T expected = 0;
    return v_.compare_exchange_strong(expected, kExclusiveBit, std::memory_order_acquire,
                                      std::memory_order_relaxed);
  }
  bool TryLock(LockMode m) { return m == LockMode::kShared ? TryLockShared() : TryLock(); }
  void UnlockShared() { v_.fetch_sub(1, std::memory_order_release); }
  void Unlock() { v_.store(0, std::memory_order_release); }
  void Unlock(LockMode m) { m == LockMode::kShared ? UnlockShared() : Unlock(); }
  bool IsFree() const { return v_.load(std::memory_order_relaxed) == 0; }

 private:
  std::atomic<T> v_{0};
};

// Holds at most one TryRwLock in one mode; releases it when destroyed.
template <typename T>
class TryGuard {
 public:
  TryGuard() = default;
  TryGuard(const TryGuard&) = delete;
  TryGuard& operator=(const TryGuard&) = delete;
  ~TryGuard() { Release(); }

  bool Acquire(TryRwLock<T>& lock, LockMode mode) {
    Release();
    if (!lock.TryLock(mode)) return false;
    lock_ = &lock;
    mode_ = mode;
    return true;
  }
  void Release() {
    if (lock_ != nullptr) lock_->Unlock(mode_);
    lock_ = nullptr;
  }
  bool held() const { return lock_ != nullptr; }

 private:
  TryRwLock<T>* lock_ = nullptr;
  LockMode mode_ = LockMode::kShared;
};

}  // namespace cocomem::tdx
