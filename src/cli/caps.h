// `cocomem caps`: the capabilities of the emulator and of the running kernel's /dev/kvm,
// side by side.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sys/backend.h"

namespace cocomem::cli {

// What one backend reports. Fields are empty when /dev/kvm could not be opened.
struct CapsReport {
  std::string backend;      // "emulator" / "host kernel 6.18.44"
  std::string unavailable;  // why /dev/kvm could not be used; empty if it could
  std::optional<int> api_version;
  // (capability name, value) in display order, system-wide (KVM_CHECK_EXTENSION on /dev/kvm).
  std::vector<std::pair<std::string, std::string>> system;
  // Per VM type: (row name, value); "-" for VM types the backend cannot create.
  std::vector<std::pair<std::string, std::string>> per_vm;
  std::vector<std::pair<std::string, std::string>> notes;  // arena, params, ...
};

CapsReport CollectCaps(sys::Backend& backend);
// The side-by-side table.
std::string FormatCaps(const CapsReport& emu, const CapsReport& host);
std::string CapsJson(const CapsReport& emu, const CapsReport& host);

}  // namespace cocomem::cli
