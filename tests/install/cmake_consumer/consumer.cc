// A C++ program found cocomem with find_package(cocomem).
#include <cocomem/cocomem.hpp>
#include <fcntl.h>

int main() {
  cocomem::UniqueFd kvm(ccm_open("/dev/kvm", O_RDWR));
  if (!kvm.valid()) return 1;
  return ccm_ioctl(kvm.get(), KVM_GET_API_VERSION, 0) == KVM_API_VERSION ? 0 : 2;
}
