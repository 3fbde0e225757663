// HostEnv: the VMM side of a run — the VM fd, the guest_memfd fds and their mmaps — and
// the host actions a scenario asks for (convert, punch, allocate, pin, unpin, poison,
// close, write, verify), all done through the C facade as a VMM does them.
//
// Not thread-safe: the runner serializes every use (vCPU host threads take its lock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/scenario.h"

namespace cocomem::gmem {
class Inode;
}

namespace cocomem::cli {

struct GmemHandle {
  const GmemSpec* spec = nullptr;
  int fd = -1;
  std::byte* map = nullptr;  // whole-file MAP_SHARED mapping when the file has MMAP
  // Kept for reports (stats, memory map) even after the VMM closes the fd.
  std::shared_ptr<const gmem::Inode> inode;
  std::vector<bool> punched;  // per page: freed by a punch and not allocated since
  bool closed = false;
};

// The exit a host action was triggered by (for `gpa: exit`).
struct ExitRange {
  uint64_t gpa = 0, size = 0;
};

// A resolved range of one guest_memfd.
struct FileRange {
  GmemHandle* gmem = nullptr;
  uint64_t offset = 0, size = 0;
  uint64_t gpa = 0;  // a GPA mapping `offset` (0 if no memslot does)
  bool has_gpa = false;
};

class HostEnv {
 public:
  explicit HostEnv(const Scenario& s) : s_(s) {}
  ~HostEnv();  // closes whatever is still open
  HostEnv(const HostEnv&) = delete;
  HostEnv& operator=(const HostEnv&) = delete;

  int kvm_fd = -1, vm_fd = -1;
  std::map<std::string, GmemHandle> gmems;
  std::vector<std::byte*> anon_maps;  // memslots without guest_memfd
  std::vector<size_t> anon_sizes;

  // The file range behind a scenario range; nullopt (with *error) if it does not resolve.
  std::optional<FileRange> Resolve(const HostRange& r, const ExitRange* exit, std::string* error);
  // The file range behind [gpa, gpa + size) through the scenario's memslots.
  std::optional<FileRange> ResolveGpa(uint64_t gpa, uint64_t size);

  // KVM_SET_MEMORY_ATTRIBUTES2 on the file (in-place conversion) or KVM_SET_MEMORY_ATTRIBUTES
  // on the VM. 0 or an errno.
  int Convert(const FileRange& r, bool to_private);

  // Performs `a`; returns an empty string on success (or when it failed with the errno
  // it expected), else what went wrong. *log gets one line about what was done.
  std::string Do(const HostAction& a, const ExitRange* exit, std::string* log);

  // Verifies the bytes of `r` through the mmap against `p`; an empty string if they match.
  std::string VerifyThroughMmap(const FileRange& r, const Pattern& p);

 private:
  // Refuses host accesses that would SIGBUS (private or poisoned pages): an error or "".
  std::string CheckHostAccessible(const FileRange& r);
  void MarkPunched(GmemHandle& g, uint64_t offset, uint64_t size, bool punched);

  const Scenario& s_;
};

std::string ErrnoName(int e);  // "EAGAIN"

}  // namespace cocomem::cli
