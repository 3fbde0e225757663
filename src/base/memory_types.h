// Address kinds of the memory stack and the page orders it uses.
//
//   Gfn   guest frame number (guest physical page)      Gpa  guest physical address
//   Pfn   host frame number (page index in the arena)   Hpa  host physical address
//   PgOff page index inside a file (guest_memfd)
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>

#include "base/strong_int.h"

namespace cocomem {

inline constexpr unsigned kPageShift = 12;
inline constexpr uint64_t kPageSize = uint64_t{1} << kPageShift;

using Gfn = StrongInt<struct GfnTag>;
using Gpa = StrongInt<struct GpaTag>;
using Pfn = StrongInt<struct PfnTag>;
using Hpa = StrongInt<struct HpaTag>;
using PgOff = StrongInt<struct PgOffTag>;

constexpr Gpa GpaOf(Gfn gfn) { return Gpa(gfn.value() << kPageShift); }
constexpr Gfn GfnOf(Gpa gpa) { return Gfn(gpa.value() >> kPageShift); }
constexpr Hpa HpaOf(Pfn pfn) { return Hpa(pfn.value() << kPageShift); }
constexpr Pfn PfnOf(Hpa hpa) { return Pfn(hpa.value() >> kPageShift); }
constexpr PgOff PgOffOfByte(uint64_t byte_offset) { return PgOff(byte_offset >> kPageShift); }
constexpr uint64_t ByteOf(PgOff off) { return off.value() << kPageShift; }

constexpr bool IsPageAligned(uint64_t v) { return (v & (kPageSize - 1)) == 0; }

// Folio and mapping sizes: 4K, 2M and 1G (x86 levels 1..3).
enum class PageOrder : uint8_t { k4K = 0, k2M = 9, k1G = 18 };

constexpr unsigned OrderBits(PageOrder o) { return static_cast<unsigned>(o); }
constexpr uint64_t PagesIn(PageOrder o) { return uint64_t{1} << OrderBits(o); }
constexpr uint64_t BytesIn(PageOrder o) { return kPageSize << OrderBits(o); }
constexpr std::optional<PageOrder> PageOrderFromBits(unsigned bits) {
  switch (bits) {
    case 0: return PageOrder::k4K;
    case 9: return PageOrder::k2M;
    case 18: return PageOrder::k1G;
    default: return std::nullopt;
  }
}
constexpr const char* PageOrderName(PageOrder o) {
  switch (o) {
    case PageOrder::k4K: return "4K";
    case PageOrder::k2M: return "2M";
    case PageOrder::k1G: return "1G";
  }
  return "?";
}

// Page-granular kinds, for which "aligned to an order" counts pages.
template <typename T>
concept PageIndex = std::same_as<T, Gfn> || std::same_as<T, Pfn> || std::same_as<T, PgOff>;

template <PageIndex T>
constexpr bool IsAlignedTo(T v, PageOrder o) {
  return (v.value() & (PagesIn(o) - 1)) == 0;
}
template <PageIndex T>
constexpr T AlignDown(T v, PageOrder o) {
  return T(v.value() & ~(PagesIn(o) - 1));
}

}  // namespace cocomem
