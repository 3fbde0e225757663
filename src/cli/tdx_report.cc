#include "cli/tdx_report.h"

#include <fmt/format.h>

#include "kvm/tdx/tdx_vm.h"
#include "kvm/vm.h"
#include "tdx/module/status.h"
#include "tdx/module/tdx_module.h"

namespace cocomem::cli {

uint64_t TdxSharedGpaMask(const kvm::Vm* vm) {
  if (vm == nullptr || vm->tdx() == nullptr) return 0;
  return vm->tdx()->shared_gpa_mask();
}

void CollectSeptLeaves(const kvm::Vm& vm, std::map<uint64_t, uint8_t>* by_gfn,
                       std::vector<std::string>* names) {
  const kvm::tdx::TdxVm* td = vm.tdx();
  if (td == nullptr || td->state() == kvm::tdx::TdState::kUninitialized) return;
  std::map<std::string, uint8_t> index;
  td->module().ForEachSeptEntry(td->tdr(), [&](const tdx::SeptEntryInfo& e) {
    using S = tdx::SeptState;
    if (e.state == S::kFree || e.state == S::kNlMapped || e.state == S::kNlBlocked) return;
    if (e.level > tdx::kLvl1G) return;
    const std::string name = tdx::SeptStateName(e.state);
    auto [it, inserted] = index.emplace(name, static_cast<uint8_t>(names->size() + 1));
    if (inserted) names->push_back(name);
    const uint64_t pages = uint64_t{1} << (9 * e.level);
    for (uint64_t i = 0; i < pages; ++i) (*by_gfn)[(e.gpa >> 12) + i] = it->second;
  });
}

std::vector<std::pair<std::string, uint64_t>> TdxStats(const kvm::Vm& vm) {
  std::vector<std::pair<std::string, uint64_t>> out;
  if (const kvm::tdx::TdxVm* td = vm.tdx()) {
    for (const auto& e : td->stats().Snapshot()) out.emplace_back(e.name, e.value);
  }
  return out;
}

std::vector<SeamcallCount> TdxSeamcalls(const kvm::Vm& vm) {
  std::vector<SeamcallCount> out;
  const kvm::tdx::TdxVm* td = vm.tdx();
  if (td == nullptr) return out;
  for (const auto& [leaf, status, count] : td->module().SeamcallCounts()) {
    const char* sn = tdx::StatusName(status);
    out.push_back({tdx::LeafName(leaf), sn ? sn : fmt::format("{:#018x}", status), count});
  }
  return out;
}

std::optional<std::string> TdxModuleMrtd(const kvm::Vm& vm) {
  const kvm::tdx::TdxVm* td = vm.tdx();
  if (td == nullptr || td->state() != kvm::tdx::TdState::kRunnable) return std::nullopt;
  auto mrtd = td->module().Mrtd(td->tdr());
  if (!mrtd) return std::nullopt;
  std::string hex;
  for (uint8_t b : *mrtd) hex += fmt::format("{:02x}", b);
  return hex;
}

std::vector<std::string> TdxInvariants(const kvm::Vm& vm) {
  const kvm::tdx::TdxVm* td = vm.tdx();
  if (td == nullptr || td->state() == kvm::tdx::TdState::kUninitialized) return {};
  return td->CheckInvariants();
}

}  // namespace cocomem::cli
