// What the reports read from a TD: KVM's TDX stats, SEAMCALL counts, the MRTD the module
// holds, S-EPT leaf states and the TDX invariants. Inspection only. Everything answers
// "nothing" for VMs that are not TDs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/run_result.h"

namespace cocomem::kvm {
class Vm;
}

namespace cocomem::cli {

uint64_t TdxSharedGpaMask(const kvm::Vm* vm);
// S-EPT leaves spread to 4K GFNs: gfn -> index + 1 into *names.
void CollectSeptLeaves(const kvm::Vm& vm, std::map<uint64_t, uint8_t>* by_gfn,
                       std::vector<std::string>* names);
std::vector<std::pair<std::string, uint64_t>> TdxStats(const kvm::Vm& vm);
std::vector<SeamcallCount> TdxSeamcalls(const kvm::Vm& vm);
std::optional<std::string> TdxModuleMrtd(const kvm::Vm& vm);
std::vector<std::string> TdxInvariants(const kvm::Vm& vm);

}  // namespace cocomem::cli
