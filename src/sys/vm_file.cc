#include "sys/vm_file.h"

#include <cocomem/kvm.h>

#include <fcntl.h>

#include "base/process.h"
#include "base/user_copy.h"
#include "gmem/gmem_file.h"
#include "kvm/kvm.h"
#include "kvm/tdx/tdx_vm.h"
#include "sys/vcpu_file.h"

namespace cocomem::sys {

Result<long> VmFile::Ioctl(unsigned long request, uintptr_t arg) {
  // kvm_vm_ioctl: only the creating process may drive the VM.
  if (CurrentPid() != vm_->creator_pid()) return Error(EIO);
  if (vm_->dead()) return Error(EIO);  // kvm->vm_dead
  switch (request) {
    case KVM_MEMORY_ENCRYPT_OP: {
      // x86: ENOTTY without a confidential-computing backend for this VM type.
      kvm::tdx::TdxVm* td = vm_->tdx();
      if (!td) return Error(ENOTTY);
      kvm_tdx_cmd cmd;
      RETURN_IF_ERROR(CopyFromUser(&cmd, arg));
      const Status s = td->VmIoctl(cmd);
      RETURN_IF_ERROR(CopyToUser(arg, cmd));  // hw_error goes back either way
      RETURN_IF_ERROR(s);
      return 0L;
    }
    case KVM_CHECK_EXTENSION:
      return vm_->CheckExtension(static_cast<long>(arg));
    case KVM_SET_USER_MEMORY_REGION:
    case KVM_SET_USER_MEMORY_REGION2: {
      const bool v2 = request == KVM_SET_USER_MEMORY_REGION2;
      kvm_userspace_memory_region2 mem{};
      RETURN_IF_ERROR(CopyFromUser(&mem, arg, v2 ? sizeof(kvm_userspace_memory_region2)
                                                 : sizeof(kvm_userspace_memory_region)));
      auto resolve = [this](int fd) -> Result<std::shared_ptr<gmem::GmemFile>> {
        std::shared_ptr<File> f = fds_.Get(fd);
        if (!f) return Error(fcntl(fd, F_GETFD) < 0 ? EBADF : EINVAL);
        auto g = std::dynamic_pointer_cast<gmem::GmemFile>(f);
        if (!g) return Error(EINVAL);
        return g;
      };
      RETURN_IF_ERROR(vm_->SetUserMemoryRegion(mem, v2, resolve));
      return 0L;
    }
    case KVM_SET_MEMORY_ATTRIBUTES: {
      kvm_memory_attributes attrs;
      RETURN_IF_ERROR(CopyFromUser(&attrs, arg));
      RETURN_IF_ERROR(vm_->SetMemoryAttributes(attrs));
      return 0L;
    }
    case KVM_CREATE_VCPU: {
      ASSIGN_OR_RETURN(kvm::Vcpu * vcpu, vm_->CreateVcpu(arg));
      ASSIGN_OR_RETURN(int fd, fds_.Install(std::make_shared<VcpuFile>(vm_, vcpu),
                                            FdTable::CloseOnExec::kYes));
      return long{fd};
    }
    case KVM_ENABLE_CAP: {
      kvm_enable_cap cap;
      RETURN_IF_ERROR(CopyFromUser(&cap, arg));
      RETURN_IF_ERROR(vm_->EnableCap(cap.cap, cap.flags, cap.args[0]));
      return 0L;
    }
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
