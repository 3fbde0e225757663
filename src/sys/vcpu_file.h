// VcpuFile: a vCPU fd (kvm_vcpu_ioctl + the mmap of struct kvm_run).
#pragma once

#include <memory>

#include "base/file.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"

namespace cocomem::sys {

class VcpuFile final : public File {
 public:
  VcpuFile(std::shared_ptr<kvm::Vm> vm, kvm::Vcpu* vcpu) : vm_(std::move(vm)), vcpu_(vcpu) {}

  std::string_view name() const override { return "kvm-vcpu"; }
  Result<long> Ioctl(unsigned long request, uintptr_t arg) override;
  // The run area: up to KVM_GET_VCPU_MMAP_SIZE bytes from offset 0.
  Result<void*> Mmap(void* addr, size_t len, int prot, int flags, off_t offset) override;
  kvm::Vcpu& vcpu() const { return *vcpu_; }

 private:
  const std::shared_ptr<kvm::Vm> vm_;  // the fd keeps the VM (and so the vCPU) alive
  kvm::Vcpu* const vcpu_;
};

}  // namespace cocomem::sys
