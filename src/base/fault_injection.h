// Fault points: named places where an operation may fail (an allocation, a reservation),
// which tests arm to fail on the Nth pass. Every all-or-nothing operation is tested by
// sweeping N over all its fault points and checking that nothing changed.
//
//   inline FaultPoint kArenaReserveFault{"host.arena.reserve"};
//   if (kArenaReserveFault.ShouldFail()) return Error(ENOMEM);
//
// Disarmed cost: one relaxed load.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

namespace cocomem {

class FaultPoint {
 public:
  // Registers the point in the global registry; declare points with static storage.
  explicit FaultPoint(const char* name);
  FaultPoint(const FaultPoint&) = delete;
  FaultPoint& operator=(const FaultPoint&) = delete;

  bool ShouldFail() {
    if (__builtin_expect(countdown_.load(std::memory_order_relaxed) <= 0, 1)) return false;
    return Countdown();
  }

  // The n-th ShouldFail() from now (n >= 1) returns true, once.
  void FailNth(int64_t n);
  void Disarm() { countdown_.store(0, std::memory_order_relaxed); }
  bool armed() const { return countdown_.load(std::memory_order_relaxed) > 0; }
  // Number of times this point has fired since the process started.
  uint64_t fired() const { return fired_.load(std::memory_order_relaxed); }
  const char* name() const { return name_; }

  static FaultPoint* Find(std::string_view name);
  static std::vector<FaultPoint*> All();
  static void DisarmAll();

 private:
  bool Countdown();

  const char* name_;
  std::atomic<int64_t> countdown_{0};
  std::atomic<uint64_t> fired_{0};
};

// Arms a point for the duration of a scope (tests).
class ScopedFault {
 public:
  ScopedFault(FaultPoint& point, int64_t nth) : point_(point) { point_.FailNth(nth); }
  ~ScopedFault() { point_.Disarm(); }
  ScopedFault(const ScopedFault&) = delete;
  ScopedFault& operator=(const ScopedFault&) = delete;

 private:
  FaultPoint& point_;
};

}  // namespace cocomem
