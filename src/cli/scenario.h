// Scenario: the model of one `cocomem run` scenario file, as parsed and validated.
//
// A scenario declares a VM, its guest_memfd files and memslots, the TD image (TDX), one
// guest program per vCPU, host actions triggered by sync points or exits, and the
// expectations the run must meet. Every element keeps the file position it came from, so
// the validator and the runner can say `file:line:column` about it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace cocomem::cli {

struct SourceLoc {
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based
};

// The bytes a range should hold. The value of every byte depends on its address — the GPA
// (also for host ranges given by guest_memfd + offset, through the memslot mapping them;
// the file offset only when no memslot does) — so a page that lands in the wrong place
// never verifies, and guest and host agree on what a pattern means.
struct Pattern {
  enum class Kind {
    kByte,     // every byte = value
    kAddress,  // every 8-byte word = its own address
    kRandom,   // every 8-byte word = splitmix64(seed ^ address)
  };
  Kind kind = Kind::kByte;
  uint64_t value = 0;  // the byte, or the seed
  SourceLoc loc;
};

// An expected count: exactly n, or at least n.
struct CountExpectation {
  enum class Op { kEq, kGe, kLe };
  Op op = Op::kEq;
  uint64_t n = 0;
  SourceLoc loc;
  bool Holds(uint64_t v) const { return op == Op::kEq ? v == n : op == Op::kGe ? v >= n : v <= n; }
  std::string ToString() const;  // "3", ">= 1"
};

enum class VmKind { kDefault, kSwProtected, kTdx };
const char* VmKindName(VmKind k);  // "default", "sw-protected", "tdx"

struct VmSpec {
  VmKind type = VmKind::kDefault;
  uint32_t vcpus = 1;
  bool gmem_in_place_conversion = true;
  bool sept_ve_disable = true;  // TDX attribute bit 28
  SourceLoc loc;
};

struct GmemSpec {
  std::string name;
  uint64_t size = 0;
  uint64_t page_size = 4096;  // 4K, 2M (HUGETLB order 9) or 1G (order 18)
  bool mmap = false;
  bool init_shared = false;
  bool no_direct_map = false;
  bool preallocate = false;  // fallocate the whole file after creating it
  SourceLoc loc;
};

struct SlotSpec {
  uint32_t slot = 0;
  uint64_t gpa = 0;
  uint64_t size = 0;
  std::string gmem;  // empty: plain anonymous memory (no guest_memfd)
  uint64_t offset = 0;
  SourceLoc loc;
  SourceLoc gmem_loc;
};

// One region of the initial image: written before the guest runs (TDX: added with
// KVM_TDX_INIT_MEM_REGION, measured or not).
struct ImageRegion {
  std::string name;
  uint64_t gpa = 0;
  uint64_t size = 0;
  std::optional<Pattern> pattern;  // or
  std::string file;                // bytes from a file (resolved relative to the scenario)
  bool measure = false;            // TDX: KVM_TDX_MEASURE_MEMORY_REGION
  enum class Method { kCopy, kInPlace } method = Method::kCopy;
  SourceLoc loc;
};

// ---- guest programs -----------------------------------------------------------------

struct Step;
using Steps = std::vector<Step>;

struct GuestWrite {
  uint64_t gpa = 0, size = 0;
  Pattern pattern;
  bool shared = false;  // TDX: access with the shared bit set
  uint64_t every = 0;   // 0: every byte; else one 8-byte word per `every` bytes
};
struct GuestRead {
  uint64_t gpa = 0, size = 0;
  bool shared = false;
  uint64_t every = 4096;
};
struct GuestVerify {
  uint64_t gpa = 0, size = 0;
  Pattern pattern;
  bool shared = false;
  uint64_t every = 0;
};
struct GuestAccept {
  uint64_t gpa = 0, size = 0;
  uint64_t level = 4096;        // 4K or 2M
  bool allow_accepted = false;  // TDX_PAGE_ALREADY_ACCEPTED is not a failure
};
struct GuestMapGpa {
  uint64_t gpa = 0, size = 0;
  bool to_private = false;
  bool accept = true;  // TDX: accept the pages after converting them to private
};
struct GuestSync {
  uint64_t value = 0;
};
struct GuestLoop {
  uint64_t count = 0;
  Steps body;
};
struct GuestRandom {
  uint64_t seed = 0, count = 0;
  uint64_t gpa = 0, size = 0;
  uint32_t read_weight = 1, write_weight = 1, convert_weight = 0;
  uint64_t sync_every = 0;  // sync (value sync_value) every N operations
  uint64_t sync_value = 0;
};
struct GuestMrtd {};  // reads the TD's MRTD (reported, checked against expect.mrtd)
struct GuestHalt {};

struct Step {
  std::variant<GuestWrite, GuestRead, GuestVerify, GuestAccept, GuestMapGpa, GuestSync, GuestLoop,
               GuestRandom, GuestMrtd, GuestHalt>
      op;
  SourceLoc loc;
};

struct VcpuProgram {
  uint32_t id = 0;
  Steps steps;
  SourceLoc loc;
};

// ---- host actions -------------------------------------------------------------------

// A range of a guest_memfd: by file name + offset, by GPA, or "the exit's range".
struct HostRange {
  std::string gmem;  // set with `guest_memfd`
  uint64_t offset = 0;
  std::optional<uint64_t> gpa;  // set with `gpa`
  bool from_exit = false;       // `gpa: exit`: the GPA/size of the exit that triggered us
  uint64_t size = 4096;
  SourceLoc loc;
};

struct HostAction {
  enum class Kind {
    kConvert,
    kPunch,
    kAllocate,
    kPin,
    kUnpin,
    kPoison,
    kClose,
    kWrite,
    kVerify,
    kCheck
  };
  Kind kind = Kind::kConvert;
  HostRange range;
  bool to_private = false;          // convert
  std::optional<Pattern> pattern;   // write / verify
  std::optional<int> expect_errno;  // the action must fail with this errno
  SourceLoc loc;
};
const char* HostActionName(HostAction::Kind k);

// Exits a host action may be triggered by.
enum class ExitKind { kSync, kHypercall, kMemoryFault, kHwpoison, kMmio, kHlt, kShutdown, kFailed };
const char* ExitKindName(ExitKind k);  // the scenario spelling: "sync", "memory_fault", ...

struct HostTrigger {
  std::optional<uint64_t> on_sync;  // a vCPU synced with this value
  std::optional<ExitKind> on_exit;  // or: an exit of this kind
  std::optional<uint32_t> vcpu;     // only this vCPU's exits
  uint64_t times = 0;               // 0: every time; else only the first n times
  std::vector<HostAction> actions;
  SourceLoc loc;
};

// ---- expectations -------------------------------------------------------------------

struct DataExpectation {
  HostRange range;
  Pattern pattern;
  SourceLoc loc;
};

struct AttrExpectation {
  HostRange range;
  bool is_private = false;
  SourceLoc loc;
};

struct Expectations {
  std::optional<std::string> mrtd;  // 96 lowercase hex digits
  SourceLoc mrtd_loc;
  std::map<std::string, CountExpectation> exits;  // by ExitKindName
  std::map<std::string, CountExpectation> stats;  // "gmem.folio_splits", ...
  std::vector<DataExpectation> data;
  std::vector<AttrExpectation> attributes;
  bool invariants = true;  // every invariant check must be clean
};

struct Scenario {
  std::string path;  // as given on the command line
  std::string name;
  std::string description;
  VmSpec vm;
  std::vector<GmemSpec> gmems;
  std::vector<SlotSpec> slots;
  std::vector<ImageRegion> image;
  std::vector<VcpuProgram> vcpus;
  std::vector<HostTrigger> host;
  Expectations expect;

  const GmemSpec* FindGmem(const std::string& name) const;
  // The slot holding `gpa` (shared bit clear), or nullptr.
  const SlotSpec* SlotAt(uint64_t gpa) const;
};

// A message about a position in a scenario file: `file:line:column: message`.
struct Diagnostic {
  SourceLoc loc;
  std::string message;
};
std::string FormatDiagnostic(const std::string& path, const Diagnostic& d);

// "4K", "2M", "1G", "64K"... for sizes; "4 GiB + 2 MiB"-style for addresses.
std::string FormatSize(uint64_t bytes);
std::string FormatHex(uint64_t v);

}  // namespace cocomem::cli
