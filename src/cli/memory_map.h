// MemoryMap: the final picture of guest physical memory, per memslot, as runs of alike
// 4K pages: shared/private (the guest_memfd attribute), folio size, the TDP leaf mapping
// the page, poisoned and punched pages and, for TDs, the S-EPT state. Read through
// sys/introspect (inspection only; nothing is changed).
#pragma once

#include <vector>

#include "cli/host_env.h"
#include "cli/run_result.h"
#include "cli/scenario.h"

namespace cocomem::cli {

std::vector<SlotMap> BuildMemoryMap(const Scenario& s, HostEnv& env);

}  // namespace cocomem::cli
