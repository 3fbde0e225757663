#include "sys/vm_file.h"

#include <cocomem/kvm.h>

#include "base/process.h"
#include "gmem/gmem_file.h"
#include "kvm/kvm.h"

namespace cocomem::sys {

Result<long> VmFile::Ioctl(unsigned long request, uintptr_t arg) {
  // kvm_vm_ioctl: only the creating process may drive the VM.
  if (CurrentPid() != vm_->creator_pid()) return Error(EIO);
  switch (request) {
    case KVM_CHECK_EXTENSION:
      return vm_->CheckExtension(static_cast<long>(arg));
    case KVM_CREATE_GUEST_MEMFD: {
      ASSIGN_OR_RETURN(auto file, gmem::GmemFile::Create(vm_->kvm().arena(), vm_->GmemTraits(),
                                                         vm_, arg));
      // get_unused_fd_flags(0): a guest_memfd is not close-on-exec.
      ASSIGN_OR_RETURN(int fd, fds_.Install(std::move(file), FdTable::CloseOnExec::kNo));
      return long{fd};
    }
    default:
      return Error(ENOTTY);
  }
}

}  // namespace cocomem::sys
