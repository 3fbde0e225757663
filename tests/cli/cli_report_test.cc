// `cocomem run` in-process: the summary text of an example against its golden file
// (stable fields only) and the JSON report against its schema.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <variant>

#include "cli/report_json.h"
#include "cli/report_text.h"
#include "cli/runner.h"
#include "cli/scenario_parser.h"
#include "cli/scenario_validator.h"

#ifndef COCOMEM_SOURCE_DIR
#error "COCOMEM_SOURCE_DIR must be defined"
#endif

namespace cocomem::cli {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RunResult RunExample(const std::string& name) {
  const std::string rel = "examples/" + name + ".yaml";
  auto parsed = ParseScenarioText(Slurp(std::string(COCOMEM_SOURCE_DIR) + "/" + rel), rel);
  EXPECT_TRUE(std::holds_alternative<Scenario>(parsed));
  Scenario s = std::get<Scenario>(parsed);
  EXPECT_TRUE(ValidateScenario(s).empty());
  EXPECT_TRUE(UseEmulatorBackend());
  return RunScenario(s, RunOptions{});
}

void Golden(const std::string& name) {
  const RunResult r = RunExample(name);
  const std::string got = FormatReport(r, ReportStyle::kStable);
  const std::string path = std::string(COCOMEM_SOURCE_DIR) + "/tests/cli/golden/" + name + ".txt";
  if (std::getenv("COCOMEM_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << got;
    GTEST_SKIP() << "rewrote " << path;
  }
  EXPECT_EQ(got, Slurp(path)) << "(COCOMEM_UPDATE_GOLDEN=1 rewrites " << path << ")";
}

TEST(CliReport, GoldenMemoryFailure) {
  Golden("memory-failure");
}
TEST(CliReport, GoldenNoDirectMap) {
  Golden("no-direct-map");
}

TEST(CliReport, JsonSchema) {
  const RunResult r = RunExample("memory-failure");
  const nlohmann::json j = RunJson(r);
  EXPECT_EQ(j.at("schema"), kRunSchema);
  EXPECT_EQ(j.at("result"), "pass");
  EXPECT_TRUE(j.at("scenario").at("name").is_string());
  EXPECT_EQ(j.at("vm").at("type"), "sw-protected");
  EXPECT_TRUE(j.at("vm").at("vcpus").is_number_unsigned());
  EXPECT_TRUE(j.at("mrtd").at("guest").is_null());
  EXPECT_EQ(j.at("exits").at("hwpoison"), 1);
  for (const char* k : {"steps", "bytes_written", "bytes_read", "bytes_verified", "accepts",
                        "map_gpa", "random_ops", "syncs"})
    EXPECT_TRUE(j.at("guest").at(k).is_number_unsigned()) << k;
  EXPECT_TRUE(j.at("stats").is_object());
  for (const char* k : {"kvm.vm.faults", "kvm.vm.faults_mapped_4k", "gmem.memory_failures",
                        "gmem.conversions", "host.arena.reservations"})
    EXPECT_TRUE(j.at("stats").at(k).is_number_unsigned()) << k;
  EXPECT_TRUE(j.at("seamcalls").is_array());
  EXPECT_TRUE(j.at("arena").at("reserved_bytes").is_number_unsigned());
  EXPECT_TRUE(j.at("phases").is_array());
  EXPECT_TRUE(j.at("invariants").at("checks").is_number_unsigned());
  EXPECT_TRUE(j.at("invariants").at("violations").is_array());
  for (const auto& e : j.at("expectations")) {
    EXPECT_TRUE(e.at("what").is_string());
    EXPECT_TRUE(e.at("ok").is_boolean());
    EXPECT_TRUE(e.at("line").is_number());
  }
  ASSERT_EQ(j.at("memory").size(), 1u);
  const auto& slot = j.at("memory")[0];
  EXPECT_EQ(slot.at("guest_memfd"), "ram");
  uint64_t covered = 0;
  for (const auto& seg : slot.at("segments")) {
    EXPECT_EQ(seg.at("gpa").get<uint64_t>(), slot.at("gpa").get<uint64_t>() + covered);
    covered += seg.at("size").get<uint64_t>();
    EXPECT_TRUE(seg.at("private").is_boolean());
    EXPECT_TRUE(seg.at("folio").is_string());
    EXPECT_TRUE(seg.at("mapping").is_string());
    EXPECT_TRUE(seg.at("poisoned").is_boolean());
    EXPECT_TRUE(seg.at("punched").is_boolean());
  }
  EXPECT_EQ(covered, slot.at("size").get<uint64_t>());
}

}  // namespace
}  // namespace cocomem::cli
