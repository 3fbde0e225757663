// Test fixture for the TDX module: an arena, a module, and helpers that build a TD and
// drive SEAMCALLs the way KVM's glue does.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "host/arena.h"
#include "tdx/module/status.h"
#include "tdx/module/tdx_module.h"

namespace cocomem::tdx::testing {

inline uint64_t Lvl(uint64_t gpa, unsigned level) { return gpa | level; }
inline uint64_t Bytes(unsigned level) { return uint64_t{1} << (12 + 9 * level); }

class TdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = host::Arena::Create(host::ArenaOptions{.capacity_bytes = 4ull << 30});
    ASSERT_TRUE(a.ok());
    arena_ = std::move(a).value();
    auto m = TdxModule::Create(*arena_);
    ASSERT_TRUE(m.ok());
    module_ = std::move(m).value();
  }
  void TearDown() override {
    if (module_) {
      auto problems = module_->CheckInvariants();
      for (const auto& p : problems) ADD_FAILURE() << p;
    }
  }

  uint64_t Page() { return Pages(1, PageOrder::k4K); }
  uint64_t Page2M() { return Pages(512, PageOrder::k2M); }
  uint64_t Pages(uint64_t n, PageOrder align) {
    auto r = arena_->Reserve(n, align);
    CHECK(r.ok());
    return HpaOf(r->start).value();
  }

  TdxStatus Call(Leaf leaf, uint64_t rcx, uint64_t rdx = 0, uint64_t r8 = 0, uint64_t r9 = 0,
                 unsigned version = 0) {
    regs_ = Regs{};
    regs_.rax = static_cast<uint64_t>(leaf) | (uint64_t{version} << 16);
    regs_.rcx = rcx;
    regs_.rdx = rdx;
    regs_.r8 = r8;
    regs_.r9 = r9;
    return module_->Seamcall(regs_);
  }

  // MNG.CREATE .. VP.INIT; the TD is INITIALIZED with one vCPU (unless vcpus == 0).
  void CreateTd(TdParams params = {}, unsigned vcpus = 1) {
    tdr_ = Page();
    ASSERT_EQ(Call(Leaf::kMngCreate, tdr_, next_hkid_++), TDX_SUCCESS);
    ASSERT_EQ(Call(Leaf::kMngKeyConfig, tdr_), TDX_SUCCESS);
    for (unsigned i = 0; i < kTdcsPages; ++i)
      ASSERT_EQ(Call(Leaf::kMngAddcx, Page(), tdr_), TDX_SUCCESS);
    module_->SetTdParams(Hpa(tdr_), params);
    ASSERT_EQ(Call(Leaf::kMngInit, tdr_), TDX_SUCCESS);
    pwl_ = params.gpaw == 52 ? 4 : 3;
    for (unsigned v = 0; v < vcpus; ++v) {
      uint64_t tdvpr = Page();
      ASSERT_EQ(Call(Leaf::kVpCreate, tdvpr, tdr_), TDX_SUCCESS);
      for (unsigned i = 0; i < kTdvpxPages; ++i)
        ASSERT_EQ(Call(Leaf::kVpAddcx, Page(), tdvpr), TDX_SUCCESS);
      ASSERT_EQ(Call(Leaf::kVpInit, tdvpr), TDX_SUCCESS);
      tdvprs_.push_back(tdvpr);
    }
  }
  void Finalize() { ASSERT_EQ(Call(Leaf::kMrFinalize, tdr_), TDX_SUCCESS); }

  // S-EPT tables so that an entry at `level` exists for `gpa` (allow_existing).
  void EnsureTables(uint64_t gpa, unsigned level) {
    for (unsigned l = pwl_; l > level; --l) {
      uint64_t page = Page();
      uint64_t aligned = gpa & ~(Bytes(l) - 1);
      ASSERT_EQ(Call(Leaf::kMemSeptAdd, Lvl(aligned, l), tdr_ | 1, page), TDX_SUCCESS)
          << std::hex << "gpa " << gpa << " level " << l;
    }
  }
  uint64_t Aug(uint64_t gpa, unsigned level = 0) {
    EnsureTables(gpa, level);
    uint64_t page = level == 0 ? Page() : Page2M();
    EXPECT_EQ(Call(Leaf::kMemPageAug, Lvl(gpa, level), tdr_, page), TDX_SUCCESS);
    return page;
  }
  TdcallResult Accept(uint64_t gpa, unsigned level = 0) {
    return module_->TdgMemPageAccept(Hpa(tdvprs_.at(0)), Lvl(gpa, level));
  }
  uint64_t AugAccept(uint64_t gpa, unsigned level = 0) {
    uint64_t page = Aug(gpa, level);
    auto r = Accept(gpa, level);
    EXPECT_FALSE(r.td_exit);
    EXPECT_EQ(r.status, TDX_SUCCESS);
    return page;
  }
  // The raw entry at (gpa, level) via TDH.MEM.SEPT.RD.
  uint64_t Raw(uint64_t gpa, unsigned level) {
    Regs saved = regs_;
    EXPECT_EQ(Call(Leaf::kMemSeptRd, Lvl(gpa, level), tdr_), TDX_SUCCESS);
    uint64_t raw = regs_.rcx;
    regs_ = saved;
    return raw;
  }
  // BLOCK + TRACK (the zap prologue of KVM), with no vCPU inside.
  void BlockTrack(uint64_t gpa, unsigned level) {
    ASSERT_EQ(Call(Leaf::kMemRangeBlock, Lvl(gpa, level), tdr_), TDX_SUCCESS);
    ASSERT_EQ(Call(Leaf::kMemTrack, tdr_), TDX_SUCCESS);
  }

  std::unique_ptr<host::Arena> arena_;
  std::unique_ptr<TdxModule> module_;
  Regs regs_;
  uint64_t tdr_ = 0;
  std::vector<uint64_t> tdvprs_;
  unsigned pwl_ = 3;
  uint64_t next_hkid_ = 32;
};

}  // namespace cocomem::tdx::testing
