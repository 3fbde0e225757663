// TDX module status codes (RAX after a SEAMCALL/TDCALL) and operand ids, as the TDX 1.5
// module defines them (tdx.md §0.1). A status with an operand id is `code + id`.
#pragma once

#include <cstdint>

namespace cocomem::tdx {

using TdxStatus = uint64_t;

// Operand ids (low 32 bits of an error status).
enum OperandId : uint64_t {
  kOpRax = 0,
  kOpRcx = 1,
  kOpRdx = 2,
  kOpRbx = 3,
  kOpR8 = 8,
  kOpR9 = 9,
  kOpR10 = 10,
  kOpR11 = 11,
  kOpTdr = 128,
  kOpTdcs = 144,
  kOpSeptTree = 146,
  kOpSeptEntry = 147,
  kOpTdEpoch = 169,
  kOpOpState = 172,
};

inline constexpr TdxStatus TDX_SUCCESS = 0x0000000000000000;
inline constexpr TdxStatus TDX_INTERRUPTED_RESUMABLE = 0x8000000300000000;
inline constexpr TdxStatus TDX_INTERRUPTED_RESTARTABLE = 0x8000000400000000;
inline constexpr TdxStatus TDX_OPERAND_INVALID = 0xC000010000000000;
inline constexpr TdxStatus TDX_OPERAND_ADDR_RANGE_ERROR = 0xC000010100000000;
inline constexpr TdxStatus TDX_OPERAND_BUSY = 0x8000020000000000;
inline constexpr TdxStatus TDX_PREVIOUS_TLB_EPOCH_BUSY = 0x8000020100000000;
inline constexpr TdxStatus TDX_OPERAND_BUSY_HOST_PRIORITY = 0x8000020400000000;
inline constexpr TdxStatus TDX_PAGE_METADATA_INCORRECT = 0xC000030000000000;
inline constexpr TdxStatus TDX_TD_ASSOCIATED_PAGES_EXIST = 0xC000040000000000;
inline constexpr TdxStatus TDX_TD_FATAL = 0xE000060400000000;
inline constexpr TdxStatus TDX_TDCS_NOT_ALLOCATED = 0xC000060600000000;
inline constexpr TdxStatus TDX_LIFECYCLE_STATE_INCORRECT = 0xC000060700000000;
inline constexpr TdxStatus TDX_OP_STATE_INCORRECT = 0xC000060800000000;
inline constexpr TdxStatus TDX_NO_VCPUS = 0xC000060900000000;
inline constexpr TdxStatus TDX_TD_KEYS_NOT_CONFIGURED = 0x8000081000000000;
inline constexpr TdxStatus TDX_EPT_WALK_FAILED = 0xC0000B0000000000;
inline constexpr TdxStatus TDX_EPT_ENTRY_FREE = 0xC0000B0100000000;
inline constexpr TdxStatus TDX_EPT_ENTRY_NOT_FREE = 0xC0000B0200000000;
inline constexpr TdxStatus TDX_EPT_ENTRY_NOT_PRESENT = 0xC0000B0300000000;
inline constexpr TdxStatus TDX_EPT_ENTRY_NOT_LEAF = 0xC0000B0400000000;
inline constexpr TdxStatus TDX_EPT_ENTRY_LEAF = 0xC0000B0500000000;
inline constexpr TdxStatus TDX_GPA_RANGE_NOT_BLOCKED = 0xC0000B0600000000;
inline constexpr TdxStatus TDX_GPA_RANGE_ALREADY_BLOCKED = 0x00000B0700000000;  // not an error
inline constexpr TdxStatus TDX_TLB_TRACKING_NOT_DONE = 0xC0000B0800000000;
inline constexpr TdxStatus TDX_EPT_INVALID_PROMOTE_CONDITIONS = 0xC0000B0900000000;
inline constexpr TdxStatus TDX_PAGE_ALREADY_ACCEPTED = 0x00000B0A00000000;  // not an error
inline constexpr TdxStatus TDX_PAGE_SIZE_MISMATCH = 0xC0000B0B00000000;
inline constexpr TdxStatus TDX_GPA_RANGE_BLOCKED = 0xC0000B0C00000000;
inline constexpr TdxStatus TDX_EPT_ENTRY_STATE_INCORRECT = 0xC0000B0D00000000;
inline constexpr TdxStatus TDX_EPT_PAGE_NOT_FREE = 0xC0000B0E00000000;

// What Linux compares (TDX_SEAMCALL_STATUS_MASK): the status without the operand id.
inline constexpr TdxStatus kStatusMask = 0xFFFFFFFF00000000;
constexpr TdxStatus StatusCode(TdxStatus s) { return s & kStatusMask; }
constexpr uint32_t OperandOf(TdxStatus s) { return static_cast<uint32_t>(s); }
constexpr bool IsError(TdxStatus s) { return s >> 63; }
constexpr TdxStatus WithOperand(TdxStatus code, uint64_t id) { return code + id; }

// A printable name for the status class ("TDX_OPERAND_BUSY"), for logs and reports.
const char* StatusName(TdxStatus s);

}  // namespace cocomem::tdx
