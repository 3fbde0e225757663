// SIGBUS for poisoned pages of host mappings, with the kernel's si_code.
//
// A poisoned page of a guest_memfd mapping is made inaccessible (a mapping past the end of
// an empty file), which the host kernel reports as SIGBUS/BUS_ADRERR. The kernel reports
// memory failure as BUS_MCEERR_AR, so when a page is poisoned a SIGBUS handler is put in
// front of whatever handler the program has at that moment: for a registered page it
// passes BUS_MCEERR_AR (si_addr_lsb = 12) on to that handler; everything else is passed on
// unchanged. A handler the program installs after the injection sees BUS_ADRERR.
#pragma once

#include <cstddef>

namespace cocomem::gmem {

void RegisterPoisonedPage(const void* page);
void UnregisterPoisonedRange(const void* start, size_t len);
// Puts the chaining handler in front of the current SIGBUS handler (idempotent).
void InstallMceSigbusHandler();

}  // namespace cocomem::gmem
