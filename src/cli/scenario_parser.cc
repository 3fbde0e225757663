#include "cli/scenario_parser.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>

namespace cocomem::cli {
namespace {

// Parsing stops at the first problem; the exception never leaves this file.
struct ParseFailure {
  Diagnostic diag;
};

SourceLoc LocOf(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.is_null() || m.line < 0) return {};
  return {m.line + 1, m.column + 1};
}

[[noreturn]] void Fail(const YAML::Node& n, std::string message) {
  throw ParseFailure{{LocOf(n), std::move(message)}};
}

std::string Scalar(const YAML::Node& n) {
  return n.IsScalar() ? n.Scalar() : std::string();
}

std::string Describe(const YAML::Node& n) {
  if (n.IsScalar()) return fmt::format("'{}'", n.Scalar());
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  return "nothing";
}

std::string Join(std::initializer_list<const char*> items) {
  std::string s;
  for (const char* i : items) {
    if (!s.empty()) s += ", ";
    s += i;
  }
  return s;
}

// Every key of `map` must be one of `allowed`.
void CheckKeys(const YAML::Node& map, const std::string& what,
               std::initializer_list<const char*> allowed) {
  for (const auto& kv : map) {
    const std::string key = Scalar(kv.first);
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      Fail(kv.first,
           fmt::format("unknown key '{}' in {}; expected one of: {}", key, what, Join(allowed)));
    }
  }
}

void RequireMap(const YAML::Node& n, const std::string& what) {
  if (!n.IsMap()) Fail(n, fmt::format("'{}' must be a mapping, got {}", what, Describe(n)));
}
void RequireList(const YAML::Node& n, const std::string& what) {
  if (!n.IsSequence()) Fail(n, fmt::format("'{}' must be a list, got {}", what, Describe(n)));
}

// A required member.
YAML::Node Need(const YAML::Node& map, const char* key, const char* what) {
  YAML::Node v = map[key];
  if (!v) Fail(map, fmt::format("{} is missing '{}'", what, key));
  return v;
}

uint64_t Size(const YAML::Node& n, const std::string& key) {
  if (n.IsScalar()) {
    if (auto v = ParseSizeExpression(n.Scalar())) return *v;
  }
  Fail(n, fmt::format("'{}' must be a size or address (a number, optionally with K/M/G/T, e.g. "
                      "2M or 4G + 64K), got {}",
                      key, Describe(n)));
}

uint64_t Count(const YAML::Node& n, const std::string& key) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (!s.empty() &&
        std::all_of(s.begin(), s.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) &&
        s.size() < 19) {
      return std::stoull(s);
    }
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
      if (auto v = ParseSizeExpression(s)) return *v;
    }
  }
  Fail(n, fmt::format("'{}' must be a non-negative integer, got {}", key, Describe(n)));
}

bool Bool(const YAML::Node& n, const std::string& key) {
  const std::string s = Scalar(n);
  if (s == "true") return true;
  if (s == "false") return false;
  Fail(n, fmt::format("'{}' must be true or false, got {}", key, Describe(n)));
}

std::string String(const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) Fail(n, fmt::format("'{}' must be a string, got {}", key, Describe(n)));
  return n.Scalar();
}

template <typename T>
T Enum(const YAML::Node& n, const std::string& key,
       std::initializer_list<std::pair<const char*, T>> values) {
  const std::string s = Scalar(n);
  std::string names;
  for (const auto& [name, v] : values) {
    if (s == name) return v;
    if (!names.empty()) names += ", ";
    names += name;
  }
  Fail(n, fmt::format("'{}' must be one of {}; got {}", key, names, Describe(n)));
}

Pattern ParsePattern(const YAML::Node& n) {
  Pattern p;
  p.loc = LocOf(n);
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "address") {
      p.kind = Pattern::Kind::kAddress;
      return p;
    }
    if (s == "zero") return p;
    if (auto v = ParseSizeExpression(s); v && *v <= 255) {
      p.value = *v;
      return p;
    }
  } else if (n.IsMap()) {
    CheckKeys(n, "pattern", {"random"});
    p.kind = Pattern::Kind::kRandom;
    p.value = Count(Need(n, "random", "pattern"), "random");
    return p;
  }
  Fail(n, fmt::format("'pattern' must be a byte (0..255), 'zero', 'address' or {{random: SEED}}, "
                      "got {}",
                      Describe(n)));
}

// ---- top-level sections ---------------------------------------------------------------

VmSpec ParseVm(const YAML::Node& n) {
  RequireMap(n, "vm");
  CheckKeys(n, "vm", {"type", "vcpus", "gmem_in_place_conversion", "sept_ve_disable"});
  VmSpec vm;
  vm.loc = LocOf(n);
  if (auto t = n["type"]) {
    vm.type = Enum<VmKind>(t, "type",
                           {{"default", VmKind::kDefault},
                            {"sw-protected", VmKind::kSwProtected},
                            {"tdx", VmKind::kTdx}});
  }
  if (auto v = n["vcpus"]) {
    const uint64_t c = Count(v, "vcpus");
    if (c < 1 || c > 64) Fail(v, fmt::format("'vcpus' must be between 1 and 64, got {}", c));
    vm.vcpus = static_cast<uint32_t>(c);
  }
  if (auto v = n["gmem_in_place_conversion"])
    vm.gmem_in_place_conversion = Bool(v, "gmem_in_place_conversion");
  if (auto v = n["sept_ve_disable"]) vm.sept_ve_disable = Bool(v, "sept_ve_disable");
  return vm;
}

GmemSpec ParseGmem(const YAML::Node& n) {
  RequireMap(n, "guest_memfds[]");
  CheckKeys(n, "guest_memfd", {"name", "size", "page_size", "flags", "preallocate"});
  GmemSpec g;
  g.loc = LocOf(n);
  g.name = String(Need(n, "name", "guest_memfd"), "name");
  g.size = Size(Need(n, "size", "guest_memfd"), "size");
  if (auto v = n["page_size"]) {
    g.page_size = Size(v, "page_size");
    if (g.page_size != 4096 && g.page_size != (2u << 20) && g.page_size != (1u << 30))
      Fail(v, fmt::format("'page_size' must be 4K, 2M or 1G, got '{}'", v.Scalar()));
  }
  if (auto f = n["flags"]) {
    RequireList(f, "flags");
    for (const auto& flag : f) {
      const std::string s = Scalar(flag);
      if (s == "mmap") {
        g.mmap = true;
      } else if (s == "init_shared") {
        g.init_shared = true;
      } else if (s == "no_direct_map") {
        g.no_direct_map = true;
      } else {
        Fail(flag, fmt::format("unknown guest_memfd flag {}; expected one of: mmap, init_shared, "
                               "no_direct_map (hugetlb follows from page_size)",
                               Describe(flag)));
      }
    }
  }
  if (auto v = n["preallocate"]) g.preallocate = Bool(v, "preallocate");
  return g;
}

SlotSpec ParseSlot(const YAML::Node& n) {
  RequireMap(n, "memslots[]");
  CheckKeys(n, "memslot", {"slot", "gpa", "size", "guest_memfd", "offset"});
  SlotSpec s;
  s.loc = LocOf(n);
  const uint64_t id = Count(Need(n, "slot", "memslot"), "slot");
  if (id > 32763) Fail(n["slot"], fmt::format("'slot' must be at most 32763, got {}", id));
  s.slot = static_cast<uint32_t>(id);
  s.gpa = Size(Need(n, "gpa", "memslot"), "gpa");
  s.size = Size(Need(n, "size", "memslot"), "size");
  if (auto v = n["guest_memfd"]) {
    s.gmem = String(v, "guest_memfd");
    s.gmem_loc = LocOf(v);
  }
  if (auto v = n["offset"]) s.offset = Size(v, "offset");
  return s;
}

ImageRegion ParseRegion(const YAML::Node& n) {
  RequireMap(n, "image[]");
  CheckKeys(n, "image region", {"name", "gpa", "size", "pattern", "file", "measure", "method"});
  ImageRegion r;
  r.loc = LocOf(n);
  if (auto v = n["name"]) r.name = String(v, "name");
  r.gpa = Size(Need(n, "gpa", "image region"), "gpa");
  r.size = Size(Need(n, "size", "image region"), "size");
  if (auto v = n["pattern"]) r.pattern = ParsePattern(v);
  if (auto v = n["file"]) r.file = String(v, "file");
  if (r.pattern && !r.file.empty())
    Fail(n["file"], "an image region has either 'pattern' or 'file', not both");
  if (!r.pattern && r.file.empty()) Fail(n, "image region needs 'pattern' or 'file'");
  if (auto v = n["measure"]) r.measure = Bool(v, "measure");
  if (auto v = n["method"]) {
    r.method = Enum<ImageRegion::Method>(
        v, "method",
        {{"copy", ImageRegion::Method::kCopy}, {"in_place", ImageRegion::Method::kInPlace}});
  }
  return r;
}

Steps ParseSteps(const YAML::Node& n, const std::string& what);

bool ParseShared(const YAML::Node& n) {
  return n["shared"] ? Bool(n["shared"], "shared") : false;
}

Step ParseStep(const YAML::Node& n) {
  Step step;
  step.loc = LocOf(n);
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "mrtd") {
      step.op = GuestMrtd{};
      return step;
    }
    if (s == "halt") {
      step.op = GuestHalt{};
      return step;
    }
    Fail(n, fmt::format("unknown guest step '{}'; expected one of: write, read, verify, accept, "
                        "map_gpa, sync, loop, random, mrtd, halt",
                        s));
  }
  if (!n.IsMap() || n.size() != 1) {
    Fail(n,
         fmt::format("a guest step must be a mapping with one key (e.g. 'write: {{...}}'), got {}",
                     Describe(n)));
  }
  const auto kv = *n.begin();
  const std::string op = Scalar(kv.first);
  const YAML::Node a = kv.second;
  auto args = [&](std::initializer_list<const char*> keys) {
    RequireMap(a, op);
    CheckKeys(a, op, keys);
  };
  // write, read and verify address memory the same way (fields in this order, so the
  // first error reported is the same for each).
  auto access = [&](auto& x) {
    x.gpa = Size(Need(a, "gpa", op.c_str()), "gpa");
    x.size = Size(Need(a, "size", op.c_str()), "size");
    if constexpr (requires { x.pattern; }) x.pattern = ParsePattern(Need(a, "pattern", op.c_str()));
    x.shared = ParseShared(a);
    if (a["every"]) x.every = Size(a["every"], "every");
  };
  if (op == "write") {
    args({"gpa", "size", "pattern", "shared", "every"});
    GuestWrite w;
    access(w);
    step.op = w;
  } else if (op == "read") {
    args({"gpa", "size", "shared", "every"});
    GuestRead r;
    access(r);
    step.op = r;
  } else if (op == "verify") {
    args({"gpa", "size", "pattern", "shared", "every"});
    GuestVerify v;
    access(v);
    step.op = v;
  } else if (op == "accept") {
    args({"gpa", "size", "level", "allow_accepted"});
    GuestAccept acc;
    acc.gpa = Size(Need(a, "gpa", "accept"), "gpa");
    acc.size = Size(Need(a, "size", "accept"), "size");
    if (a["level"]) {
      acc.level = Size(a["level"], "level");
      if (acc.level != 4096 && acc.level != (2u << 20))
        Fail(a["level"], fmt::format("'level' must be 4K or 2M, got '{}'", a["level"].Scalar()));
    }
    if (a["allow_accepted"]) acc.allow_accepted = Bool(a["allow_accepted"], "allow_accepted");
    step.op = acc;
  } else if (op == "map_gpa") {
    args({"gpa", "size", "to", "accept"});
    GuestMapGpa m;
    m.gpa = Size(Need(a, "gpa", "map_gpa"), "gpa");
    m.size = Size(Need(a, "size", "map_gpa"), "size");
    m.to_private =
        Enum<bool>(Need(a, "to", "map_gpa"), "to", {{"shared", false}, {"private", true}});
    if (a["accept"]) m.accept = Bool(a["accept"], "accept");
    step.op = m;
  } else if (op == "sync") {
    step.op = GuestSync{Count(a, "sync")};
  } else if (op == "loop") {
    args({"count", "steps"});
    GuestLoop l;
    l.count = Count(Need(a, "count", "loop"), "count");
    l.body = ParseSteps(Need(a, "steps", "loop"), "steps");
    step.op = std::move(l);
  } else if (op == "random") {
    args({"seed", "count", "gpa", "size", "read", "write", "convert", "sync_every", "sync_value"});
    GuestRandom r;
    r.seed = Count(Need(a, "seed", "random"), "seed");
    r.count = Count(Need(a, "count", "random"), "count");
    r.gpa = Size(Need(a, "gpa", "random"), "gpa");
    r.size = Size(Need(a, "size", "random"), "size");
    auto weight = [&](const char* k, uint32_t def) -> uint32_t {
      if (!a[k]) return def;
      const uint64_t w = Count(a[k], k);
      if (w > 1000000) Fail(a[k], fmt::format("'{}' weight must be at most 1000000, got {}", k, w));
      return static_cast<uint32_t>(w);
    };
    r.read_weight = weight("read", 1);
    r.write_weight = weight("write", 1);
    r.convert_weight = weight("convert", 0);
    if (a["sync_every"]) r.sync_every = Count(a["sync_every"], "sync_every");
    if (a["sync_value"]) r.sync_value = Count(a["sync_value"], "sync_value");
    step.op = r;
  } else {
    Fail(kv.first, fmt::format("unknown guest step '{}'; expected one of: write, read, verify, "
                               "accept, map_gpa, sync, loop, random, mrtd, halt",
                               op));
  }
  return step;
}

Steps ParseSteps(const YAML::Node& n, const std::string& what) {
  RequireList(n, what);
  Steps steps;
  for (const auto& s : n) steps.push_back(ParseStep(s));
  return steps;
}

VcpuProgram ParseVcpu(const YAML::Node& n) {
  RequireMap(n, "vcpus[]");
  CheckKeys(n, "vcpu", {"id", "program"});
  VcpuProgram p;
  p.loc = LocOf(n);
  const uint64_t id = Count(Need(n, "id", "vcpu"), "id");
  if (id >= 4096) Fail(n["id"], fmt::format("'id' must be below 4096, got {}", id));
  p.id = static_cast<uint32_t>(id);
  p.steps = ParseSteps(Need(n, "program", "vcpu"), "program");
  return p;
}

HostRange ParseRange(const YAML::Node& a, const std::string& what, bool size_required) {
  HostRange r;
  r.loc = LocOf(a);
  if (a["guest_memfd"]) r.gmem = String(a["guest_memfd"], "guest_memfd");
  if (auto g = a["gpa"]) {
    if (g.IsScalar() && g.Scalar() == "exit") {
      r.from_exit = true;
    } else {
      r.gpa = Size(g, "gpa");
    }
  }
  if (a["offset"]) {
    if (r.gmem.empty()) Fail(a["offset"], fmt::format("'offset' in {} needs 'guest_memfd'", what));
    r.offset = Size(a["offset"], "offset");
  }
  if (!r.gmem.empty() && (r.gpa || r.from_exit))
    Fail(a["gpa"],
         fmt::format("{} takes either 'guest_memfd' + 'offset' or 'gpa', not both", what));
  if (r.gmem.empty() && !r.gpa && !r.from_exit)
    Fail(a, fmt::format("{} needs 'guest_memfd' (+ 'offset') or 'gpa'", what));
  if (auto s = a["size"]) {
    r.size = Size(s, "size");
  } else if (size_required && !r.from_exit) {
    Fail(a, fmt::format("{} is missing 'size'", what));
  }
  return r;
}

HostAction ParseAction(const YAML::Node& n) {
  HostAction act;
  act.loc = LocOf(n);
  if (!n.IsMap() || n.size() != 1) {
    Fail(n, fmt::format("a host action must be a mapping with one key (e.g. 'convert: {{...}}'), "
                        "got {}",
                        Describe(n)));
  }
  const auto kv = *n.begin();
  const std::string op = Scalar(kv.first);
  const YAML::Node a = kv.second;
  using K = HostAction::Kind;
  static constexpr std::pair<const char*, K> kKinds[] = {
      {"convert", K::kConvert}, {"punch", K::kPunch}, {"allocate", K::kAllocate},
      {"pin", K::kPin},         {"unpin", K::kUnpin}, {"poison", K::kPoison},
      {"close", K::kClose},     {"write", K::kWrite}, {"verify", K::kVerify},
      {"check", K::kCheck}};
  const auto* it = std::find_if(std::begin(kKinds), std::end(kKinds),
                                [&](const auto& k) { return op == k.first; });
  if (it == std::end(kKinds)) {
    Fail(kv.first, fmt::format("unknown host action '{}'; expected one of: convert, punch, "
                               "allocate, pin, unpin, poison, close, write, verify, check",
                               op));
  }
  act.kind = it->second;
  if (act.kind == K::kCheck) {  // `check: invariants`
    if (Scalar(a) != "invariants")
      Fail(a, fmt::format("'check' takes 'invariants', got {}", Describe(a)));
    return act;
  }
  if (act.kind == K::kClose) {  // `close: NAME`
    act.range.gmem = String(a, "close");
    act.range.loc = LocOf(a);
    return act;
  }
  RequireMap(a, op);
  switch (act.kind) {
    case K::kConvert:
      CheckKeys(a, op, {"guest_memfd", "offset", "gpa", "size", "to", "expect_errno"});
      act.to_private =
          Enum<bool>(Need(a, "to", "convert"), "to", {{"shared", false}, {"private", true}});
      break;
    case K::kWrite:
    case K::kVerify:
      CheckKeys(a, op, {"guest_memfd", "offset", "gpa", "size", "pattern", "expect_errno"});
      act.pattern = ParsePattern(Need(a, "pattern", op.c_str()));
      break;
    default:
      CheckKeys(a, op, {"guest_memfd", "offset", "gpa", "size", "expect_errno"});
  }
  act.range = ParseRange(a, op, act.kind != K::kPoison);
  if (auto e = a["expect_errno"]) {
    act.expect_errno = Enum<int>(e, "expect_errno",
                                 {{"EAGAIN", EAGAIN},
                                  {"EINVAL", EINVAL},
                                  {"EFAULT", EFAULT},
                                  {"ENOMEM", ENOMEM},
                                  {"EBUSY", EBUSY},
                                  {"EBADF", EBADF},
                                  {"EIO", EIO},
                                  {"ENODEV", ENODEV},
                                  {"EPERM", EPERM},
                                  {"ENOSPC", ENOSPC}});
  }
  return act;
}

HostTrigger ParseTrigger(const YAML::Node& n) {
  RequireMap(n, "host[]");
  CheckKeys(n, "host trigger", {"on_sync", "on_exit", "vcpu", "times", "do"});
  HostTrigger t;
  t.loc = LocOf(n);
  if (n["on_sync"]) t.on_sync = Count(n["on_sync"], "on_sync");
  if (auto e = n["on_exit"]) {
    t.on_exit = Enum<ExitKind>(e, "on_exit",
                               {{"hypercall", ExitKind::kHypercall},
                                {"memory_fault", ExitKind::kMemoryFault},
                                {"hwpoison", ExitKind::kHwpoison},
                                {"mmio", ExitKind::kMmio},
                                {"hlt", ExitKind::kHlt}});
  }
  if (t.on_sync.has_value() == t.on_exit.has_value())
    Fail(n, "a host trigger needs exactly one of 'on_sync' and 'on_exit'");
  if (n["vcpu"]) t.vcpu = static_cast<uint32_t>(Count(n["vcpu"], "vcpu"));
  if (n["times"]) t.times = Count(n["times"], "times");
  const YAML::Node d = Need(n, "do", "host trigger");
  RequireList(d, "do");
  for (const auto& a : d) t.actions.push_back(ParseAction(a));
  return t;
}

CountExpectation ParseCount(const YAML::Node& n, const std::string& key) {
  CountExpectation c;
  c.loc = LocOf(n);
  std::string s = Scalar(n);
  auto strip = [](std::string v) {
    while (!v.empty() && v.front() == ' ') v.erase(v.begin());
    return v;
  };
  if (s.rfind(">=", 0) == 0) {
    c.op = CountExpectation::Op::kGe;
    s = strip(s.substr(2));
  } else if (s.rfind("<=", 0) == 0) {
    c.op = CountExpectation::Op::kLe;
    s = strip(s.substr(2));
  }
  if (!s.empty() &&
      std::all_of(s.begin(), s.end(),
                  [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); }) &&
      s.size() < 19) {
    c.n = std::stoull(s);
    return c;
  }
  Fail(n, fmt::format("'{}' must be a count: N, '>= N' or '<= N', got {}", key, Describe(n)));
}

Expectations ParseExpect(const YAML::Node& n) {
  RequireMap(n, "expect");
  CheckKeys(n, "expect", {"mrtd", "exits", "stats", "data", "attributes", "invariants"});
  Expectations e;
  if (auto m = n["mrtd"]) {
    std::string s = String(m, "mrtd");
    std::transform(s.begin(), s.end(), s.begin(), [](char c) {
      return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    });
    if (s.size() != 96 || !std::all_of(s.begin(), s.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c));
        }))
      Fail(m, fmt::format("'mrtd' must be 96 hex digits (SHA-384), got {} characters", s.size()));
    e.mrtd = s;
    e.mrtd_loc = LocOf(m);
  }
  if (auto x = n["exits"]) {
    RequireMap(x, "exits");
    CheckKeys(
        x, "exits",
        {"sync", "hypercall", "memory_fault", "hwpoison", "mmio", "hlt", "shutdown", "failed"});
    for (const auto& kv : x) e.exits[kv.first.Scalar()] = ParseCount(kv.second, kv.first.Scalar());
  }
  if (auto s = n["stats"]) {
    RequireMap(s, "stats");
    for (const auto& kv : s) e.stats[kv.first.Scalar()] = ParseCount(kv.second, kv.first.Scalar());
  }
  if (auto d = n["data"]) {
    RequireList(d, "data");
    for (const auto& item : d) {
      RequireMap(item, "data[]");
      CheckKeys(item, "data expectation", {"guest_memfd", "offset", "gpa", "size", "pattern"});
      DataExpectation de;
      de.loc = LocOf(item);
      de.range = ParseRange(item, "data expectation", true);
      de.pattern = ParsePattern(Need(item, "pattern", "data expectation"));
      e.data.push_back(de);
    }
  }
  if (auto d = n["attributes"]) {
    RequireList(d, "attributes");
    for (const auto& item : d) {
      RequireMap(item, "attributes[]");
      CheckKeys(item, "attribute expectation", {"guest_memfd", "offset", "gpa", "size", "is"});
      AttrExpectation ae;
      ae.loc = LocOf(item);
      ae.range = ParseRange(item, "attribute expectation", true);
      ae.is_private = Enum<bool>(Need(item, "is", "attribute expectation"), "is",
                                 {{"shared", false}, {"private", true}});
      e.attributes.push_back(ae);
    }
  }
  if (auto v = n["invariants"]) e.invariants = Bool(v, "invariants");
  return e;
}

Scenario ParseRoot(const YAML::Node& root, const std::string& path) {
  if (!root.IsMap())
    Fail(root, fmt::format("a scenario must be a mapping, got {}", Describe(root)));
  CheckKeys(root, "scenario",
            {"name", "description", "vm", "guest_memfds", "memslots", "image", "vcpus", "host",
             "expect"});
  Scenario s;
  s.path = path;
  s.name = root["name"] ? String(root["name"], "name") : std::string();
  if (root["description"]) s.description = String(root["description"], "description");
  s.vm = ParseVm(Need(root, "vm", "scenario"));
  if (auto g = root["guest_memfds"]) {
    RequireList(g, "guest_memfds");
    for (const auto& item : g) s.gmems.push_back(ParseGmem(item));
  }
  const YAML::Node slots = Need(root, "memslots", "scenario");
  RequireList(slots, "memslots");
  for (const auto& item : slots) s.slots.push_back(ParseSlot(item));
  if (auto im = root["image"]) {
    RequireList(im, "image");
    for (const auto& item : im) s.image.push_back(ParseRegion(item));
  }
  const YAML::Node vcpus = Need(root, "vcpus", "scenario");
  RequireList(vcpus, "vcpus");
  for (const auto& item : vcpus) s.vcpus.push_back(ParseVcpu(item));
  if (auto h = root["host"]) {
    RequireList(h, "host");
    for (const auto& item : h) s.host.push_back(ParseTrigger(item));
  }
  if (auto e = root["expect"]) s.expect = ParseExpect(e);
  return s;
}

}  // namespace

std::optional<uint64_t> ParseSizeExpression(const std::string& text) {
  // A sum of products of terms; a term is a number with an optional K/M/G/T suffix.
  size_t i = 0;
  const size_t n = text.size();
  auto skip = [&] {
    while (i < n && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  auto term = [&]() -> std::optional<uint64_t> {
    skip();
    if (i >= n || !std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    uint64_t v = 0;
    unsigned base = 10;
    if (text[i] == '0' && i + 1 < n && (text[i + 1] == 'x' || text[i + 1] == 'X')) {
      base = 16;
      i += 2;
    }
    const size_t start = i;
    for (; i < n; ++i) {
      const auto c = static_cast<unsigned char>(std::tolower(static_cast<unsigned char>(text[i])));
      unsigned digit;
      if (std::isdigit(c)) {
        digit = c - '0';
      } else if (base == 16 && c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else {
        break;
      }
      if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, digit, &v))
        return std::nullopt;
    }
    if (i == start) return std::nullopt;
    if (i < n) {
      unsigned shift = 0;
      switch (text[i]) {
        case 'K':
        case 'k':
          shift = 10;
          break;
        case 'M':
        case 'm':
          shift = 20;
          break;
        case 'G':
        case 'g':
          shift = 30;
          break;
        case 'T':
        case 't':
          shift = 40;
          break;
        default:
          break;
      }
      if (shift != 0) {
        ++i;
        if (i < n && text[i] == 'i') ++i;  // KiB, MiB
        if (i < n && text[i] == 'B') ++i;
        if (v > (~uint64_t{0} >> shift)) return std::nullopt;
        v <<= shift;
      }
    }
    return v;
  };
  uint64_t sum = 0;
  for (;;) {
    auto product = term();
    if (!product) return std::nullopt;
    uint64_t p = *product;
    skip();
    while (i < n && text[i] == '*') {
      ++i;
      auto f = term();
      if (!f || __builtin_mul_overflow(p, *f, &p)) return std::nullopt;
      skip();
    }
    if (__builtin_add_overflow(sum, p, &sum)) return std::nullopt;
    if (i == n) return sum;
    if (text[i] != '+') return std::nullopt;
    ++i;
  }
}

std::variant<Scenario, Diagnostic> ParseScenarioText(const std::string& text,
                                                     const std::string& path) {
  try {
    const YAML::Node root = YAML::Load(text);
    return ParseRoot(root, path);
  } catch (const ParseFailure& f) {
    return f.diag;
  } catch (const YAML::Exception& e) {
    SourceLoc loc;
    if (!e.mark.is_null()) loc = {e.mark.line + 1, e.mark.column + 1};
    return Diagnostic{loc, e.msg};
  }
}

std::variant<Scenario, Diagnostic> ParseScenarioFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Diagnostic{{}, "cannot open the scenario file"};
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseScenarioText(ss.str(), path);
}

}  // namespace cocomem::cli
