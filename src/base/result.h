// Result<T>: a value or an errno-style error code, like the kernel's ERR_PTR/int returns.
//
// An Error always carries a positive errno; "ok" is never an error value (Error{0} is a
// CHECK failure). Result<void> is the status-only form.
#pragma once

#include <utility>
#include <variant>

#include "base/check.h"

namespace cocomem {

class Error {
 public:
  constexpr explicit Error(int code) : code_(code) { CHECK(code > 0); }
  constexpr int code() const { return code_; }
  friend constexpr bool operator==(Error, Error) = default;

 private:
  int code_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error e) : v_(e) {}                 // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  int error() const { return ok() ? 0 : std::get<1>(v_).code(); }

  T& value() & {
    CHECK_MSG(ok(), "value() of a failed Result");
    return std::get<0>(v_);
  }
  const T& value() const& {
    CHECK_MSG(ok(), "value() of a failed Result");
    return std::get<0>(v_);
  }
  T&& value() && {
    CHECK_MSG(ok(), "value() of a failed Result");
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : code_(e.code()) {}  // NOLINT: implicit by design

  bool ok() const { return code_ == 0; }
  int error() const { return code_; }

 private:
  int code_ = 0;
};

using Status = Result<void>;

inline Status Ok() { return Status(); }

}  // namespace cocomem

#define CCM_CONCAT_INNER(a, b) a##b
#define CCM_CONCAT(a, b) CCM_CONCAT_INNER(a, b)

// Returns the error of `expr` (any Result) from the enclosing function.
#define RETURN_IF_ERROR(expr)                                            \
  do {                                                                   \
    if (auto ccm_status_ = (expr); !ccm_status_.ok())                    \
      return ::cocomem::Error(ccm_status_.error());                      \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, Foo());` declares/assigns x or returns Foo()'s error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  CCM_ASSIGN_OR_RETURN_IMPL(CCM_CONCAT(ccm_result_, __LINE__), lhs, expr)
#define CCM_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)          \
  auto tmp = (expr);                                       \
  if (!tmp.ok()) return ::cocomem::Error(tmp.error());     \
  lhs = std::move(tmp).value()
