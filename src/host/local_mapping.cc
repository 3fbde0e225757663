#include "host/local_mapping.h"

#include <sys/mman.h>

namespace cocomem::host {

LocalMapping& LocalMapping::operator=(LocalMapping&& o) noexcept {
  if (this != &o) {
    Reset();
    base_ = o.base_;
    map_len_ = o.map_len_;
    data_ = o.data_;
    len_ = o.len_;
    o.base_ = nullptr;
    o.data_ = nullptr;
    o.map_len_ = o.len_ = 0;
  }
  return *this;
}

void LocalMapping::Reset() {
  if (base_) munmap(base_, map_len_);
  base_ = nullptr;
  data_ = nullptr;
  map_len_ = len_ = 0;
}

}  // namespace cocomem::host
