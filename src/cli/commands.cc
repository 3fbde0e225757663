#include "cli/commands.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <variant>

#include "cli/chrome_trace.h"
#include "cli/guest_program.h"
#include "cli/measure.h"
#include "cli/memory_picture.h"
#include "cli/progress.h"
#include "cli/report_json.h"
#include "cli/report_text.h"
#include "cli/runner.h"
#include "cli/scenario_parser.h"
#include "cli/scenario_validator.h"

namespace cocomem::cli {
namespace {

// Parses and validates; prints every problem as file:line:column: message.
std::unique_ptr<Scenario> Load(const std::string& file) {
  auto parsed = ParseScenarioFile(file);
  if (auto* d = std::get_if<Diagnostic>(&parsed)) {
    std::fprintf(stderr, "%s\n", FormatDiagnostic(file, *d).c_str());
    return nullptr;
  }
  auto s = std::make_unique<Scenario>(std::move(std::get<Scenario>(parsed)));
  const auto diags = ValidateScenario(*s);
  for (const Diagnostic& d : diags) std::fprintf(stderr, "%s\n", FormatDiagnostic(file, d).c_str());
  if (!diags.empty()) return nullptr;
  return s;
}

bool WriteFile(const std::string& path, const std::string& text, const char* what) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) {
    std::fprintf(stderr, "cocomem: cannot write the %s to %s\n", what, path.c_str());
    return false;
  }
  return true;
}

}  // namespace

int CheckCommand(const std::string& file) {
  auto s = Load(file);
  if (!s) return kExitMalformed;
  uint64_t steps = 0;
  for (const auto& p : s->vcpus) steps += ProgramWork(p.steps);
  std::printf(
      "%s: ok: %s VM, %zu vCPU%s, %zu guest_memfd%s, %zu memslot%s, %zu image region%s, %zu host "
      "trigger%s, ~%llu guest operations\n",
      file.c_str(), VmKindName(s->vm.type), s->vcpus.size(), s->vcpus.size() == 1 ? "" : "s",
      s->gmems.size(), s->gmems.size() == 1 ? "" : "s", s->slots.size(),
      s->slots.size() == 1 ? "" : "s", s->image.size(), s->image.size() == 1 ? "" : "s",
      s->host.size(), s->host.size() == 1 ? "" : "s", static_cast<unsigned long long>(steps));
  return kExitOk;
}

int MeasureCommand(const std::string& file, bool json) {
  auto s = Load(file);
  if (!s) return kExitMalformed;
  const MeasureResult m = MeasureScenario(*s);
  if (!m.error.empty()) {
    std::fprintf(stderr, "%s: %s\n", file.c_str(), m.error.c_str());
    return kExitMalformed;
  }
  if (json) {
    nlohmann::json j = {{"scenario", s->name},
                        {"mrtd", m.mrtd},
                        {"pages_added", m.pages_added},
                        {"pages_measured", m.pages_measured}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s\n", m.mrtd.c_str());
    std::fprintf(stderr, "%s: %llu pages added, %llu measured\n", s->name.c_str(),
                 static_cast<unsigned long long>(m.pages_added),
                 static_cast<unsigned long long>(m.pages_measured));
  }
  if (s->expect.mrtd && *s->expect.mrtd != m.mrtd) {
    std::fprintf(
        stderr,
        "%s:%d:%d: expect.mrtd differs from the measured image\n  expected %s\n  measured %s\n",
        file.c_str(), s->expect.mrtd_loc.line, s->expect.mrtd_loc.column, s->expect.mrtd->c_str(),
        m.mrtd.c_str());
    return kExitFailed;
  }
  return kExitOk;
}

int RunCommand(const RunCommandOptions& o) {
  auto s = Load(o.file);
  if (!s) return kExitMalformed;
  if (!UseEmulatorBackend()) {
    std::fprintf(stderr, "cocomem: the emulator backend could not be selected\n");
    return kExitFailed;
  }
  std::unique_ptr<ChromeTraceSink> sink;
  if (!o.trace.empty()) sink = std::make_unique<ChromeTraceSink>();
  RunResult r;
  {
    Progress progress(o.progress && isatty(2) == 1, s->name);
    RunOptions ro;
    ro.progress = &progress;
    ro.trace = sink.get();
    r = RunScenario(*s, ro);
  }
  bool ok = true;
  if (sink)
    ok &= sink->Write(o.trace) ||
          (std::fprintf(stderr, "cocomem: cannot write the trace to %s\n", o.trace.c_str()), false);
  if (!o.json.empty()) ok &= WriteFile(o.json, RunJson(r).dump(2) + "\n", "JSON report");
  if (!o.svg.empty()) ok &= WriteFile(o.svg, MemorySvg(r), "SVG picture");
  if (!o.html.empty()) ok &= WriteFile(o.html, MemoryHtml(r), "HTML page");
  const std::string report = FormatReport(r, o.stable ? ReportStyle::kStable : ReportStyle::kFull);
  if (!o.quiet) {
    std::fputs(report.c_str(), stdout);
  } else if (!r.ok()) {
    std::fputs(report.c_str(), stderr);
  }
  std::fflush(stdout);
  if (!r.ok()) {
    for (const auto& e : r.expectations) {
      if (!e.ok) {
        const std::string where =
            e.loc.line ? fmt::format("{}:{}:{}", o.file, e.loc.line, e.loc.column) : o.file;
        std::fprintf(stderr, "%s: expectation failed: %s%s%s\n", where.c_str(), e.what.c_str(),
                     e.detail.empty() ? "" : ": ", e.detail.c_str());
      }
    }
    if (!r.errors.empty() || !r.guest_failures.empty())
      std::fprintf(stderr, "%s: the run failed (%zu errors, %zu guest failures)\n", o.file.c_str(),
                   r.errors.size(), r.guest_failures.size());
    return kExitFailed;
  }
  return ok ? kExitOk : kExitFailed;
}

}  // namespace cocomem::cli
