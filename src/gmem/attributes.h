// Shared/private state of a guest_memfd page, and the zap filter derived from it.
#pragma once

#include <cstdint>

namespace cocomem::gmem {

enum class MemAttr : uint8_t { kShared = 0, kPrivate = 1 };

inline constexpr uint64_t kAttrPrivateBit = uint64_t{1} << 3;  // KVM_MEMORY_ATTRIBUTE_PRIVATE

constexpr MemAttr AttrFromUapi(uint64_t attributes) {
  return (attributes & kAttrPrivateBit) ? MemAttr::kPrivate : MemAttr::kShared;
}

// Which kinds of guest mappings an invalidation must zap (KVM_FILTER_SHARED/PRIVATE).
enum class ZapFilter : uint8_t { kNone = 0, kShared = 1, kPrivate = 2, kBoth = 3 };

constexpr ZapFilter operator|(ZapFilter a, ZapFilter b) {
  return static_cast<ZapFilter>(static_cast<uint8_t>(a) | static_cast<uint8_t>(b));
}
constexpr bool Includes(ZapFilter f, ZapFilter kind) {
  return (static_cast<uint8_t>(f) & static_cast<uint8_t>(kind)) != 0;
}
constexpr ZapFilter FilterFor(MemAttr a) {
  return a == MemAttr::kPrivate ? ZapFilter::kPrivate : ZapFilter::kShared;
}

}  // namespace cocomem::gmem
