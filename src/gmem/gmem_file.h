// GmemFile: a guest_memfd file descriptor (struct gmem_file + kvm_gmem_fops): one VM's
// view of an Inode. It holds a reference on its VM, so closing the VM fd first leaves the
// guest_memfd usable.
#pragma once

#include <memory>

#include "base/file.h"
#include "gmem/inode.h"
#include "gmem/vm_traits.h"
#include "host/arena.h"

namespace cocomem::gmem {

class GmemFile final : public File {
 public:
  // KVM_CREATE_GUEST_MEMFD with the struct at `user_arg`, with every check of the kernel
  // in its order (EFAULT, EINVAL) and ENOMEM when the arena cannot reserve the memory.
  static Result<std::shared_ptr<GmemFile>> Create(host::Arena& arena, const VmTraits& traits,
                                                  std::shared_ptr<void> vm_ref,
                                                  uintptr_t user_arg);

  std::string_view name() const override { return "[kvm-gmem]"; }
  Result<long> Ioctl(unsigned long request, uintptr_t arg) override;
  Status Fallocate(int mode, off_t offset, off_t len) override;
  Result<void*> Mmap(void* addr, size_t len, int prot, int flags, off_t offset) override;
  // S_IFREG|0600, the file size, and the file's page size as the block size.
  Status Stat(struct stat* st) const override;
  Status InjectMemoryFailure(off_t offset) override;
  void Munmap(void* addr, size_t len) override;
  Status Madvise(void* addr, size_t len, int advice) override;
  Result<uint64_t> PinPage(void* addr) override;
  void UnpinPage(uint64_t token) override;

  ~GmemFile() override;

  Inode& inode() const { return *inode_; }
  // The VM this file belongs to (kvm_gmem_bind refuses other VMs' files).
  const void* vm() const { return vm_ref_.get(); }
  const std::shared_ptr<Inode>& shared_inode() const { return inode_; }
  const VmTraits& traits() const { return traits_; }

 private:
  GmemFile(std::shared_ptr<Inode> inode, const VmTraits& traits, std::shared_ptr<void> vm_ref)
      : inode_(std::move(inode)), traits_(traits), vm_ref_(std::move(vm_ref)) {}
  Result<long> SetMemoryAttributes2(uintptr_t arg);
  // The file page a host address of one of our mappings shows; nullopt outside them.
  std::optional<PgOff> PageAt(const void* addr) const;

  const std::shared_ptr<Inode> inode_;
  const VmTraits traits_;
  const std::shared_ptr<void> vm_ref_;  // kvm_get_kvm(): the VM lives as long as we do
};

}  // namespace cocomem::gmem
