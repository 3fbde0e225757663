// Named statistics counters, grouped per component (gem5-style stats groups).
//
// Counters are relaxed atomics: bumping one never synchronizes anything, and reading a
// group (Snapshot) has no side effects, so tests, the CLI and debug dumps may read at will.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cocomem {

class StatsGroup;

class Counter {
 public:
  // Registers with `group`, which must outlive the counter (both are usually members of
  // the same object, the group declared first).
  Counter(StatsGroup& group, std::string_view name, std::string_view description);
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Add(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  void Sub(uint64_t n = 1) { v_.fetch_sub(n, std::memory_order_relaxed); }
  void Set(uint64_t n) { v_.store(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }
  const std::string& name() const { return name_; }
  const std::string& description() const { return description_; }

 private:
  std::atomic<uint64_t> v_{0};
  std::string name_;
  std::string description_;
};

class StatsGroup {
 public:
  struct Entry {
    std::string name;  // "<group>.<counter>"
    std::string description;
    uint64_t value;
  };

  explicit StatsGroup(std::string name) : name_(std::move(name)) {}
  StatsGroup(const StatsGroup&) = delete;
  StatsGroup& operator=(const StatsGroup&) = delete;

  const std::string& name() const { return name_; }
  std::vector<Entry> Snapshot() const;
  // Value of the counter called `counter` (without the group prefix); 0 if absent.
  uint64_t Get(std::string_view counter) const;

 private:
  friend class Counter;
  std::string name_;
  std::vector<const Counter*> counters_;  // registered at construction; immutable after
};

}  // namespace cocomem
