// The `cocomem` command.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/caps.h"
#include "cli/commands.h"
#include "sys/backend.h"

int main(int argc, char** argv) {
  CLI::App app{"cocomem: confidential-VM guest memory (guest_memfd, KVM, TDX) in userspace"};
  app.require_subcommand(1);

  bool caps_json = false;
  CLI::App* caps = app.add_subcommand(
      "caps", "Capabilities of the emulator and of this machine's /dev/kvm, side by side");
  caps->add_flag("--json", caps_json, "Print JSON instead of a table");

  cocomem::cli::RunCommandOptions run_opts;
  bool no_progress = false;
  CLI::App* run = app.add_subcommand(
      "run",
      "Run a scenario (YAML) on the emulator and report; exit 1 if an expectation fails, "
      "2 if the scenario is malformed");
  run->add_option("FILE", run_opts.file, "Scenario file")->required();
  run->add_option("--json", run_opts.json, "Write the report as JSON to this file");
  run->add_option("--svg", run_opts.svg, "Write a picture of the guest physical memory (SVG)");
  run->add_option("--html", run_opts.html, "Write a self-contained HTML page with the picture");
  run->add_option("--trace", run_opts.trace,
                  "Write a Chrome trace-event JSON (Perfetto, chrome://tracing)");
  run->add_flag("--stable", run_opts.stable,
                "Omit timings and host-dependent numbers from the report");
  run->add_flag("-q,--quiet", run_opts.quiet,
                "Print the report only when the run fails (on stderr)");
  run->add_flag("--no-progress", no_progress, "Never draw the progress bar");

  std::string check_file;
  CLI::App* check = app.add_subcommand("check", "Parse and validate a scenario without running it");
  check->add_option("FILE", check_file, "Scenario file")->required();

  std::string measure_file;
  bool measure_json = false;
  CLI::App* measure = app.add_subcommand(
      "measure", "Print the MRTD a TD scenario's image would get, without running anything");
  measure->add_option("FILE", measure_file, "Scenario file (vm.type: tdx)")->required();
  measure->add_flag("--json", measure_json, "Print JSON");

  CLI11_PARSE(app, argc, argv);

  if (*caps) {
    using cocomem::sys::BackendKind;
    using cocomem::sys::GetBackend;
    auto emu = cocomem::cli::CollectCaps(GetBackend(BackendKind::kEmu));
    auto host = cocomem::cli::CollectCaps(GetBackend(BackendKind::kHost));
    std::fputs((caps_json ? cocomem::cli::CapsJson(emu, host) : cocomem::cli::FormatCaps(emu, host))
                   .c_str(),
               stdout);
    return 0;
  }
  if (*run) {
    run_opts.progress = !no_progress;
    return cocomem::cli::RunCommand(run_opts);
  }
  if (*check) return cocomem::cli::CheckCommand(check_file);
  if (*measure) return cocomem::cli::MeasureCommand(measure_file, measure_json);
  return 0;
}
