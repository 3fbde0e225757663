// KVM module parameters. Set with ccm_set_param(); a VM copies them when it is created,
// so a change applies to VMs created later (the kernel's 0444 params need a reload).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace cocomem::kvm {

struct Params {
  // [CONV-v8] PRIVATE lives in each guest_memfd (KVM_SET_MEMORY_ATTRIBUTES2) instead of
  // the VM-level attribute array. Default on, as in the series.
  bool gmem_in_place_conversion = true;

  // ENOENT for an unknown name, EINVAL for a value kstrtobool rejects.
  Status Set(std::string_view name, std::string_view value);
  // name=value pairs, for reports.
  std::vector<std::pair<std::string, std::string>> List() const;
};

// The kernel's kstrtobool: first char y/Y/t/T/1 -> true, n/N/f/F/0 -> false, "on"/"off".
Result<bool> ParseKernelBool(std::string_view value);

}  // namespace cocomem::kvm
