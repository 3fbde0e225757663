// The scenario parser and validator: exact `file:line:column: message` for bad input.
#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "cli/scenario_parser.h"
#include "cli/scenario_validator.h"

namespace cocomem::cli {
namespace {

// The first diagnostic for `text` (parse, then validate), formatted; "" if it is valid.
std::string FirstError(const std::string& text) {
  auto parsed = ParseScenarioText(text, "s.yaml");
  if (auto* d = std::get_if<Diagnostic>(&parsed)) return FormatDiagnostic("s.yaml", *d);
  auto diags = ValidateScenario(std::get<Scenario>(parsed));
  return diags.empty() ? "" : FormatDiagnostic("s.yaml", diags.front());
}

// A valid scenario; tests replace one line.
const char* const kValid = R"(name: t
vm: {type: sw-protected, vcpus: 1}
guest_memfds:
  - {name: ram, size: 4M, page_size: 2M, flags: [mmap]}
memslots:
  - {slot: 0, gpa: 4G, size: 4M, guest_memfd: ram}
vcpus:
  - id: 0
    program:
      - write: {gpa: 4G, size: 4K, pattern: 0xaa}
      - sync: 1
host:
  - on_sync: 1
    do:
      - convert: {guest_memfd: ram, offset: 0, size: 4K, to: shared}
)";

std::string With(const std::string& from, const std::string& to) {
  std::string s = kValid;
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

TEST(ScenarioParser, ValidScenarioParses) {
  EXPECT_EQ(FirstError(kValid), "");
}

TEST(ScenarioParser, SizeExpressions) {
  EXPECT_EQ(ParseSizeExpression("4096"), 4096u);
  EXPECT_EQ(ParseSizeExpression("0x1000"), 4096u);
  EXPECT_EQ(ParseSizeExpression("2M"), 2u << 20);
  EXPECT_EQ(ParseSizeExpression("4G + 2M"), (4ull << 30) + (2u << 20));
  EXPECT_EQ(ParseSizeExpression("3 * 4K"), 12288u);
  EXPECT_EQ(ParseSizeExpression("1GiB"), 1u << 30);
  EXPECT_EQ(ParseSizeExpression("4Q"), std::nullopt);
  EXPECT_EQ(ParseSizeExpression("99999999999999999999"), std::nullopt);
  EXPECT_EQ(ParseSizeExpression("16777216T"), std::nullopt);  // overflows
  EXPECT_EQ(ParseSizeExpression(""), std::nullopt);
}

TEST(ScenarioParser, UnknownKeys) {
  EXPECT_EQ(FirstError(With("flags: [mmap]", "flags: [mmap], colour: blue")),
            "s.yaml:4:57: unknown key 'colour' in guest_memfd; expected one of: name, size, "
            "page_size, flags, preallocate");
  EXPECT_EQ(FirstError(With("name: t\n", "name: t\nvms: {}\n")),
            "s.yaml:2:1: unknown key 'vms' in scenario; expected one of: name, description, vm, "
            "guest_memfds, memslots, image, vcpus, host, expect");
  EXPECT_EQ(FirstError(With("- sync: 1", "- snyc: 1")),
            "s.yaml:11:9: unknown guest step 'snyc'; expected one of: write, read, verify, accept, "
            "map_gpa, sync, loop, random, mrtd, halt");
  EXPECT_EQ(FirstError(With("- convert:", "- convrt:")),
            "s.yaml:15:9: unknown host action 'convrt'; expected one of: convert, punch, allocate, "
            "pin, unpin, poison, close, write, verify, check");
  EXPECT_EQ(FirstError(With("flags: [mmap]", "flags: [mmap, huge]")),
            "s.yaml:4:56: unknown guest_memfd flag 'huge'; expected one of: mmap, init_shared, "
            "no_direct_map (hugetlb follows from page_size)");
}

TEST(ScenarioParser, WrongTypes) {
  EXPECT_EQ(FirstError(With("size: 4M, page", "size: big, page")),
            "s.yaml:4:23: 'size' must be a size or address (a number, optionally with K/M/G/T, "
            "e.g. 2M or 4G + 64K), got 'big'");
  EXPECT_EQ(FirstError(With("vcpus: 1}", "vcpus: [1]}")),
            "s.yaml:2:33: 'vcpus' must be a non-negative integer, got a list");
  EXPECT_EQ(FirstError(With("type: sw-protected", "type: sev")),
            "s.yaml:2:12: 'type' must be one of default, sw-protected, tdx; got 'sev'");
  EXPECT_EQ(FirstError(With("pattern: 0xaa", "pattern: 300")),
            "s.yaml:10:45: 'pattern' must be a byte (0..255), 'zero', 'address' or {random: SEED}, "
            "got '300'");
  EXPECT_EQ(FirstError(With("memslots:\n  - {slot", "memslots:\n  -  7\n  - {slot")),
            "s.yaml:6:6: 'memslots[]' must be a mapping, got '7'");
  EXPECT_EQ(FirstError(With("to: shared", "to: sideways")),
            "s.yaml:15:62: 'to' must be one of shared, private; got 'sideways'");
  EXPECT_EQ(FirstError(With("vm: {type: sw-protected, vcpus: 1}", "vm: [1]")),
            "s.yaml:2:5: 'vm' must be a mapping, got a list");
}

TEST(ScenarioParser, OutOfRangeSizes) {
  EXPECT_EQ(FirstError(With("size: 4M, page_size: 2M", "size: 4M, page_size: 8K")),
            "s.yaml:4:38: 'page_size' must be 4K, 2M or 1G, got '8K'");
  EXPECT_EQ(FirstError(With("size: 4M, page_size: 2M", "size: 2T, page_size: 2M")),
            "s.yaml:4:5: guest_memfd 'ram': size 2T is out of range (4K .. 1T)");
  EXPECT_EQ(FirstError(With("size: 4M, page_size: 2M", "size: 3M, page_size: 2M")),
            "s.yaml:4:5: guest_memfd 'ram': size 3M is not a multiple of its page size 2M");
  EXPECT_EQ(FirstError(With("vcpus: 1}", "vcpus: 1000}")),
            "s.yaml:2:33: 'vcpus' must be between 1 and 64, got 1000");
  EXPECT_EQ(FirstError(With("gpa: 4G, size: 4K, pattern", "gpa: 4G, size: 8M, pattern")),
            "s.yaml:10:9: write: [0x100000000, 0x100800000) is not inside one memslot");
}

TEST(ScenarioParser, MisalignedAddresses) {
  EXPECT_EQ(FirstError(With("gpa: 4G, size: 4M, guest", "gpa: 4G + 512, size: 4M, guest")),
            "s.yaml:6:5: memslot 0: gpa 0x100000200 is not 4K-aligned");
  EXPECT_EQ(FirstError(With("offset: 0, size: 4K, to", "offset: 100, size: 4K, to")),
            "s.yaml:15:18: convert: offset 0x64 and size 0x1000 must be 4K-aligned");
}

TEST(ScenarioParser, MeaningChecks) {
  EXPECT_EQ(FirstError(With("on_sync: 1", "on_sync: 5")),
            "s.yaml:13:5: on_sync 5: no vcpu program syncs with that value");
  EXPECT_EQ(FirstError(With("guest_memfd: ram}", "guest_memfd: rom}")),
            "s.yaml:6:47: memslot 0: no guest_memfd is named 'rom'");
  EXPECT_EQ(FirstError(With("- sync: 1", "- mrtd\n      - sync: 1")),
            "s.yaml:11:9: mrtd: needs a tdx VM");
  EXPECT_EQ(FirstError(With("vcpus: 1}", "vcpus: 2}")),
            "s.yaml:2:5: vm.vcpus is 2 but 1 vcpu program is given");
}

TEST(ScenarioParser, YamlSyntaxErrorsHaveAPosition) {
  EXPECT_EQ(FirstError("vm: {type: tdx\nmemslots: ["), "s.yaml:2:9: end of map flow not found");
}

}  // namespace
}  // namespace cocomem::cli
