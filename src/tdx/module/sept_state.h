// S-EPT entry encoding (tdx.md §1.1) and the one [leaf][state] legality table (§1.2) every
// leaf consults. Raw values are exactly what the module writes, so details reported in
// RCX/RDX and SEPT.RD are bit-exact.
#pragma once

#include <cstdint>
#include <optional>

#include "tdx/module/tdx_module.h"

namespace cocomem::tdx::sept {

inline constexpr uint64_t kRwx = 0x7;
inline constexpr uint64_t kMtMask = 0x38;
inline constexpr uint64_t kIpat = uint64_t{1} << 6;
inline constexpr uint64_t kPs = uint64_t{1} << 7;
inline constexpr uint64_t kTdel = uint64_t{1} << 11;  // entry lock
inline constexpr uint64_t kHpaMask = 0x000FFFFFFFFFF000;
inline constexpr uint64_t kTdhp = uint64_t{1} << 52;  // host priority (guest backs off)
inline constexpr uint64_t kTdb = uint64_t{1} << 55;
inline constexpr uint64_t kTdp = uint64_t{1} << 56;
inline constexpr uint64_t kSve = uint64_t{1} << 63;
// 2M PENDING leaves: ACCEPT progress in bits 20:12 (free because the HPA is 2M aligned).
inline constexpr uint64_t kAcceptCounterShift = 12;
inline constexpr uint64_t kAcceptCounterMask = uint64_t{0x1FF} << kAcceptCounterShift;

inline constexpr uint64_t kFreeRaw = 0x80E0000000000000;
inline constexpr uint64_t kNlMappedBase = 0x8000000000000007;
inline constexpr uint64_t kNlBlockedBase = 0x8080000000000000;
inline constexpr uint64_t kMappedBase = 0x80000000000000F7;
inline constexpr uint64_t kBlockedBase = 0x80800000000000F0;
inline constexpr uint64_t kPendingBase = 0x81000000000000F0;
inline constexpr uint64_t kPendingBlockedBase = 0x81800000000000F0;

inline constexpr unsigned kEntries = 512;

constexpr uint64_t LevelShift(unsigned level) { return 12 + 9 * level; }
constexpr uint64_t LevelBytes(unsigned level) { return uint64_t{1} << LevelShift(level); }
constexpr uint64_t LevelPages(unsigned level) { return uint64_t{1} << (9 * level); }
constexpr unsigned IndexAt(uint64_t gpa, unsigned level) {
  return static_cast<unsigned>((gpa >> LevelShift(level)) & 511);
}

uint64_t Encode(SeptState state, uint64_t hpa);
// nullopt for encodings this module never writes (only a corrupted table has them).
std::optional<SeptState> Decode(uint64_t raw);
SeptState StateOf(uint64_t raw);  // CHECKs the encoding is one of ours

// The page (leaf) or child table (non-leaf) an entry points to; for a leaf aligned to the
// level's size (so a 2M PENDING accept counter is not part of it).
uint64_t EntryHpa(uint64_t raw, unsigned level);

bool IsLeaf(SeptState s);
bool IsBlocked(SeptState s);
// RANGE.BLOCK's and RANGE.UNBLOCK's transitions (§1.3): NL_MAPPED <-> NL_BLOCKED,
// MAPPED <-> BLOCKED, PENDING <-> PENDING_BLOCKED; any other state maps to itself.
SeptState BlockedOf(SeptState s);
SeptState UnblockedOf(SeptState s);
bool IsPresent(SeptState s);  // RWX != 0: the walk continues/the CPU may access
bool GuestAccessibleLeaf(SeptState s);
bool TlbTrackingRequired(SeptState s);
uint8_t PublicState(SeptState s);  // RDX[15:8] of the details, EEQ err_sept_state

// The legality table of §1.2, indexed by the SEAMCALL/TDCALL that looks at the entry.
enum class Op : uint8_t {
  kPageAdd,
  kSeptAdd,
  kPageAug,
  kRangeBlock,
  kPageDemote,
  kMrExtend,
  kPagePromote,
  kSeptRd,
  kPageRemove,
  kSeptRemove,
  kRangeUnblock,
  kPageAccept,
  kCount,
};
bool Allowed(Op op, SeptState s);

// The entry details of §0.1: RCX = architectural entry, RDX = level | public state << 8.
uint64_t DetailsRcx(uint64_t raw, unsigned level);
uint64_t DetailsRdx(uint64_t raw, unsigned level);

}  // namespace cocomem::tdx::sept
