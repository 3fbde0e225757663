#include "sys/vm_file.h"

#include <cocomem/kvm.h>

#include "base/process.h"

namespace cocomem::sys {

Result<long> VmFile::Ioctl(unsigned long request, uintptr_t arg) {
  // kvm_vm_ioctl: only the creating process may drive the VM.
  if (CurrentPid() != vm_->creator_pid()) return Error(EIO);
  switch (request) {
    case KVM_CHECK_EXTENSION:
      return vm_->CheckExtension(static_cast<long>(arg));
    default:
      return Error(ENOTTY);
  }
}

}  // namespace cocomem::sys
