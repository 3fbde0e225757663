// Pictures of the final guest physical address space (`--svg FILE`, `--html FILE`): per
// memslot, one lane each for shared/private, folio size (poisoned and punched pages
// marked), TDP mapping level and, for TDs, the S-EPT state; an axis in GiB/MiB/KiB and a
// legend. The HTML page is self-contained (inline SVG, CSS and script; no network) and
// shows the details of a range on hover.
#pragma once

#include <string>

#include "cli/run_result.h"

namespace cocomem::cli {

std::string MemorySvg(const RunResult& r);
std::string MemoryHtml(const RunResult& r);

}  // namespace cocomem::cli
