// ScenarioValidator: what a well-formed scenario must also mean. Sizes in range,
// addresses aligned, every range inside a memslot or guest_memfd, TDX-only features only on
// TDX VMs, names that resolve, sync values that some vCPU produces.
#pragma once

#include <vector>

#include "cli/scenario.h"

namespace cocomem::cli {

// Largest guest_memfd a scenario may declare (the emulator's default arena is 1 TiB).
inline constexpr uint64_t kMaxGmemSize = uint64_t{1} << 40;
// TDX with GPAW 48: the shared bit.
inline constexpr uint64_t kTdxSharedBit = uint64_t{1} << 47;

// Every problem, in file order (empty: valid). Also fills in defaults (name, vm.vcpus).
std::vector<Diagnostic> ValidateScenario(Scenario& s);

}  // namespace cocomem::cli
