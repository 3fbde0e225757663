// Spte: one 64-bit entry of an emulated second-level (TDP) page table.
//
//   bit 0      present
//   bit 1      leaf (a 4K, 2M or 1G mapping; otherwise it points to a child table)
//   bit 2      writable
//   bit 3      private (lives in the private/mirror root; zap filters use it)
//   bit 4      target is a host virtual page (a shared non-guest_memfd slot), not a PFN
//   bit 5      frozen (alone, not present): a mirror entry being changed externally
//   bits 12-63 leaf: target frame; non-leaf: the child table's address
#pragma once

#include <cstdint>

#include "base/memory_types.h"

namespace cocomem::kvm::tdp {

// x86 levels: PG_LEVEL_4K = 1 ... a 4-level table's root is level 4.
enum class Level : uint8_t { k4K = 1, k2M = 2, k1G = 3, k512G = 4 };
inline constexpr int kRootLevel = 4;

constexpr PageOrder OrderOf(Level l) {
  return l == Level::k1G ? PageOrder::k1G : l == Level::k2M ? PageOrder::k2M : PageOrder::k4K;
}
constexpr Level LevelOf(PageOrder o) {
  return o == PageOrder::k1G ? Level::k1G : o == PageOrder::k2M ? Level::k2M : Level::k4K;
}
constexpr uint64_t PagesAt(Level l) { return uint64_t{1} << (9 * (static_cast<int>(l) - 1)); }
constexpr unsigned IndexAt(Gfn gfn, int level) {
  return static_cast<unsigned>((gfn.value() >> (9 * (level - 1))) & 511);
}

struct Spte {
  static constexpr uint64_t kPresent = 1, kLeaf = 2, kWritable = 4, kPrivate = 8, kHva = 16,
                            kFrozen = 32;
  static constexpr uint64_t kFrameMask = ~uint64_t{4095};

  uint64_t raw = 0;

  bool present() const { return raw & kPresent; }
  bool leaf() const { return raw & kLeaf; }
  bool writable() const { return raw & kWritable; }
  bool is_private() const { return raw & kPrivate; }
  bool hva() const { return raw & kHva; }
  uint64_t frame() const { return raw >> 12; }  // PFN, or host virtual page number

  static Spte MakeLeaf(uint64_t frame, bool writable, bool is_private, bool hva) {
    return Spte{(frame << 12) | kPresent | kLeaf | (writable ? kWritable : 0) |
                (is_private ? kPrivate : 0) | (hva ? kHva : 0)};
  }
};

}  // namespace cocomem::kvm::tdp
