#include "base/fault_injection.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace cocomem {
namespace {

// Fault points live in a global registry that keeps raw pointers: static storage only.
FaultPoint kAlphaFault{"test.base.alpha"};
FaultPoint kBetaFault{"test.base.beta"};
FaultPoint kGammaFault{"test.base.gamma"};

class FaultInjectionTest : public ::testing::Test {
 protected:
  void SetUp() override { FaultPoint::DisarmAll(); }
  void TearDown() override { FaultPoint::DisarmAll(); }
};

// Calls ShouldFail() `n` times and returns the 1-based indices of the calls that failed.
std::vector<int> Failures(FaultPoint& p, int n) {
  std::vector<int> out;
  for (int i = 1; i <= n; ++i) {
    if (p.ShouldFail()) out.push_back(i);
  }
  return out;
}

TEST_F(FaultInjectionTest, DisarmedNeverFails) {
  EXPECT_FALSE(kAlphaFault.armed());
  const uint64_t fired = kAlphaFault.fired();
  EXPECT_TRUE(Failures(kAlphaFault, 100).empty());
  EXPECT_EQ(kAlphaFault.fired(), fired);
}

TEST_F(FaultInjectionTest, FailNth1FailsTheNextCallOnly) {
  kAlphaFault.FailNth(1);
  EXPECT_TRUE(kAlphaFault.armed());
  EXPECT_EQ(Failures(kAlphaFault, 10), (std::vector<int>{1}));
  EXPECT_FALSE(kAlphaFault.armed());  // one-shot
}

TEST_F(FaultInjectionTest, FailNth3FailsExactlyTheThird) {
  kAlphaFault.FailNth(3);
  EXPECT_EQ(Failures(kAlphaFault, 10), (std::vector<int>{3}));
  EXPECT_FALSE(kAlphaFault.armed());
}

TEST_F(FaultInjectionTest, SweepOverN) {
  for (int n = 1; n <= 20; ++n) {
    SCOPED_TRACE(n);
    kBetaFault.FailNth(n);
    EXPECT_EQ(Failures(kBetaFault, 25), (std::vector<int>{n}));
  }
}

TEST_F(FaultInjectionTest, NonPositiveNDisarms) {
  kAlphaFault.FailNth(0);
  EXPECT_FALSE(kAlphaFault.armed());
  EXPECT_TRUE(Failures(kAlphaFault, 5).empty());
  kAlphaFault.FailNth(-3);
  EXPECT_FALSE(kAlphaFault.armed());
  EXPECT_TRUE(Failures(kAlphaFault, 5).empty());
  kAlphaFault.FailNth(2);
  kAlphaFault.FailNth(0);  // re-arming with 0 disarms an armed point
  EXPECT_TRUE(Failures(kAlphaFault, 5).empty());
}

TEST_F(FaultInjectionTest, RearmReplacesCountdown) {
  kAlphaFault.FailNth(5);
  EXPECT_TRUE(Failures(kAlphaFault, 2).empty());
  kAlphaFault.FailNth(2);
  EXPECT_EQ(Failures(kAlphaFault, 10), (std::vector<int>{2}));
}

TEST_F(FaultInjectionTest, Disarm) {
  kAlphaFault.FailNth(2);
  EXPECT_FALSE(kAlphaFault.ShouldFail());
  kAlphaFault.Disarm();
  EXPECT_FALSE(kAlphaFault.armed());
  EXPECT_TRUE(Failures(kAlphaFault, 10).empty());
}

TEST_F(FaultInjectionTest, FiredCount) {
  const uint64_t before = kGammaFault.fired();
  kGammaFault.FailNth(1);
  EXPECT_TRUE(kGammaFault.ShouldFail());
  EXPECT_EQ(kGammaFault.fired(), before + 1);
  EXPECT_FALSE(kGammaFault.ShouldFail());
  EXPECT_EQ(kGammaFault.fired(), before + 1);
  kGammaFault.FailNth(4);
  EXPECT_EQ(Failures(kGammaFault, 10).size(), 1u);
  EXPECT_EQ(kGammaFault.fired(), before + 2);
  // Disarming before the Nth call does not count as a firing.
  kGammaFault.FailNth(3);
  (void)Failures(kGammaFault, 2);
  kGammaFault.Disarm();
  (void)Failures(kGammaFault, 5);
  EXPECT_EQ(kGammaFault.fired(), before + 2);
}

TEST_F(FaultInjectionTest, PointsAreIndependent) {
  kAlphaFault.FailNth(1);
  EXPECT_FALSE(kBetaFault.armed());
  EXPECT_TRUE(Failures(kBetaFault, 5).empty());
  EXPECT_TRUE(kAlphaFault.ShouldFail());
}

TEST_F(FaultInjectionTest, ScopedFaultDisarmsAtScopeEnd) {
  {
    ScopedFault f(kAlphaFault, 3);
    EXPECT_TRUE(kAlphaFault.armed());
    EXPECT_FALSE(kAlphaFault.ShouldFail());
  }
  EXPECT_FALSE(kAlphaFault.armed());
  EXPECT_TRUE(Failures(kAlphaFault, 10).empty());
}

TEST_F(FaultInjectionTest, ScopedFaultFiresInsideScope) {
  const uint64_t before = kAlphaFault.fired();
  {
    ScopedFault f(kAlphaFault, 2);
    EXPECT_EQ(Failures(kAlphaFault, 5), (std::vector<int>{2}));
  }
  EXPECT_EQ(kAlphaFault.fired(), before + 1);
  EXPECT_FALSE(kAlphaFault.armed());
}

TEST_F(FaultInjectionTest, FindByName) {
  EXPECT_EQ(FaultPoint::Find("test.base.alpha"), &kAlphaFault);
  EXPECT_EQ(FaultPoint::Find("test.base.beta"), &kBetaFault);
  EXPECT_EQ(FaultPoint::Find(std::string_view("test.base.gamma.extra", 15)), &kGammaFault);
  EXPECT_EQ(FaultPoint::Find("test.base.nope"), nullptr);
  EXPECT_EQ(FaultPoint::Find("test.base"), nullptr);
  EXPECT_EQ(FaultPoint::Find(""), nullptr);
  EXPECT_STREQ(kAlphaFault.name(), "test.base.alpha");
}

TEST_F(FaultInjectionTest, AllListsRegisteredPoints) {
  std::vector<FaultPoint*> all = FaultPoint::All();
  for (FaultPoint* p : {&kAlphaFault, &kBetaFault, &kGammaFault}) {
    EXPECT_EQ(std::count(all.begin(), all.end(), p), 1) << p->name();
  }
}

TEST_F(FaultInjectionTest, DisarmAll) {
  kAlphaFault.FailNth(1);
  kBetaFault.FailNth(7);
  kGammaFault.FailNth(100);
  FaultPoint::DisarmAll();
  for (FaultPoint* p : FaultPoint::All()) EXPECT_FALSE(p->armed()) << p->name();
  EXPECT_TRUE(Failures(kAlphaFault, 10).empty());
  EXPECT_TRUE(Failures(kBetaFault, 10).empty());
}

TEST_F(FaultInjectionTest, FindThenArm) {
  FaultPoint* p = FaultPoint::Find("test.base.beta");
  ASSERT_NE(p, nullptr);
  p->FailNth(1);
  EXPECT_TRUE(kBetaFault.ShouldFail());
}

// The intended use: an operation returns an error on the armed pass.
Status Reserve(int* reserved) {
  if (kGammaFault.ShouldFail()) return Error(ENOMEM);
  ++*reserved;
  return Ok();
}

TEST_F(FaultInjectionTest, DrivesErrorPath) {
  int reserved = 0;
  ScopedFault f(kGammaFault, 2);
  EXPECT_TRUE(Reserve(&reserved).ok());
  EXPECT_EQ(Reserve(&reserved).error(), ENOMEM);
  EXPECT_TRUE(Reserve(&reserved).ok());
  EXPECT_EQ(reserved, 2);
}

}  // namespace
}  // namespace cocomem
