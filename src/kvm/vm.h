// Vm: one emulated virtual machine (the object behind a VM fd).
#pragma once

#include <sys/types.h>

#include <memory>

#include "gmem/vm_traits.h"
#include "kvm/params.h"
#include "kvm/vm_type.h"

namespace cocomem::kvm {

class Kvm;

class Vm {
 public:
  // Use Kvm::CreateVm.
  Vm(std::shared_ptr<Kvm> kvm, VmType type, const Params& params);
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  VmType type() const { return type_; }
  bool has_private_mem() const { return HasPrivateMem(type_); }
  // Module parameters as they were when the VM was created.
  const Params& params() const { return params_; }
  Kvm& kvm() const { return *kvm_; }
  // The creating process: VM ioctls from any other process fail with EIO, as in KVM.
  pid_t creator_pid() const { return creator_pid_; }

  long CheckExtension(long cap) const;
  // What guest_memfd files created on this VM may be (flags, conversions).
  gmem::VmTraits GmemTraits() const;

 private:
  const std::shared_ptr<Kvm> kvm_;  // a VM keeps its machine alive
  const VmType type_;
  const Params params_;
  const pid_t creator_pid_;
};

}  // namespace cocomem::kvm
