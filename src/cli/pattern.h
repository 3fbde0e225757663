// Patterns: deterministic page contents for image regions, guest writes and checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "cli/scenario.h"

namespace cocomem::cli {

// The 8-byte word the pattern puts at `address` (8-aligned).
uint64_t PatternWord(const Pattern& p, uint64_t address);
// Fills buf[0, len) as the bytes at [address, address + len).
void FillPattern(const Pattern& p, uint64_t address, std::byte* buf, size_t len);
// The first address in [address, address + len) whose byte differs, if any; *expected and
// *actual get the bytes there.
std::optional<uint64_t> FindMismatch(const Pattern& p, uint64_t address, const std::byte* buf,
                                     size_t len, uint8_t* expected, uint8_t* actual);
// "0xaa", "address", "random(7)".
std::string PatternName(const Pattern& p);

uint64_t SplitMix64(uint64_t x);

}  // namespace cocomem::cli
