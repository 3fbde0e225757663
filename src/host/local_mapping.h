// LocalMapping: a temporary kernel mapping of a PFN range (kmap_local style), for kernel
// code that must touch memory whose direct map was removed. Unmapped when destroyed.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cocomem::host {

class LocalMapping {
 public:
  LocalMapping() = default;
  LocalMapping(std::byte* base, size_t map_len, std::byte* data, size_t len)
      : base_(base), map_len_(map_len), data_(data), len_(len) {}
  ~LocalMapping() { Reset(); }
  LocalMapping(LocalMapping&& o) noexcept { *this = static_cast<LocalMapping&&>(o); }
  LocalMapping& operator=(LocalMapping&& o) noexcept;
  LocalMapping(const LocalMapping&) = delete;
  LocalMapping& operator=(const LocalMapping&) = delete;

  std::byte* data() const { return data_; }
  size_t size() const { return len_; }

 private:
  void Reset();

  std::byte* base_ = nullptr;  // what munmap gets (may start before data_ for hugetlb)
  size_t map_len_ = 0;
  std::byte* data_ = nullptr;
  size_t len_ = 0;
};

}  // namespace cocomem::host
