#include "cli/host_env.h"

#include <cocomem/kvm.h>
#include <cocomem/sys.h>
#include <fmt/format.h>
#include <linux/falloc.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "cli/pattern.h"
#include "gmem/inode.h"

namespace cocomem::cli {

namespace {
constexpr uint64_t k4K = 4096;
}

std::string ErrnoName(int e) {
  switch (e) {
    case 0:
      return "0";
    case EAGAIN:
      return "EAGAIN";
    case EINVAL:
      return "EINVAL";
    case EFAULT:
      return "EFAULT";
    case ENOMEM:
      return "ENOMEM";
    case EBUSY:
      return "EBUSY";
    case EBADF:
      return "EBADF";
    case EIO:
      return "EIO";
    case ENODEV:
      return "ENODEV";
    case EPERM:
      return "EPERM";
    case ENOSPC:
      return "ENOSPC";
    case EHWPOISON:
      return "EHWPOISON";
    case EEXIST:
      return "EEXIST";
    case ENOENT:
      return "ENOENT";
    case EOPNOTSUPP:
      return "EOPNOTSUPP";
    case ENXIO:
      return "ENXIO";
    case EINTR:
      return "EINTR";
    default:
      return fmt::format("errno {}", e);
  }
}

HostEnv::~HostEnv() {
  for (auto& [name, g] : gmems) {
    if (g.map != nullptr) ccm_munmap(g.map, g.spec->size);
    if (!g.closed && g.fd >= 0) ccm_close(g.fd);
  }
  for (size_t i = 0; i < anon_maps.size(); ++i) munmap(anon_maps[i], anon_sizes[i]);
  if (vm_fd >= 0) ccm_close(vm_fd);
  if (kvm_fd >= 0) ccm_close(kvm_fd);
}

std::optional<FileRange> HostEnv::ResolveGpa(uint64_t gpa, uint64_t size) {
  const SlotSpec* sl = s_.SlotAt(gpa);
  if (sl == nullptr || sl->gmem.empty()) return std::nullopt;
  auto it = gmems.find(sl->gmem);
  if (it == gmems.end()) return std::nullopt;
  return FileRange{&it->second, sl->offset + (gpa - sl->gpa), size, gpa, true};
}

std::optional<FileRange> HostEnv::Resolve(const HostRange& r, const ExitRange* exit,
                                          std::string* error) {
  if (r.from_exit || r.gpa) {
    const uint64_t gpa = r.from_exit ? (exit ? exit->gpa : 0) : *r.gpa;
    const uint64_t size = r.from_exit ? (exit ? exit->size : k4K) : r.size;
    auto fr = ResolveGpa(gpa, size);
    if (!fr) *error = fmt::format("gpa {:#x} is not backed by a guest_memfd", gpa);
    return fr;
  }
  auto it = gmems.find(r.gmem);
  if (it == gmems.end()) {
    *error = fmt::format("no guest_memfd '{}'", r.gmem);
    return std::nullopt;
  }
  FileRange fr{&it->second, r.offset, r.size, 0, false};
  for (const SlotSpec& sl : s_.slots) {  // a GPA for VM-level attribute changes
    if (sl.gmem == r.gmem && r.offset >= sl.offset && r.offset < sl.offset + sl.size) {
      fr.gpa = sl.gpa + (r.offset - sl.offset);
      fr.has_gpa = true;
      break;
    }
  }
  return fr;
}

int HostEnv::Convert(const FileRange& r, bool to_private) {
  int rc;
  if (s_.vm.gmem_in_place_conversion) {
    kvm_memory_attributes2 a{};
    a.offset = r.offset;
    a.size = r.size;
    a.attributes = to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
    rc = ccm_ioctl(r.gmem->fd, KVM_SET_MEMORY_ATTRIBUTES2, &a);
  } else {
    if (!r.has_gpa) return EINVAL;
    kvm_memory_attributes a{};
    a.address = r.gpa;
    a.size = r.size;
    a.attributes = to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
    rc = ccm_ioctl(vm_fd, KVM_SET_MEMORY_ATTRIBUTES, &a);
  }
  return rc == 0 ? 0 : errno;
}

void HostEnv::MarkPunched(GmemHandle& g, uint64_t offset, uint64_t size, bool punched) {
  for (uint64_t p = offset / k4K; p < (offset + size) / k4K && p < g.punched.size(); ++p) {
    g.punched[p] = punched;
  }
}

std::string HostEnv::CheckHostAccessible(const FileRange& r) {
  if (r.gmem->map == nullptr)
    return fmt::format("guest_memfd '{}' is not mmapped", r.gmem->spec->name);
  const auto& inode = r.gmem->inode;
  if (!inode) return "";
  for (uint64_t p = r.offset / k4K; p < (r.offset + r.size + k4K - 1) / k4K; ++p) {
    if (inode->AttrAt(PgOff(p)) == gmem::MemAttr::kPrivate)
      return fmt::format("page at offset {:#x} of '{}' is private (a host access would SIGBUS)",
                         p * k4K, r.gmem->spec->name);
  }
  for (const auto& f : inode->Folios()) {
    const uint64_t start = f.start.value() * k4K, end = start + BytesIn(f.folio.order);
    if (f.folio.hwpoison && start < r.offset + r.size && r.offset < end)
      return fmt::format("page at offset {:#x} of '{}' is poisoned (a host access would SIGBUS)",
                         std::max(start, r.offset), r.gmem->spec->name);
  }
  return "";
}

std::string HostEnv::VerifyThroughMmap(const FileRange& r, const Pattern& p) {
  if (std::string e = CheckHostAccessible(r); !e.empty()) return e;
  uint8_t want = 0, got = 0;
  const uint64_t base = r.has_gpa ? r.gpa : r.offset;
  if (auto bad = FindMismatch(p, base, r.gmem->map + r.offset, r.size, &want, &got)) {
    return fmt::format("byte at {} {:#x} is {:#04x}, expected {:#04x} (pattern {})",
                       r.has_gpa ? "gpa" : "offset", *bad, got, want, PatternName(p));
  }
  return "";
}

std::string HostEnv::Do(const HostAction& a, const ExitRange* exit, std::string* log) {
  using K = HostAction::Kind;
  const char* name = HostActionName(a.kind);
  if (a.kind == K::kClose) {
    auto it = gmems.find(a.range.gmem);
    if (it == gmems.end() || it->second.closed)
      return fmt::format("close: '{}' is not open", a.range.gmem);
    GmemHandle& g = it->second;
    if (g.map != nullptr) {
      ccm_munmap(g.map, g.spec->size);
      g.map = nullptr;
    }
    const int rc = ccm_close(g.fd);
    g.closed = true;
    *log = fmt::format("close '{}'", g.spec->name);
    return rc == 0 ? "" : fmt::format("close '{}': {}", g.spec->name, std::strerror(errno));
  }
  std::string err;
  auto fr = Resolve(a.range, exit, &err);
  if (!fr) return fmt::format("{}: {}", name, err);
  if (fr->gmem->closed)
    return fmt::format("{}: guest_memfd '{}' was closed", name, fr->gmem->spec->name);
  const std::string where =
      fmt::format("'{}' [{:#x}, {:#x})", fr->gmem->spec->name, fr->offset, fr->offset + fr->size);
  int e = 0;
  switch (a.kind) {
    case K::kConvert:
      e = Convert(*fr, a.to_private);
      *log = fmt::format("convert {} to {}", where, a.to_private ? "private" : "shared");
      break;
    case K::kPunch:
      e = ccm_fallocate(fr->gmem->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                        static_cast<off_t>(fr->offset), static_cast<off_t>(fr->size)) == 0
              ? 0
              : errno;
      if (e == 0) MarkPunched(*fr->gmem, fr->offset, fr->size, true);
      *log = fmt::format("punch {}", where);
      break;
    case K::kAllocate:
      e = ccm_fallocate(fr->gmem->fd, 0, static_cast<off_t>(fr->offset),
                        static_cast<off_t>(fr->size)) == 0
              ? 0
              : errno;
      if (e == 0) MarkPunched(*fr->gmem, fr->offset, fr->size, false);
      *log = fmt::format("allocate {}", where);
      break;
    case K::kPin:
    case K::kUnpin: {
      if (fr->gmem->map == nullptr)
        return fmt::format("{}: '{}' is not mmapped", name, fr->gmem->spec->name);
      void* addr = fr->gmem->map + fr->offset;
      const int rc = a.kind == K::kPin ? ccm_pin_user_pages(addr, fr->size / k4K)
                                       : ccm_unpin_user_pages(addr, fr->size / k4K);
      e = rc == 0 ? 0 : errno;
      *log = fmt::format("{} {}", name, where);
      break;
    }
    case K::kPoison:
      e = ccm_inject_memory_failure(fr->gmem->fd, static_cast<off_t>(fr->offset)) == 0 ? 0 : errno;
      *log = fmt::format("poison '{}' offset {:#x}", fr->gmem->spec->name, fr->offset);
      break;
    case K::kWrite: {
      *log = fmt::format("write {} {} through the mmap", where, PatternName(*a.pattern));
      if (std::string bad = CheckHostAccessible(*fr); !bad.empty()) return "write: " + bad;
      FillPattern(*a.pattern, fr->has_gpa ? fr->gpa : fr->offset, fr->gmem->map + fr->offset,
                  fr->size);
      break;
    }
    case K::kVerify: {
      *log = fmt::format("verify {} {} through the mmap", where, PatternName(*a.pattern));
      if (std::string bad = VerifyThroughMmap(*fr, *a.pattern); !bad.empty())
        return "verify: " + bad;
      break;
    }
    case K::kClose:
    case K::kCheck:
      break;
  }
  const int want = a.expect_errno.value_or(0);
  if (e != want) {
    *log += fmt::format(": {}", ErrnoName(e));
    return fmt::format("{} {}: got {}, expected {}", name, where, e ? ErrnoName(e) : "success",
                       want ? ErrnoName(want) : "success");
  }
  if (e != 0) *log += fmt::format(": {} (expected)", ErrnoName(e));
  return "";
}

}  // namespace cocomem::cli
