// Exhaustive leaf x S-EPT state test: every state of tdx.md §1.1 is produced by real
// SEAMCALL sequences, then every leaf is called on it. The outcome must follow the §1.2
// table: success when allowed, otherwise EPT_ENTRY_STATE_INCORRECT|RCX (or
// GPA_RANGE_ALREADY_BLOCKED for BLOCK) with the entry details in RCX/RDX.
#include <functional>
#include <string>

#include "tdx_test_util.h"

namespace cocomem::tdx::testing {
namespace {

constexpr uint64_t kHpa = 0x000FFFFFFFFFF000;

struct StateCase {
  SeptState state;
  uint8_t public_state;
  bool leaf;
};
const StateCase kStates[] = {
    {SeptState::kFree, 0, false},         {SeptState::kNlMapped, 0x84, false},
    {SeptState::kNlBlocked, 0x81, false}, {SeptState::kMapped, 4, true},
    {SeptState::kBlocked, 1, true},       {SeptState::kPending, 2, true},
    {SeptState::kPendingBlocked, 3, true},
};

// §1.2, written out again independently of the module's table.
enum class Op { kAdd, kSeptAdd, kAug, kBlock, kDemote, kExtend, kPromote, kSeptRd, kRemove,
                kSeptRemove, kUnblock };
struct OpCase {
  Op op;
  const char* name;
  unsigned min_level, max_level;
  std::vector<SeptState> allowed;
};
using S = SeptState;
const OpCase kOps[] = {
    {Op::kAdd, "PAGE.ADD", 0, 0, {S::kFree}},
    {Op::kSeptAdd, "SEPT.ADD", 1, 1, {S::kFree, S::kNlMapped}},
    {Op::kAug, "PAGE.AUG", 0, 1, {S::kFree}},
    {Op::kBlock, "RANGE.BLOCK", 0, 1, {S::kNlMapped, S::kMapped, S::kPending}},
    {Op::kDemote, "PAGE.DEMOTE", 1, 1, {S::kMapped, S::kBlocked, S::kPending, S::kPendingBlocked}},
    {Op::kExtend, "MR.EXTEND", 0, 1, {S::kMapped}},
    {Op::kPromote, "PAGE.PROMOTE", 1, 1, {S::kNlMapped, S::kNlBlocked}},
    {Op::kSeptRd, "SEPT.RD", 0, 1,
     {S::kFree, S::kNlMapped, S::kNlBlocked, S::kMapped, S::kBlocked, S::kPending,
      S::kPendingBlocked}},
    {Op::kRemove, "PAGE.REMOVE", 0, 1, {S::kMapped, S::kBlocked, S::kPending, S::kPendingBlocked}},
    {Op::kSeptRemove, "SEPT.REMOVE", 1, 1, {S::kNlMapped, S::kNlBlocked}},
    {Op::kUnblock, "RANGE.UNBLOCK", 0, 1, {S::kNlBlocked, S::kBlocked, S::kPendingBlocked}},
};

bool Contains(const std::vector<SeptState>& v, SeptState s) {
  for (auto x : v)
    if (x == s) return true;
  return false;
}

class SeptStateTest : public TdxTest {
 protected:
  // Puts the entry at (gpa, level) into `state`. NL states for PROMOTE are made by
  // demoting an accepted 2M page (so the 512 children can be merged again); otherwise a
  // NL entry points to an empty table (so SEPT.REMOVE can take it).
  void MakeState(uint64_t gpa, unsigned level, SeptState state, bool mergeable) {
    EnsureTables(gpa, level);
    switch (state) {
      case S::kFree: return;
      case S::kPending: Aug(gpa, level); return;
      case S::kPendingBlocked:
        Aug(gpa, level);
        ASSERT_EQ(Call(Leaf::kMemRangeBlock, Lvl(gpa, level), tdr_), TDX_SUCCESS);
        return;
      case S::kMapped: AugAccept(gpa, level); return;
      case S::kBlocked:
        AugAccept(gpa, level);
        ASSERT_EQ(Call(Leaf::kMemRangeBlock, Lvl(gpa, level), tdr_), TDX_SUCCESS);
        return;
      case S::kNlMapped:
      case S::kNlBlocked:
        ASSERT_EQ(level, 1u);
        if (mergeable) {
          AugAccept(gpa, 1);
          ASSERT_EQ(Call(Leaf::kMemPageDemote, Lvl(gpa, 1), tdr_, Page()), TDX_SUCCESS);
        } else {
          ASSERT_EQ(Call(Leaf::kMemSeptAdd, Lvl(gpa, 1), tdr_, Page()), TDX_SUCCESS);
        }
        if (state == S::kNlBlocked)
          ASSERT_EQ(Call(Leaf::kMemRangeBlock, Lvl(gpa, 1), tdr_), TDX_SUCCESS);
        return;
    }
  }

  TdxStatus Run(Op op, uint64_t gpa, unsigned level) {
    switch (op) {
      case Op::kAdd: return Call(Leaf::kMemPageAdd, Lvl(gpa, level), tdr_, Page(), Page());
      case Op::kSeptAdd: return Call(Leaf::kMemSeptAdd, Lvl(gpa, level), tdr_ | 1, Page());
      case Op::kAug:
        return Call(Leaf::kMemPageAug, Lvl(gpa, level), tdr_, level ? Page2M() : Page());
      case Op::kBlock: return Call(Leaf::kMemRangeBlock, Lvl(gpa, level), tdr_);
      case Op::kDemote: return Call(Leaf::kMemPageDemote, Lvl(gpa, level), tdr_, Page());
      case Op::kExtend: return Call(Leaf::kMrExtend, gpa, tdr_);
      case Op::kPromote: return Call(Leaf::kMemPagePromote, Lvl(gpa, level), tdr_);
      case Op::kSeptRd: return Call(Leaf::kMemSeptRd, Lvl(gpa, level), tdr_);
      case Op::kRemove: return Call(Leaf::kMemPageRemove, Lvl(gpa, level), tdr_);
      case Op::kSeptRemove: return Call(Leaf::kMemSeptRemove, Lvl(gpa, level), tdr_);
      case Op::kUnblock: return Call(Leaf::kMemRangeUnblock, Lvl(gpa, level), tdr_);
    }
    return ~TdxStatus{0};
  }

  static uint64_t ExpectedRcx(uint64_t raw, const StateCase& sc) {
    if (sc.state == S::kFree) return 0x8000000000000000;
    if (!sc.leaf) return raw & 0x87;
    return raw & (0x7 | 0x38 | kHpa | 0x40 | 0x80 | (uint64_t{1} << 63));
  }
};

TEST_F(SeptStateTest, EveryLeafInEveryState) {
  CreateTd();  // INITIALIZED: no BLOCK/TRACK requirement, PAGE.ADD/MR.EXTEND allowed
  uint64_t next_gpa = 1ull << 30;
  int checked = 0;
  for (const OpCase& oc : kOps) {
    for (unsigned level = oc.min_level; level <= oc.max_level; ++level) {
      for (const StateCase& sc : kStates) {
        const bool nl = sc.state == S::kNlMapped || sc.state == S::kNlBlocked;
        if (nl && level == 0) continue;  // a 4K entry is never a table
        const uint64_t gpa = next_gpa;
        next_gpa += 2ull << 20;
        SCOPED_TRACE(std::string(oc.name) + " level " + std::to_string(level) + " state " +
                     SeptStateName(sc.state));
        MakeState(gpa, level, sc.state, oc.op == Op::kPromote);
        if (HasFatalFailure()) return;
        const uint64_t raw = Raw(gpa, level);
        const TdxStatus s = Run(oc.op, gpa, level);
        ++checked;
        if (oc.op == Op::kExtend) {
          // MR.EXTEND walks to the leaf: anything not MAPPED is "not present".
          EXPECT_EQ(StatusCode(s), Contains(oc.allowed, sc.state) ? TDX_SUCCESS
                                                                   : TDX_EPT_ENTRY_NOT_PRESENT);
          continue;
        }
        if (Contains(oc.allowed, sc.state)) {
          EXPECT_EQ(s, TDX_SUCCESS) << StatusName(s) << std::hex << " " << s;
          continue;
        }
        const bool blocked = sc.state == S::kNlBlocked || sc.state == S::kBlocked ||
                             sc.state == S::kPendingBlocked;
        const TdxStatus want = (oc.op == Op::kBlock && blocked) ? TDX_GPA_RANGE_ALREADY_BLOCKED
                                                                : TDX_EPT_ENTRY_STATE_INCORRECT;
        EXPECT_EQ(s, want + kOpRcx) << StatusName(s) << std::hex << " " << s;
        EXPECT_EQ(regs_.rcx, ExpectedRcx(raw, sc)) << std::hex << raw;
        EXPECT_EQ(regs_.rdx, level | (uint64_t{sc.public_state} << 8));
      }
    }
  }
  EXPECT_GT(checked, 100);
}

// TDG.MEM.PAGE.ACCEPT against every state at the requested level (§2.15).
TEST_F(SeptStateTest, AcceptInEveryState) {
  CreateTd();
  uint64_t gpa = 1ull << 30;
  for (unsigned level = 0; level <= 1; ++level) {
    for (const StateCase& sc : kStates) {
      const bool nl = sc.state == S::kNlMapped || sc.state == S::kNlBlocked;
      if (nl && level == 0) continue;
      gpa += 2ull << 20;
      SCOPED_TRACE(std::string("level ") + std::to_string(level) + " " + SeptStateName(sc.state));
      MakeState(gpa, level, sc.state, false);
      const uint64_t raw = Raw(gpa, level);
      TdcallResult r = Accept(gpa, level);
      switch (sc.state) {
        case S::kPending:
          EXPECT_FALSE(r.td_exit);
          EXPECT_EQ(r.status, TDX_SUCCESS);
          break;
        case S::kMapped:
          EXPECT_FALSE(r.td_exit);
          EXPECT_EQ(r.status, TDX_PAGE_ALREADY_ACCEPTED + level);
          break;
        case S::kNlMapped:
        case S::kNlBlocked:
          EXPECT_FALSE(r.td_exit);
          EXPECT_EQ(r.status, TDX_PAGE_SIZE_MISMATCH + level);
          break;
        default: {
          ASSERT_TRUE(r.td_exit);
          const uint64_t info = level | (uint64_t{level} << 3) |
                                (uint64_t{sc.public_state} << 6) |
                                (uint64_t{sc.leaf} << 14);
          EXPECT_EQ(r.exit.ext_exit_qualification, 1 | (info << 32)) << std::hex << raw;
          EXPECT_EQ(r.exit.exit_qualification & 0x2, 0x2u);
          EXPECT_EQ(r.exit.gpa, gpa);
        }
      }
    }
  }
}

}  // namespace
}  // namespace cocomem::tdx::testing
