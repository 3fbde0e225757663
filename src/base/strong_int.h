// StrongInt<Tag>: an integer that only mixes with its own kind.
//
// Offsets and counts are plain integers: Gfn + 1 is a Gfn, Gfn - Gfn is a page count.
// Anything else (Gfn -> Gpa, Pfn -> Hpa) goes through a named function in memory_types.h.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace cocomem {

template <typename Tag, typename Rep = uint64_t>
class StrongInt {
 public:
  using rep_type = Rep;

  constexpr StrongInt() = default;
  constexpr explicit StrongInt(Rep v) : v_(v) {}
  constexpr Rep value() const { return v_; }

  friend constexpr auto operator<=>(StrongInt, StrongInt) = default;

  friend constexpr StrongInt operator+(StrongInt a, Rep n) { return StrongInt(a.v_ + n); }
  friend constexpr StrongInt operator-(StrongInt a, Rep n) { return StrongInt(a.v_ - n); }
  friend constexpr Rep operator-(StrongInt a, StrongInt b) { return a.v_ - b.v_; }
  constexpr StrongInt& operator+=(Rep n) {
    v_ += n;
    return *this;
  }
  constexpr StrongInt& operator-=(Rep n) {
    v_ -= n;
    return *this;
  }
  constexpr StrongInt& operator++() {
    ++v_;
    return *this;
  }

 private:
  Rep v_ = 0;
};

}  // namespace cocomem

template <typename Tag, typename Rep>
struct std::hash<cocomem::StrongInt<Tag, Rep>> {
  size_t operator()(cocomem::StrongInt<Tag, Rep> v) const noexcept {
    return std::hash<Rep>()(v.value());
  }
};
