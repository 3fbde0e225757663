// The `cocomem` command.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/caps.h"
#include "sys/backend.h"

int main(int argc, char** argv) {
  CLI::App app{"cocomem: confidential-VM guest memory (guest_memfd, KVM, TDX) in userspace"};
  app.require_subcommand(1);

  bool caps_json = false;
  CLI::App* caps = app.add_subcommand(
      "caps", "Capabilities of the emulator and of this machine's /dev/kvm, side by side");
  caps->add_flag("--json", caps_json, "Print JSON instead of a table");

  CLI11_PARSE(app, argc, argv);

  if (*caps) {
    using cocomem::sys::BackendKind;
    using cocomem::sys::GetBackend;
    auto emu = cocomem::cli::CollectCaps(GetBackend(BackendKind::kEmu));
    auto host = cocomem::cli::CollectCaps(GetBackend(BackendKind::kHost));
    std::fputs((caps_json ? cocomem::cli::CapsJson(emu, host) : cocomem::cli::FormatCaps(emu, host)).c_str(),
               stdout);
    return 0;
  }
  return 0;
}
