// Folio: the metadata of one allocated unit of a guest_memfd (4K, 2M or 1G).
//
// A folio covers PFNs the file reserved at create; it owns no memory of its own. 8 bytes,
// the same for a 4K and a 1G folio.
#pragma once

#include <cstdint>

#include "base/memory_types.h"

namespace cocomem::gmem {

struct Folio {
  PageOrder order = PageOrder::k4K;
  // Zeroed once, on first touch (guest use, populate, or a host fault on the mmap). The
  // arena hands out punched pages, so the bytes already read zero: becoming uptodate is
  // a state change, never a memset, and page contents are never lost to it.
  bool uptodate = false;
  // Memory failure: the folio stays in the file, guest use fails with EHWPOISON, host
  // access raises SIGBUS, until it is punched.
  bool hwpoison = false;
  // Long-term pins (emulated FOLL_LONGTERM GUP) on the folio's pages.
  uint32_t pins = 0;
};
static_assert(sizeof(Folio) <= 8);

}  // namespace cocomem::gmem
