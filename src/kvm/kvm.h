// Kvm: the emulated host — its physical memory arena, module parameters and the VMs
// created from it (the object behind every /dev/kvm fd).
#pragma once

#include <memory>
#include <string_view>

#include "base/mutex.h"
#include "base/result.h"
#include "base/stats.h"
#include "host/arena.h"
#include "kvm/params.h"
#include "kvm/tdx/tdx_host.h"
#include "kvm/vm.h"

namespace cocomem::kvm {

inline constexpr int kApiVersion = 12;

class Kvm : public std::enable_shared_from_this<Kvm> {
 public:
  static Result<std::shared_ptr<Kvm>> Create(const host::ArenaOptions& arena_options);
  Kvm(const Kvm&) = delete;
  Kvm& operator=(const Kvm&) = delete;

  host::Arena& arena() const { return *arena_; }

  Status SetParam(std::string_view name, std::string_view value) EXCLUDES(mu_);
  Params params() const EXCLUDES(mu_);

  // EINVAL for a type the emulator does not implement (KVM_CAP_VM_TYPES).
  Result<std::shared_ptr<Vm>> CreateVm(unsigned long type) EXCLUDES(mu_);
  long CheckExtension(long cap) const EXCLUDES(mu_);

  // The host's TDX state (the module over the arena), set up on first use.
  Result<tdx::TdxHost*> tdx_host() EXCLUDES(mu_);

  const StatsGroup& stats() const { return stats_; }

 private:
  explicit Kvm(std::unique_ptr<host::Arena> arena) : arena_(std::move(arena)) {}

  const std::unique_ptr<host::Arena> arena_;
  mutable Mutex mu_;
  Params params_ GUARDED_BY(mu_);
  std::unique_ptr<tdx::TdxHost> tdx_host_ GUARDED_BY(mu_);

  StatsGroup stats_{"kvm"};
  Counter vms_created_{stats_, "vms_created", "VMs created"};
};

}  // namespace cocomem::kvm
