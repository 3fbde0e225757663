// Introspection: read-only access from an emulated fd to the object behind it, for
// reports, memory-map pictures and invariant checks (`cocomem run`). A VMM never needs
// this; everything it does goes through the C facade.
//
// The returned references keep the object alive (like holding the fd open) but give no
// way to change it beyond what the object's const/inspection methods allow. nullptr when
// the fd is not an emulated object of that kind (or the emulator is not the backend).
#pragma once

#include <memory>

namespace cocomem::kvm {
class Vm;
}
namespace cocomem::gmem {
class Inode;
}

namespace cocomem::sys {

// The VM behind a VM fd.
std::shared_ptr<const kvm::Vm> IntrospectVm(int vm_fd);
// The guest_memfd inode behind a guest_memfd fd.
std::shared_ptr<const gmem::Inode> IntrospectGmem(int gmem_fd);

}  // namespace cocomem::sys
