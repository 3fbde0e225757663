// cocomem C++ entry points: the uAPI and the facade, plus RAII for emulated fds.
#pragma once

#include <cocomem/kvm.h>
#include <cocomem/sys.h>

#include <utility>

namespace cocomem {

// An fd closed with ccm_close (emulated fds must not be closed with plain close()).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ccm_close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace cocomem
