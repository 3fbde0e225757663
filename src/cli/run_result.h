// RunResult: everything one `cocomem run` learned — what ran, counters per layer, exits,
// invariant checks, expectations and the final memory map. The text report, the JSON,
// the SVG and the HTML are all views of this.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/scenario.h"

namespace cocomem::cli {

// One run of alike 4K pages of a memslot, as the final memory map shows them.
struct MemorySegment {
  uint64_t gpa = 0;     // first byte
  uint64_t size = 0;    // bytes
  uint64_t offset = 0;  // guest_memfd offset of the first byte
  bool is_private = false;
  std::string folio;    // "none", "4K", "2M", "1G"
  std::string mapping;  // TDP leaf: "none", "4K", "2M", "1G"
  bool poisoned = false;
  bool punched = false;
  std::string sept;  // TDX: S-EPT leaf state ("MAPPED", "PENDING", ...) or empty
  uint64_t pfn = 0;  // first PFN (0 when no folio)
};

struct SlotMap {
  uint32_t slot = 0;
  uint64_t gpa = 0, size = 0;
  std::string gmem;  // empty: anonymous memory
  uint64_t offset = 0;
  std::vector<MemorySegment> segments;
};

struct SeamcallCount {
  std::string leaf;    // "TDH.MEM.PAGE.AUG"
  std::string status;  // "TDX_SUCCESS" or the status class in hex
  uint64_t count = 0;
};

struct Violation {
  std::string when;  // "sync 3 (vcpu 0)", "end"
  std::string message;
};

struct ExpectationResult {
  std::string what;  // "mrtd", "exits.hwpoison", "data ram+0x0", ...
  bool ok = false;
  std::string detail;  // what differed
  SourceLoc loc;
};

struct PhaseTime {
  std::string name;  // "setup", "image", "finalize", "run", "checks"
  double ms = 0;
};

struct GuestCounters {
  uint64_t steps = 0;
  uint64_t bytes_written = 0, bytes_read = 0, bytes_verified = 0;
  uint64_t accepts = 0, map_gpa = 0, random_ops = 0, syncs = 0;
};

struct RunResult {
  std::string name, path, description;
  std::string vm_type;
  uint32_t vcpus = 0;
  std::string backend;             // "emu"
  std::vector<std::string> gmems;  // one line per guest_memfd ("ram 64M 2M mmap init_shared")

  std::optional<std::string> mrtd_guest;                // what TDG.MR.REPORT gave the guest
  std::optional<std::string> mrtd_module;               // what the TDX module holds
  std::map<std::string, uint64_t> exits;                // by ExitKindName
  std::vector<std::pair<std::string, uint64_t>> stats;  // "group.counter" (gmem summed)
  std::vector<SeamcallCount> seamcalls;
  uint64_t arena_reserved = 0, arena_committed = 0;
  GuestCounters guest;
  std::vector<PhaseTime> phases;

  uint64_t invariant_checks = 0;
  std::vector<Violation> violations;
  std::vector<std::string> errors;          // unexpected failures (setup, actions, vCPUs)
  std::vector<std::string> guest_failures;  // guest verify/accept/map failures
  std::vector<std::string> host_log;        // host actions done, in order
  std::vector<ExpectationResult> expectations;
  std::vector<SlotMap> memory;
  std::vector<std::string> notes;  // things a reader should know (TDX unavailable...)

  bool ok() const;
  uint64_t Stat(const std::string& name) const;  // 0 if absent
};

}  // namespace cocomem::cli
