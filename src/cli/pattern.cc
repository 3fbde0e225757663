#include "cli/pattern.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace cocomem::cli {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t PatternWord(const Pattern& p, uint64_t address) {
  switch (p.kind) {
    case Pattern::Kind::kByte:
      return 0x0101010101010101ull * (p.value & 0xff);
    case Pattern::Kind::kAddress:
      return address;
    case Pattern::Kind::kRandom:
      return SplitMix64(p.value ^ address);
  }
  return 0;
}

namespace {
uint8_t PatternByte(const Pattern& p, uint64_t address) {
  const uint64_t word = PatternWord(p, address & ~uint64_t{7});
  return static_cast<uint8_t>(word >> (8 * (address & 7)));
}
}  // namespace

void FillPattern(const Pattern& p, uint64_t address, std::byte* buf, size_t len) {
  if (p.kind == Pattern::Kind::kByte) {
    std::memset(buf, static_cast<int>(p.value & 0xff), len);
    return;
  }
  size_t i = 0;
  for (; i < len && ((address + i) & 7) != 0; ++i) buf[i] = std::byte{PatternByte(p, address + i)};
  for (; i + 8 <= len; i += 8) {
    const uint64_t w = PatternWord(p, address + i);
    std::memcpy(buf + i, &w, 8);
  }
  for (; i < len; ++i) buf[i] = std::byte{PatternByte(p, address + i)};
}

std::optional<uint64_t> FindMismatch(const Pattern& p, uint64_t address, const std::byte* buf,
                                     size_t len, uint8_t* expected, uint8_t* actual) {
  std::byte want[4096];
  for (size_t done = 0; done < len;) {
    const size_t n = std::min(len - done, sizeof want);
    FillPattern(p, address + done, want, n);
    if (std::memcmp(want, buf + done, n) != 0) {
      for (size_t i = 0; i < n; ++i) {
        if (want[i] != buf[done + i]) {
          *expected = static_cast<uint8_t>(want[i]);
          *actual = static_cast<uint8_t>(buf[done + i]);
          return address + done + i;
        }
      }
    }
    done += n;
  }
  return std::nullopt;
}

std::string PatternName(const Pattern& p) {
  switch (p.kind) {
    case Pattern::Kind::kByte:
      return fmt::format("{:#04x}", p.value);
    case Pattern::Kind::kAddress:
      return "address";
    case Pattern::Kind::kRandom:
      return fmt::format("random({})", p.value);
  }
  return "?";
}

}  // namespace cocomem::cli
