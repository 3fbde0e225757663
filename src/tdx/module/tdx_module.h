// TdxModule: an emulated Intel TDX module (1.5) — the Secure EPT of every TD, the PAMT
// over the TDMRs, TLB epochs and the MRTD — behind a SEAMCALL-shaped interface.
//
// Hosts (KVM's TDX glue, tests) call Seamcall() with the registers the real instruction
// takes: RAX = leaf | version << 16, operands in RCX/RDX/R8..R11. The module checks them in
// the spec's order (tdx.md §2), returns the spec's 64-bit status with the operand id, and
// on failure leaves RCX/RDX holding the SEPT entry details of §0.1. Only then does it commit.
//
// Guests (the vCPU threads) use the TD-side entry points: VpEnter/TdExit bracket the time
// a vCPU is "in the TD" (epoch refcounts), Walk is the CPU's EPT walk of the Secure EPT,
// and the TDCALLs (TDG.MEM.PAGE.ACCEPT, the MRTD of TDG.MR.REPORT).
//
// Physical addresses are arena addresses: HPA = PFN << 12, with the KeyID in the bits
// above phys_bits. Every private or metadata page must lie in a TDMR (the whole arena by
// default). The module reads and writes pages through the arena's hardware view.
//
// Every lock is a try-lock, as in the module: contention is TDX_OPERAND_BUSY with the
// operand of the contended object, never a wait. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "base/memory_types.h"
#include "base/result.h"
#include "host/arena.h"
#include "host/pfn_range.h"
#include "tdx/module/status.h"

namespace cocomem::tdx {

// SEAMCALL leaf numbers (RAX bits 15:0).
enum class Leaf : uint16_t {
  kVpEnter = 0,
  kMngAddcx = 1,
  kMemPageAdd = 2,
  kMemSeptAdd = 3,
  kVpAddcx = 4,
  kMemPageAug = 6,
  kMemRangeBlock = 7,
  kMngKeyConfig = 8,
  kMngCreate = 9,
  kVpCreate = 10,
  kMemPageDemote = 15,
  kMrExtend = 16,
  kMrFinalize = 17,
  kVpFlush = 18,
  kMngVpflushdone = 19,
  kMngKeyFreeid = 20,
  kMngInit = 21,
  kVpInit = 22,
  kMemPagePromote = 23,
  kMemSeptRd = 25,
  kPhymemPageReclaim = 28,
  kMemPageRemove = 29,
  kMemSeptRemove = 30,
  kMemTrack = 38,
  kMemRangeUnblock = 39,
  kPhymemPageWbinvd = 41,
};
const char* LeafName(Leaf leaf);  // "TDH.MEM.PAGE.AUG"

// TDCALL leaves the guest may use.
enum class TdcallLeaf : uint16_t { kMrReport = 4, kMemPageAccept = 6 };

// The registers a SEAMCALL reads and writes.
struct Regs {
  uint64_t rax = 0, rcx = 0, rdx = 0, r8 = 0, r9 = 0, r10 = 0, r11 = 0;
};

// SEPT levels as the module numbers them; Linux passes pg_level - 1.
enum SeptLevel : uint8_t { kLvl4K = 0, kLvl2M = 1, kLvl1G = 2, kLvl512G = 3 };

// S-EPT entry states a non-migrating module uses (tdx.md §1.1), and their public encoding
// (RDX[15:8] of the entry details).
enum class SeptState : uint8_t {
  kFree,
  kNlMapped,
  kNlBlocked,
  kMapped,
  kBlocked,
  kPending,
  kPendingBlocked,
};
const char* SeptStateName(SeptState s);

// PAMT page types (tdx.md §2.17).
enum class PageType : uint8_t { kNda = 0, kRsvd = 1, kReg = 3, kTdr = 4, kTdcx = 5, kTdvpr = 6, kEpt = 8 };

inline constexpr unsigned kTdcsPages = 6;    // TDCX pages TDH.MNG.ADDCX must add before INIT
inline constexpr unsigned kTdvpxPages = 5;   // TDCX pages per vCPU (TDH.VP.ADDCX)
inline constexpr uint64_t kNullPa = ~uint64_t{0};

struct ModuleConfig {
  unsigned phys_bits = 46;            // MAX_PA: KeyID bits start here
  unsigned keyid_bits = 6;            // HKIDs 0 .. 2^keyid_bits - 1
  uint16_t first_private_hkid = 32;   // KeyIDs below are shared (0 = TME, the global KeyID)
  // TDX memory (TDMRs), 1G-aligned PFN ranges; empty = the whole arena.
  std::vector<host::PfnRange> tdmrs;
};

// TDH.MNG.INIT's TD_PARAMS, the fields this emulator honours.
struct TdParams {
  uint64_t attributes = 0;  // bit 28 SEPT_VE_DISABLE; bit 0 DEBUG
  uint64_t xfam = 0;
  unsigned gpaw = 48;       // 48 (shared bit 47, 4-level S-EPT) or 52 (bit 51, 5-level)
  uint16_t max_vcpus = 0;   // 0 = no limit
};
inline constexpr uint64_t kTdAttrSeptVeDisable = uint64_t{1} << 28;

// What a TD exit tells the host about an EPT violation (TDX exit registers RCX/RDX/R8).
struct TdExit {
  uint64_t exit_qualification = 0;      // bit 1: write
  uint64_t ext_exit_qualification = 0;  // bits 3:0 type (0 none, 1 ACCEPT, 6 PENDING EPT VIOLATION), info above
  uint64_t gpa = 0;
};
inline constexpr uint64_t kEeqTypeNone = 0, kEeqTypeAccept = 1, kEeqTypePendingEptViolation = 6;

// The outcome of a TDCALL: either a status in RAX for the guest, or a TD exit to the host
// (the guest re-executes the TDCALL after the host resumes it).
struct TdcallResult {
  bool td_exit = false;
  TdxStatus status = TDX_SUCCESS;
  TdExit exit;
};

// The CPU's walk of the Secure EPT for a guest access to a private GPA.
struct GuestWalk {
  enum class Kind {
    kAccessible,    // `hpa` holds the data (entry MAPPED)
    kEptViolation,  // TD exit to the host with `exit`
    kVe,            // #VE in the guest (PENDING page, SEPT_VE_DISABLE clear)
  };
  Kind kind = Kind::kEptViolation;
  Hpa hpa;  // the byte's host physical address when accessible
  TdExit exit;
};

// One S-EPT leaf or table entry, for reports, tests and invariant checks.
struct SeptEntryInfo {
  uint64_t gpa;     // first GPA the entry covers
  SeptLevel level;  // the entry's level
  SeptState state;
  uint64_t raw;     // the 64-bit entry
  Hpa hpa;          // the page (leaf) or child table (non-leaf)
};

struct PamtInfo {
  PageType type = PageType::kNda;
  Hpa owner;        // TDR of the owning TD (0 for NDA)
  SeptLevel size = kLvl4K;  // PAMT level the entry lives at
  uint64_t bepoch = 0;
};

class TdxModule {
 public:
  // Initializes the module (TDH.SYS.INIT/CONFIG/KEY.CONFIG/TDMR.INIT) over `arena`.
  static Result<std::unique_ptr<TdxModule>> Create(host::Arena& arena, ModuleConfig config = {});
  ~TdxModule();
  TdxModule(const TdxModule&) = delete;
  TdxModule& operator=(const TdxModule&) = delete;

  const ModuleConfig& config() const;
  host::Arena& arena() const;

  // ---- host side ---------------------------------------------------------------------
  // Executes the SEAMCALL in regs.rax with its operands; returns the status (also left in
  // regs.rax) and the leaf's output registers.
  TdxStatus Seamcall(Regs& regs);

  // TDH.MNG.INIT takes TD_PARAMS from memory; the emulator takes them here, keyed by the
  // TDR, before the SEAMCALL (RDX of TDH.MNG.INIT is then ignored).
  void SetTdParams(Hpa tdr, const TdParams& params);

  // ---- TD side (a vCPU thread) ---------------------------------------------------------
  // TDH.VP.ENTER's epoch bookkeeping (the vCPU is now in the TD) and the TD exit that ends
  // it. VpEnter may be TDX_OPERAND_BUSY | TD_EPOCH while a TRACK holds the epoch lock.
  TdxStatus VpEnter(Hpa tdvpr);
  void TdExitEpoch(Hpa tdvpr);
  // The hardware's walk for a guest access at `gpa` (shared bit clear), entered or not.
  GuestWalk Walk(Hpa tdr, uint64_t gpa, bool write) const;
  // TDG.MEM.PAGE.ACCEPT with RCX = gpa | level.
  TdcallResult TdgMemPageAccept(Hpa tdvpr, uint64_t rcx);
  // TDG.MR.REPORT, the MRTD field of the TDREPORT (valid once finalized; zeros before).
  TdcallResult TdgMrReport(Hpa tdvpr, uint8_t mrtd[48]);

  // ---- introspection (reports, tests, invariants) ----------------------------------------
  // Every present S-EPT entry of the TD (tables and leaves), in GPA order.
  void ForEachSeptEntry(Hpa tdr, const std::function<void(const SeptEntryInfo&)>& fn) const;
  PamtInfo Pamt(Pfn pfn) const;
  // The TD's MRTD after TDH.MR.FINALIZE; nullopt before.
  std::optional<std::array<uint8_t, 48>> Mrtd(Hpa tdr) const;
  // Module invariants: every S-EPT leaf's pages are PT_REG owned by the TD at the leaf's
  // size, every S-EPT table page is PT_EPT owned by the TD, CHLDCNT matches, no page has
  // two owners. Empty if all hold; otherwise one line per violation naming GPA/PFN.
  std::vector<std::string> CheckInvariants() const;
  // SEAMCALLs so far: (leaf, status class) -> count; status class is StatusCode(status).
  std::vector<std::tuple<Leaf, TdxStatus, uint64_t>> SeamcallCounts() const;

  // ---- tests ---------------------------------------------------------------------------
  // Holds one of the module's locks as a contending logical processor would, until the
  // returned object dies, so a test can provoke TDX_OPERAND_BUSY deterministically.
  enum class TestLock { kTdrExclusive, kOpState, kSeptTreeExclusive, kSeptEntry, kPamtPage, kEpochExclusive };
  class HeldLock {
   public:
    HeldLock(HeldLock&&) noexcept;
    ~HeldLock();
   private:
    friend class TdxModule;
    explicit HeldLock(std::function<void()> release) : release_(std::move(release)) {}
    std::function<void()> release_;
  };
  // kSeptEntry: the entry at (gpa, level) of the TD; kPamtPage: the 4K PAMT entry of `hpa`
  // (tdr/gpa ignored). Fails the test (CHECK) if the lock is not free.
  HeldLock HoldLockForTest(TestLock which, Hpa tdr, uint64_t gpa_or_hpa = 0, SeptLevel level = kLvl4K);

  // Pretends a host interrupt is pending for the next N DEMOTE/PROMOTE calls
  // (TDX_INTERRUPTED_RESTARTABLE).
  void InjectPendingInterruptForTest(unsigned count);

 private:
  struct Impl;
  explicit TdxModule(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cocomem::tdx
