// MappingTable: which host address ranges are mappings of emulated files (ccm_mmap of a
// guest_memfd), so munmap, madvise, MAP_FIXED and pins on them reach the file. An entry
// holds the file, as a VMA holds its struct file: a mapping outlives ccm_close of the fd.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "base/file.h"
#include "base/mutex.h"

namespace cocomem::sys {

class MappingTable {
 public:
  struct Piece {
    uintptr_t start;
    uintptr_t end;
    std::shared_ptr<File> file;
  };

  void Add(uintptr_t start, uintptr_t end, std::shared_ptr<File> file) EXCLUDES(mu_);
  // Removes [start, end) from the table; the pieces that were emulated mappings.
  std::vector<Piece> Remove(uintptr_t start, uintptr_t end) EXCLUDES(mu_);
  // The emulated pieces overlapping [start, end), clipped; the table is unchanged.
  std::vector<Piece> Overlapping(uintptr_t start, uintptr_t end) const EXCLUDES(mu_);
  std::shared_ptr<File> Find(uintptr_t addr) const EXCLUDES(mu_);

 private:
  struct Entry {
    uintptr_t end;
    std::shared_ptr<File> file;
  };
  mutable Mutex mu_;
  std::map<uintptr_t, Entry> entries_ GUARDED_BY(mu_);  // start -> entry; disjoint
};

}  // namespace cocomem::sys
