#include "sys/vcpu_file.h"

#include <cocomem/kvm.h>
#include <sys/mman.h>

#include <cerrno>

#include "base/process.h"
#include "base/user_copy.h"
#include "kvm/tdx/tdx_vm.h"
#include "kvm/vm.h"

namespace cocomem::sys {

Result<long> VcpuFile::Ioctl(unsigned long request, uintptr_t arg) {
  if (CurrentPid() != vm_->creator_pid()) return Error(EIO);
  if (vm_->dead()) return Error(EIO);
  switch (request) {
    case KVM_MEMORY_ENCRYPT_OP: {
      kvm::tdx::TdxVm* td = vm_->tdx();
      if (!td) return Error(EINVAL);  // kvm_arch_vcpu_unlocked_ioctl without TDX
      kvm_tdx_cmd cmd;
      RETURN_IF_ERROR(CopyFromUser(&cmd, arg));
      const Status s = td->VcpuIoctl(*vcpu_, cmd);
      RETURN_IF_ERROR(CopyToUser(arg, cmd));
      RETURN_IF_ERROR(s);
      return 0L;
    }
    case KVM_RUN:
      if (arg != 0) return Error(EINVAL);
      RETURN_IF_ERROR(vcpu_->Run());
      return 0L;
    case CCM_VCPU_SET_GUEST: {
      ccm_vcpu_guest g;
      RETURN_IF_ERROR(CopyFromUser(&g, arg));
      if (g.fn == nullptr) return Error(EINVAL);
      RETURN_IF_ERROR(vcpu_->SetGuest(g.fn, g.arg));
      return 0L;
    }
    case KVM_PRE_FAULT_MEMORY: {
      kvm_pre_fault_memory range;
      RETURN_IF_ERROR(CopyFromUser(&range, arg));
      if (range.flags != 0) return Error(EINVAL);
      for (uint64_t p : range.padding) {
        if (p != 0) return Error(EINVAL);
      }
      if (!IsPageAligned(range.gpa) || !IsPageAligned(range.size) ||
          range.gpa + range.size <= range.gpa) {
        return Error(EINVAL);
      }
      uint64_t gpa = range.gpa, size = range.size;
      Status s = vcpu_->PreFault(&gpa, &size);
      range.gpa = gpa;
      range.size = size;
      RETURN_IF_ERROR(CopyToUser(arg, range));
      RETURN_IF_ERROR(s);
      return 0L;
    }
    default:
      // x86's kvm_arch_vcpu_ioctl answers unknown vCPU ioctls with EINVAL.
      return Error(EINVAL);
  }
}

Result<void*> VcpuFile::Mmap(void* addr, size_t len, int prot, int flags, off_t offset) {
  if (len == 0 || offset < 0 || static_cast<uint64_t>(offset) + len > kvm::kVcpuMmapSize) {
    return Error(EINVAL);
  }
  void* p = mmap(addr, len, prot, flags, vcpu_->run_fd(), offset);
  if (p == MAP_FAILED) return Error(errno);
  return p;
}

}  // namespace cocomem::sys
