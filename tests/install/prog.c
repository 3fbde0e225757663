/* A C program built against an installed libcocomem with pkg-config:
 *   cc prog.c $(pkg-config --cflags --libs cocomem)
 * It opens the emulated /dev/kvm, checks the API version and creates a VM. */
#include <cocomem/kvm.h>
#include <cocomem/sys.h>
#include <fcntl.h>
#include <stdio.h>

int main(void) {
  int kvm = ccm_open("/dev/kvm", O_RDWR);
  if (kvm < 0) {
    perror("ccm_open");
    return 1;
  }
  if (ccm_ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) return 2;
  int vm = ccm_ioctl(kvm, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);
  if (vm < 0) {
    perror("KVM_CREATE_VM");
    return 3;
  }
  printf("backend=%s vm_types=%#x\n", ccm_backend_name(),
         ccm_ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES));
  ccm_close(vm);
  ccm_close(kvm);
  return 0;
}
