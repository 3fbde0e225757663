#include "base/result.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace cocomem {
namespace {

TEST(ErrorTest, CarriesCode) {
  Error e(EINVAL);
  EXPECT_EQ(e.code(), EINVAL);
  EXPECT_EQ(Error(ENOMEM), Error(ENOMEM));
  EXPECT_FALSE(Error(ENOMEM) == Error(EFAULT));
}

TEST(ErrorDeathTest, ZeroIsCheckFailure) {
  EXPECT_DEATH((void)Error(0), "CHECK failed");
}

TEST(ErrorDeathTest, NegativeIsCheckFailure) {
  EXPECT_DEATH((void)Error(-EINVAL), "CHECK failed");
}

TEST(ErrorDeathTest, StatusFromZeroIsCheckFailure) {
  EXPECT_DEATH((void)Status(Error(0)), "CHECK failed");
}

TEST(ResultTest, OkValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.error(), 0);
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
  r.value() = 7;
  EXPECT_EQ(*r, 7);
}

TEST(ResultTest, ErrorValue) {
  Result<int> r = Error(ENOENT);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(), ENOENT);
}

TEST(ResultTest, ConstAccessAndArrow) {
  const Result<std::string> r = std::string("hello");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 5u);
  EXPECT_EQ(*r, "hello");
  EXPECT_EQ(r.value(), "hello");

  Result<std::string> m = std::string("abc");
  m->push_back('d');
  EXPECT_EQ(*m, "abcd");
}

TEST(ResultTest, MoveOnlyValue) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(**r, 5);
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 5);

  Result<std::unique_ptr<int>> e = Error(ENOMEM);
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.error(), ENOMEM);
}

TEST(ResultTest, MoveOnlyResultIsMovable) {
  Result<std::unique_ptr<int>> a = std::make_unique<int>(9);
  Result<std::unique_ptr<int>> b = std::move(a);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(**b, 9);
}

TEST(StatusTest, OkAndError) {
  Status ok = Ok();
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.error(), 0);
  Status def;
  EXPECT_TRUE(def.ok());
  Status err = Error(EBUSY);
  EXPECT_FALSE(err.ok());
  EXPECT_EQ(err.error(), EBUSY);
}

TEST(ResultDeathTest, ValueOfErrorIsCheckFailure) {
  Result<int> r = Error(EINVAL);
  EXPECT_DEATH((void)r.value(), "CHECK failed");
  EXPECT_DEATH((void)*r, "value\\(\\) of a failed Result");
  const Result<int>& cr = r;
  EXPECT_DEATH((void)cr.value(), "CHECK failed");
  EXPECT_DEATH((void)std::move(r).value(), "CHECK failed");
}

TEST(ResultDeathTest, ArrowOfErrorIsCheckFailure) {
  Result<std::string> r = Error(EINVAL);
  EXPECT_DEATH((void)r->size(), "CHECK failed");
}

// --- RETURN_IF_ERROR / ASSIGN_OR_RETURN -------------------------------------------------

Status MaybeFail(int code) {
  if (code != 0) return Error(code);
  return Ok();
}

Result<int> MaybeInt(int code, int value) {
  if (code != 0) return Error(code);
  return value;
}

Result<std::unique_ptr<int>> MaybePtr(int code, int value) {
  if (code != 0) return Error(code);
  return std::make_unique<int>(value);
}

// Records how far it got, so the tests see that propagation returns early.
Status TwoSteps(int first, int second, std::vector<int>* trace) {
  RETURN_IF_ERROR(MaybeFail(first));
  trace->push_back(1);
  RETURN_IF_ERROR(MaybeFail(second));
  trace->push_back(2);
  return Ok();
}

// RETURN_IF_ERROR accepts any Result, and the enclosing function may return any Result.
Result<int> ReturnIfErrorOfValueResult(int code) {
  RETURN_IF_ERROR(MaybeInt(code, 3));
  return 100;
}

Result<int> SumOf(int code_a, int code_b) {
  ASSIGN_OR_RETURN(int a, MaybeInt(code_a, 20));
  ASSIGN_OR_RETURN(int b, MaybeInt(code_b, 22));
  return a + b;
}

Result<int> DerefMoveOnly(int code) {
  ASSIGN_OR_RETURN(std::unique_ptr<int> p, MaybePtr(code, 11));
  return *p * 2;
}

Status AssignExisting(int code, int* out) {
  int v = -1;
  ASSIGN_OR_RETURN(v, MaybeInt(code, 77));
  *out = v;
  return Ok();
}

TEST(MacroTest, ReturnIfErrorSuccess) {
  std::vector<int> trace;
  Status s = TwoSteps(0, 0, &trace);
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(trace, (std::vector<int>{1, 2}));
}

TEST(MacroTest, ReturnIfErrorPropagatesFirst) {
  std::vector<int> trace;
  Status s = TwoSteps(EIO, 0, &trace);
  EXPECT_EQ(s.error(), EIO);
  EXPECT_TRUE(trace.empty());
}

TEST(MacroTest, ReturnIfErrorPropagatesSecond) {
  std::vector<int> trace;
  Status s = TwoSteps(0, EAGAIN, &trace);
  EXPECT_EQ(s.error(), EAGAIN);
  EXPECT_EQ(trace, (std::vector<int>{1}));
}

TEST(MacroTest, ReturnIfErrorFromValueResult) {
  Result<int> ok = ReturnIfErrorOfValueResult(0);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 100);
  Result<int> err = ReturnIfErrorOfValueResult(E2BIG);
  EXPECT_EQ(err.error(), E2BIG);
}

TEST(MacroTest, AssignOrReturnSuccess) {
  Result<int> r = SumOf(0, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
}

TEST(MacroTest, AssignOrReturnPropagates) {
  EXPECT_EQ(SumOf(ENOSPC, 0).error(), ENOSPC);
  EXPECT_EQ(SumOf(0, EFAULT).error(), EFAULT);
  EXPECT_EQ(SumOf(EPERM, EFAULT).error(), EPERM);
}

TEST(MacroTest, AssignOrReturnMoveOnly) {
  Result<int> r = DerefMoveOnly(0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 22);
  EXPECT_EQ(DerefMoveOnly(ENOMEM).error(), ENOMEM);
}

TEST(MacroTest, AssignOrReturnToExistingVariable) {
  int out = 0;
  EXPECT_TRUE(AssignExisting(0, &out).ok());
  EXPECT_EQ(out, 77);
  out = 5;
  EXPECT_EQ(AssignExisting(EINVAL, &out).error(), EINVAL);
  EXPECT_EQ(out, 5);
}

}  // namespace
}  // namespace cocomem
