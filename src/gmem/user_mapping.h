// Host mappings of a guest_memfd (mmap of the gmem fd), made of real mappings:
//
//   shared page    the arena's own page (MAP_SHARED of the arena memfd at the PFN), so the
//                  host and the guest see the same memory
//   private page,  a page past the end of an empty memfd: any access raises SIGBUS, as the
//   poisoned page, kernel's fault handler does (poisoned pages get BUS_MCEERR_AR, see
//   page past EOF  poison_signal.h)
//
// The inode rewrites the pages of every live mapping before a conversion to private or a
// poisoning commits, and after a conversion to shared.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/memory_types.h"
#include "base/result.h"

namespace cocomem::gmem {

struct UserMapping {
  std::byte* base = nullptr;  // page aligned
  uint64_t npages = 0;
  PgOff first;  // file page mapped at `base`
  int prot = 0;

  PgOff end() const { return first + npages; }
  std::byte* AddressOf(PgOff off) const { return base + ((off - first) << kPageShift); }
};

// The empty memfd whose pages SIGBUS (one per process).
int SigbusFd();

// Maps pages [start, end) of `m` (clipped to it) onto the arena at `arena_offset_of_first`
// + page index, or onto the SIGBUS file.
Status MapShared(const UserMapping& m, PgOff start, PgOff end, int arena_fd,
                 uint64_t arena_byte_offset_of_page0);
Status MapSigbus(const UserMapping& m, PgOff start, PgOff end);

}  // namespace cocomem::gmem
