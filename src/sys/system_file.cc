#include "sys/system_file.h"

#include <cocomem/kvm.h>
#include <sys/sysmacros.h>

#include "kvm/vcpu.h"
#include "sys/vm_file.h"

namespace cocomem::sys {

Result<long> SystemFile::Ioctl(unsigned long request, uintptr_t arg) {
  switch (request) {
    case KVM_GET_API_VERSION:
      if (arg != 0) return Error(EINVAL);
      return long{kvm::kApiVersion};
    case KVM_CHECK_EXTENSION:
      return kvm_->CheckExtension(static_cast<long>(arg));
    case KVM_CREATE_VM: {
      ASSIGN_OR_RETURN(auto vm, kvm_->CreateVm(arg));
      ASSIGN_OR_RETURN(int fd, fds_.Install(std::make_shared<VmFile>(std::move(vm), fds_),
                                            FdTable::CloseOnExec::kYes));
      return long{fd};
    }
    case KVM_GET_VCPU_MMAP_SIZE:
      if (arg != 0) return Error(EINVAL);
      return static_cast<long>(kvm::kVcpuMmapSize);
    default:
      // x86's kvm_arch_dev_ioctl answers unknown system ioctls with EINVAL, not ENOTTY.
      return Error(EINVAL);
  }
}

Status SystemFile::Stat(struct stat* st) const {
  RETURN_IF_ERROR(File::Stat(st));
  st->st_mode = S_IFCHR | S_IRUSR | S_IWUSR;
  st->st_rdev = makedev(10, 232);
  return Ok();
}

}  // namespace cocomem::sys
