// The current process id, cached per process (refreshed in the child after fork).
//
// KVM refuses VM and vCPU ioctls from a process other than the VM's creator (EIO); the
// check sits on the KVM_RUN path, so it must not cost a syscall.
#pragma once

#include <sys/types.h>

namespace cocomem {

pid_t CurrentPid();

}  // namespace cocomem
