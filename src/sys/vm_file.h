// VmFile: a VM fd (kvm_vm_ioctl).
#pragma once

#include <memory>

#include "base/file.h"
#include "kvm/vm.h"
#include "sys/fd_table.h"

namespace cocomem::sys {

class VmFile final : public File {
 public:
  VmFile(std::shared_ptr<kvm::Vm> vm, FdTable& fds) : vm_(std::move(vm)), fds_(fds) {}

  std::string_view name() const override { return "kvm-vm"; }
  Result<long> Ioctl(unsigned long request, uintptr_t arg) override;
  kvm::Vm& vm() const { return *vm_; }

 private:
  const std::shared_ptr<kvm::Vm> vm_;
  FdTable& fds_;  // for fds the VM creates (guest_memfd, vCPUs)
};

}  // namespace cocomem::sys
