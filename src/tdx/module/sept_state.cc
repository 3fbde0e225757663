#include "tdx/module/sept_state.h"

#include <array>

#include "base/check.h"

namespace cocomem::tdx::sept {
namespace {

constexpr unsigned kStates = 7;
constexpr unsigned Idx(SeptState s) { return static_cast<unsigned>(s); }

// Key = TDEX/TDBW/TDB/TDP (bits 53..56) | IPAT/PS (bits 6,7) << 4.
constexpr unsigned KeyOf(uint64_t raw) {
  return static_cast<unsigned>(((raw >> 53) & 0xF) | (((raw >> 6) & 0x3) << 4));
}

constexpr std::array<int8_t, 64> MakeDecodeTable() {
  std::array<int8_t, 64> t{};
  for (auto& v : t) v = -1;
  t[0x07] = Idx(SeptState::kFree);
  t[0x00] = Idx(SeptState::kNlMapped);
  t[0x04] = Idx(SeptState::kNlBlocked);
  t[0x30] = Idx(SeptState::kMapped);
  t[0x34] = Idx(SeptState::kBlocked);
  t[0x38] = Idx(SeptState::kPending);
  t[0x3C] = Idx(SeptState::kPendingBlocked);
  return t;
}
constexpr std::array<int8_t, 64> kDecode = MakeDecodeTable();

struct StateFlags {
  bool leaf, blocked, present, guest_accessible, tlb_tracking;
  uint8_t public_state;
};
// Indexed by SeptState.
constexpr std::array<StateFlags, kStates> kFlags = {{
    /* kFree */ {false, false, false, false, false, 0},
    /* kNlMapped */ {false, false, true, false, true, 0x84},
    /* kNlBlocked */ {false, true, false, false, true, 0x81},
    /* kMapped */ {true, false, true, true, true, 4},
    /* kBlocked */ {true, true, false, false, true, 1},
    /* kPending */ {true, false, false, false, true, 2},
    /* kPendingBlocked */ {true, true, false, false, true, 3},
}};

using S = SeptState;
constexpr uint8_t Bit(S s) { return static_cast<uint8_t>(1u << Idx(s)); }

// tdx.md §1.2: which states of the target entry each leaf accepts.
constexpr std::array<uint8_t, static_cast<unsigned>(Op::kCount)> kAllowed = {
    /* kPageAdd */ Bit(S::kFree),
    /* kSeptAdd */ Bit(S::kFree) | Bit(S::kNlMapped),
    /* kPageAug */ Bit(S::kFree),
    /* kRangeBlock */ Bit(S::kNlMapped) | Bit(S::kMapped) | Bit(S::kPending),
    /* kPageDemote */ Bit(S::kMapped) | Bit(S::kBlocked) | Bit(S::kPending) |
        Bit(S::kPendingBlocked),
    /* kMrExtend */ Bit(S::kMapped),
    /* kPagePromote */ Bit(S::kNlMapped) | Bit(S::kNlBlocked),
    /* kSeptRd */ 0x7F,
    /* kPageRemove */ Bit(S::kMapped) | Bit(S::kBlocked) | Bit(S::kPending) |
        Bit(S::kPendingBlocked),
    /* kSeptRemove */ Bit(S::kNlMapped) | Bit(S::kNlBlocked),
    /* kRangeUnblock */ Bit(S::kNlBlocked) | Bit(S::kBlocked) | Bit(S::kPendingBlocked),
    /* kPageAccept */ Bit(S::kPending),
};

}  // namespace

uint64_t Encode(SeptState state, uint64_t hpa) {
  switch (state) {
    case S::kFree: return kFreeRaw;
    case S::kNlMapped: return kNlMappedBase | hpa;
    case S::kNlBlocked: return kNlBlockedBase | hpa;
    case S::kMapped: return kMappedBase | hpa;
    case S::kBlocked: return kBlockedBase | hpa;
    case S::kPending: return kPendingBase | hpa;
    case S::kPendingBlocked: return kPendingBlockedBase | hpa;
  }
  CHECK(false);
}

std::optional<SeptState> Decode(uint64_t raw) {
  int8_t i = kDecode[KeyOf(raw)];
  if (i < 0) return std::nullopt;
  return static_cast<SeptState>(i);
}

SeptState StateOf(uint64_t raw) {
  int8_t i = kDecode[KeyOf(raw)];
  CHECK_MSG(i >= 0, "S-EPT entry with an encoding the module never writes");
  return static_cast<SeptState>(i);
}

uint64_t EntryHpa(uint64_t raw, unsigned level) {
  uint64_t hpa = raw & kHpaMask;
  if (raw & kPs) hpa &= ~(LevelBytes(level) - 1);
  return hpa;
}

bool IsLeaf(SeptState s) { return kFlags[Idx(s)].leaf; }
bool IsBlocked(SeptState s) { return kFlags[Idx(s)].blocked; }

SeptState BlockedOf(SeptState s) {
  switch (s) {
    case SeptState::kNlMapped: return SeptState::kNlBlocked;
    case SeptState::kMapped: return SeptState::kBlocked;
    case SeptState::kPending: return SeptState::kPendingBlocked;
    default: return s;
  }
}

SeptState UnblockedOf(SeptState s) {
  switch (s) {
    case SeptState::kNlBlocked: return SeptState::kNlMapped;
    case SeptState::kBlocked: return SeptState::kMapped;
    case SeptState::kPendingBlocked: return SeptState::kPending;
    default: return s;
  }
}
bool IsPresent(SeptState s) { return kFlags[Idx(s)].present; }
bool GuestAccessibleLeaf(SeptState s) { return kFlags[Idx(s)].guest_accessible; }
bool TlbTrackingRequired(SeptState s) { return kFlags[Idx(s)].tlb_tracking; }
uint8_t PublicState(SeptState s) { return kFlags[Idx(s)].public_state; }

bool Allowed(Op op, SeptState s) {
  return (kAllowed[static_cast<unsigned>(op)] >> Idx(s)) & 1;
}

uint64_t DetailsRcx(uint64_t raw, unsigned level) {
  auto s = Decode(raw);
  if (!s || *s == S::kFree) return kSve;
  if (!IsLeaf(*s)) return raw & (kRwx | kPs);
  uint64_t v = raw & (kRwx | kMtMask | kHpaMask | kIpat | kPs | kSve);
  if (level == kLvl2M && (*s == S::kPending || *s == S::kPendingBlocked)) v &= ~kAcceptCounterMask;
  return v;
}

uint64_t DetailsRdx(uint64_t raw, unsigned level) {
  auto s = Decode(raw);
  uint64_t pub = s ? PublicState(*s) : 0xFF;
  return level | (pub << 8);
}

}  // namespace cocomem::tdx::sept
