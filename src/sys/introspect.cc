#include "sys/introspect.h"

#include "gmem/gmem_file.h"
#include "sys/emu_backend.h"
#include "sys/vm_file.h"

namespace cocomem::sys {
namespace {

EmuBackend& Emu() {
  return static_cast<EmuBackend&>(GetBackend(BackendKind::kEmu));
}

}  // namespace

std::shared_ptr<const kvm::Vm> IntrospectVm(int vm_fd) {
  auto file = Emu().fds().GetAs<VmFile>(vm_fd);
  if (!file) return nullptr;
  const kvm::Vm* vm = &file->vm();
  return std::shared_ptr<const kvm::Vm>(std::move(file), vm);  // the file keeps the VM alive
}

std::shared_ptr<const gmem::Inode> IntrospectGmem(int gmem_fd) {
  auto file = Emu().fds().GetAs<gmem::GmemFile>(gmem_fd);
  if (!file) return nullptr;
  return file->shared_inode();
}

}  // namespace cocomem::sys
