#include "gmem/gmem_file.h"

#include <cocomem/kvm.h>
#include <linux/falloc.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "base/user_copy.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25  // glibc 2.36 lacks it
#endif

namespace cocomem::gmem {

Result<std::shared_ptr<GmemFile>> GmemFile::Create(host::Arena& arena, const VmTraits& traits,
                                                   std::shared_ptr<void> vm_ref,
                                                   uintptr_t user_arg) {
  kvm_create_guest_memfd args;
  RETURN_IF_ERROR(CopyFromUser(&args, user_arg));
  if (args.flags & ~traits.supported_flags) return Error(EINVAL);
  // size is a loff_t to the kernel: "negative" sizes are rejected as <= 0.
  if (static_cast<int64_t>(args.size) <= 0 || !IsPageAligned(args.size)) return Error(EINVAL);
  // reserved[] is not validated (mainline); page_order lives in what used to be reserved.
  PageOrder order = PageOrder::k4K;
  if (args.flags & GUEST_MEMFD_FLAG_HUGETLB) {
    if (args.flags & GUEST_MEMFD_FLAG_INIT_SHARED) return Error(EINVAL);
    std::optional<PageOrder> o = PageOrderFromBits(args.page_order);
    if (!o || *o == PageOrder::k4K) return Error(EINVAL);
    if (args.size % BytesIn(*o) != 0) return Error(EINVAL);
    order = *o;
  } else if (args.page_order != 0) {
    return Error(EINVAL);
  }
  Inode::Config config{
      .size = args.size,
      .flags = args.flags,
      .order = order,
      .no_direct_map = (args.flags & GUEST_MEMFD_FLAG_NO_DIRECT_MAP) != 0,
      .initial = (args.flags & GUEST_MEMFD_FLAG_INIT_SHARED) ? MemAttr::kShared : MemAttr::kPrivate,
  };
  ASSIGN_OR_RETURN(std::shared_ptr<Inode> inode, Inode::Create(arena, config));
  return std::shared_ptr<GmemFile>(new GmemFile(std::move(inode), traits, std::move(vm_ref)));
}

GmemFile::~GmemFile() {
  // Last reference gone (fd closed, no mapping left): unbind from every VM.
  inode_->ReleaseListeners();
}

Result<long> GmemFile::Ioctl(unsigned long request, uintptr_t arg) {
  if (request == KVM_SET_MEMORY_ATTRIBUTES2 && traits_.in_place_conversion) {
    return SetMemoryAttributes2(arg);
  }
  return Error(ENOTTY);
}

Result<long> GmemFile::SetMemoryAttributes2(uintptr_t arg) {
  kvm_memory_attributes2 attrs;
  RETURN_IF_ERROR(CopyFromUser(&attrs, arg));
  if (attrs.flags != 0) return Error(EINVAL);
  if (attrs.error_offset != 0) return Error(EINVAL);
  for (uint64_t r : attrs.reserved) {
    if (r != 0) return Error(EINVAL);
  }
  if (!traits_.has_private_mem) return Error(EINVAL);
  if (attrs.attributes & ~traits_.supported_attributes) return Error(EINVAL);
  const uint64_t offset = attrs.offset, size = attrs.size;
  if (size == 0 || offset + size < offset) return Error(EINVAL);
  if (!IsPageAligned(offset) || !IsPageAligned(size)) return Error(EINVAL);
  if (offset >= inode_->size() || offset + size > inode_->size()) return Error(EINVAL);

  PgOff error_index;
  Status s = inode_->SetAttributes(PgOffOfByte(offset), PgOffOfByte(offset + size),
                                   AttrFromUapi(attrs.attributes), &error_index);
  if (s.ok()) return 0L;
  attrs.error_offset = ByteOf(error_index);
  RETURN_IF_ERROR(CopyToUser(arg, attrs));
  return Error(s.error());
}

Status GmemFile::Fallocate(int mode, off_t offset, off_t len) {
  if (!(mode & FALLOC_FL_KEEP_SIZE)) return Error(EOPNOTSUPP);
  if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) return Error(EOPNOTSUPP);
  // Huge files allocate and punch whole huge pages only (decision 3).
  const uint64_t granule = BytesIn(inode_->order());
  const auto off = static_cast<uint64_t>(offset), n = static_cast<uint64_t>(len);
  if (off % granule != 0 || n % granule != 0) return Error(EINVAL);
  if (mode & FALLOC_FL_PUNCH_HOLE) return inode_->Punch(PgOffOfByte(off), PgOffOfByte(off + n));
  if (off + n > inode_->size()) return Error(EINVAL);
  return inode_->Allocate(PgOffOfByte(off), PgOffOfByte(off + n));
}

Result<void*> GmemFile::Mmap(void* addr, size_t len, int prot, int flags, off_t offset) {
  if (offset < 0) return Error(EINVAL);
  return inode_->Mmap(addr, len, prot, flags, static_cast<uint64_t>(offset));
}

Status GmemFile::Stat(struct stat* st) const {
  RETURN_IF_ERROR(File::Stat(st));
  st->st_mode = S_IFREG | S_IRUSR | S_IWUSR;
  st->st_size = static_cast<off_t>(inode_->size());
  st->st_blksize = static_cast<blksize_t>(BytesIn(inode_->order()));
  st->st_blocks = static_cast<blkcnt_t>(inode_->present_pages() * (kPageSize / 512));
  // Distinct files have distinct inodes (the arena PFNs are unique per file).
  st->st_ino = static_cast<ino_t>(inode_->pfns().start.value() + 1);
  return Ok();
}

Status GmemFile::InjectMemoryFailure(off_t offset) {
  if (offset < 0 || !IsPageAligned(static_cast<uint64_t>(offset))) return Error(EINVAL);
  return inode_->InjectMemoryFailure(PgOffOfByte(static_cast<uint64_t>(offset)));
}

void GmemFile::Munmap(void* addr, size_t len) { inode_->Munmap(static_cast<std::byte*>(addr), len); }

std::optional<PgOff> GmemFile::PageAt(const void* addr) const { return inode_->PageAtAddress(addr); }

Status GmemFile::Madvise(void* addr, size_t len, int advice) {
  switch (advice) {
    case MADV_COLLAPSE:  // not a THP-eligible mapping
      return Error(EINVAL);
    case MADV_HWPOISON:
    case MADV_REMOVE: {
      for (size_t done = 0; done < len; done += kPageSize) {
        std::optional<PgOff> page = PageAt(static_cast<std::byte*>(addr) + done);
        if (!page) return Error(EFAULT);
        if (advice == MADV_HWPOISON) {
          // Pages past EOF SIGBUS when faulted in for the poisoning.
          if (page->value() >= inode_->npages()) return Error(EFAULT);
          RETURN_IF_ERROR(inode_->InjectMemoryFailure(*page));
        } else {
          RETURN_IF_ERROR(Fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                    static_cast<off_t>(ByteOf(*page)), kPageSize));
        }
      }
      return Ok();
    }
    default:
      if (madvise(addr, len, advice) != 0) return Error(errno);
      return Ok();
  }
}

Result<uint64_t> GmemFile::PinPage(void* addr) {
  std::optional<PgOff> page = PageAt(addr);
  if (!page) return Error(EFAULT);
  RETURN_IF_ERROR(inode_->Pin(*page));
  return page->value();
}

void GmemFile::UnpinPage(uint64_t token) { inode_->Unpin(PgOff(token)); }

}  // namespace cocomem::gmem
