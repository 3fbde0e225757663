// The seed of a randomized test: $COCOMEM_SEED if set, else random; printed once so a
// failure can be reproduced with COCOMEM_SEED=<seed>.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace cocomem::test {

inline uint64_t BaseSeed() {
  static const uint64_t seed = [] {
    uint64_t s;
    if (const char* env = std::getenv("COCOMEM_SEED"); env != nullptr && *env != '\0') {
      s = std::strtoull(env, nullptr, 0);
    } else {
      std::random_device rd;
      s = (uint64_t{rd()} << 32) ^ rd();
    }
    std::printf("seed=%llu\n", static_cast<unsigned long long>(s));
    std::fflush(stdout);
    return s;
  }();
  return seed;
}

}  // namespace cocomem::test
