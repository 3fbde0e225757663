#include "cli/scenario_validator.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>

namespace cocomem::cli {
namespace {

constexpr uint64_t k4K = 4096;

bool Aligned(uint64_t v, uint64_t a) {
  return v % a == 0;
}

class Validator {
 public:
  explicit Validator(Scenario& s) : s_(s) {}

  std::vector<Diagnostic> Run() {
    if (s_.name.empty()) s_.name = std::filesystem::path(s_.path).stem().string();
    Gmems();
    Slots();
    Image();
    Vcpus();
    Host();
    Expect();
    std::stable_sort(diags_.begin(), diags_.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return std::tie(a.loc.line, a.loc.column) < std::tie(b.loc.line, b.loc.column);
    });
    return std::move(diags_);
  }

 private:
  bool tdx() const { return s_.vm.type == VmKind::kTdx; }

  void Error(SourceLoc loc, std::string msg) { diags_.push_back({loc, std::move(msg)}); }

  void Gmems() {
    std::set<std::string> names;
    for (const GmemSpec& g : s_.gmems) {
      const std::string what = fmt::format("guest_memfd '{}'", g.name);
      if (!names.insert(g.name).second) Error(g.loc, fmt::format("{} is declared twice", what));
      if (g.size == 0 || g.size > kMaxGmemSize) {
        Error(g.loc,
              fmt::format("{}: size {} is out of range (4K .. 1T)", what, FormatSize(g.size)));
      } else if (!Aligned(g.size, g.page_size)) {
        Error(g.loc, fmt::format("{}: size {} is not a multiple of its page size {}", what,
                                 FormatSize(g.size), FormatSize(g.page_size)));
      }
      if (g.init_shared && !g.mmap)
        Error(g.loc, fmt::format("{}: init_shared needs the mmap flag", what));
      if (g.no_direct_map && tdx())
        Error(g.loc, fmt::format("{}: no_direct_map is not allowed on tdx VMs", what));
      if (g.init_shared && s_.vm.type != VmKind::kDefault && !s_.vm.gmem_in_place_conversion)
        Error(g.loc, fmt::format("{}: init_shared on a {} VM needs gmem_in_place_conversion", what,
                                 VmKindName(s_.vm.type)));
    }
  }

  void Slots() {
    std::set<uint32_t> ids;
    if (s_.slots.empty()) Error({}, "the scenario declares no memslots");
    for (size_t i = 0; i < s_.slots.size(); ++i) {
      const SlotSpec& sl = s_.slots[i];
      const std::string what = fmt::format("memslot {}", sl.slot);
      if (!ids.insert(sl.slot).second) Error(sl.loc, fmt::format("{} is declared twice", what));
      if (!Aligned(sl.gpa, k4K))
        Error(sl.loc, fmt::format("{}: gpa {} is not 4K-aligned", what, FormatHex(sl.gpa)));
      if (sl.size == 0 || !Aligned(sl.size, k4K) || sl.size > kMaxGmemSize)
        Error(sl.loc, fmt::format("{}: size {} must be a non-zero multiple of 4K up to 1T", what,
                                  FormatHex(sl.size)));
      if (!Aligned(sl.offset, k4K))
        Error(sl.loc, fmt::format("{}: offset {} is not 4K-aligned", what, FormatHex(sl.offset)));
      if (tdx() && sl.gpa + sl.size > kTdxSharedBit)
        Error(sl.loc, fmt::format("{}: [{}, {}) reaches the TD's shared bit (bit 47)", what,
                                  FormatHex(sl.gpa), FormatHex(sl.gpa + sl.size)));
      if (!sl.gmem.empty()) {
        const GmemSpec* g = s_.FindGmem(sl.gmem);
        if (g == nullptr) {
          Error(sl.gmem_loc, fmt::format("{}: no guest_memfd is named '{}'", what, sl.gmem));
        } else if (sl.offset + sl.size > g->size) {
          Error(
              sl.loc,
              fmt::format("{}: offset {} + size {} is past the end of guest_memfd '{}' ({})", what,
                          FormatHex(sl.offset), FormatSize(sl.size), g->name, FormatSize(g->size)));
        }
      } else if (s_.vm.type == VmKind::kTdx) {
        Error(sl.loc, fmt::format("{}: a tdx VM's memslots need a guest_memfd", what));
      }
      for (size_t j = 0; j < i; ++j) {
        const SlotSpec& o = s_.slots[j];
        if (sl.gpa < o.gpa + o.size && o.gpa < sl.gpa + sl.size)
          Error(sl.loc, fmt::format("{} overlaps memslot {}", what, o.slot));
      }
    }
  }

  // A GPA range must lie in one memslot; returns it (nullptr after reporting).
  const SlotSpec* RangeInSlot(SourceLoc loc, const char* what, uint64_t gpa, uint64_t size) {
    if (size == 0) {
      Error(loc, fmt::format("{}: size must not be 0", what));
      return nullptr;
    }
    const SlotSpec* sl = s_.SlotAt(gpa);
    if (sl == nullptr || gpa + size > sl->gpa + sl->size || gpa + size < gpa) {
      Error(loc, fmt::format("{}: [{}, {}) is not inside one memslot", what, FormatHex(gpa),
                             FormatHex(gpa + size)));
      return nullptr;
    }
    return sl;
  }

  void Image() {
    for (size_t i = 0; i < s_.image.size(); ++i) {
      ImageRegion& r = s_.image[i];
      if (r.name.empty()) r.name = fmt::format("region{}", i);
      const std::string what = fmt::format("image region '{}'", r.name);
      if (!Aligned(r.gpa, k4K) || !Aligned(r.size, k4K)) {
        Error(r.loc, fmt::format("{}: gpa {} and size {} must be 4K-aligned", what,
                                 FormatHex(r.gpa), FormatHex(r.size)));
        continue;
      }
      const SlotSpec* sl = RangeInSlot(r.loc, what.c_str(), r.gpa, r.size);
      if (sl == nullptr) continue;
      const GmemSpec* g = sl->gmem.empty() ? nullptr : s_.FindGmem(sl->gmem);
      if (g == nullptr) {
        Error(r.loc, fmt::format("{}: memslot {} has no guest_memfd", what, sl->slot));
        continue;
      }
      if (r.measure && !tdx()) Error(r.loc, fmt::format("{}: 'measure' needs a tdx VM", what));
      if (r.method == ImageRegion::Method::kCopy && !tdx())
        Error(r.loc, fmt::format("{}: method 'copy' needs a tdx VM (other VMs are populated in "
                                 "place, through the guest_memfd mmap)",
                                 what));
      if (r.method == ImageRegion::Method::kInPlace) {
        if (!g->mmap)
          Error(r.loc,
                fmt::format("{}: method 'in_place' needs guest_memfd '{}' to have the mmap flag",
                            what, g->name));
        if (tdx() && !s_.vm.gmem_in_place_conversion)
          Error(r.loc, fmt::format("{}: method 'in_place' needs gmem_in_place_conversion", what));
      }
      if (!r.file.empty()) {
        std::filesystem::path p = r.file;
        if (p.is_relative()) p = std::filesystem::path(s_.path).parent_path() / p;
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0) {
          Error(r.loc, fmt::format("{}: cannot read file '{}'", what, p.string()));
        } else if (static_cast<uint64_t>(st.st_size) > r.size) {
          Error(r.loc, fmt::format("{}: file '{}' ({} bytes) is larger than the region", what,
                                   p.string(), st.st_size));
        }
        r.file = p.string();
      }
      for (size_t j = 0; j < i; ++j) {
        const ImageRegion& o = s_.image[j];
        if (r.gpa < o.gpa + o.size && o.gpa < r.gpa + r.size)
          Error(r.loc, fmt::format("{} overlaps image region '{}'", what, o.name));
      }
    }
    if (tdx() && s_.image.empty())
      Error(s_.vm.loc, "a tdx VM needs an image (at least one region)");
  }

  void Access(SourceLoc loc, const char* what, uint64_t gpa, uint64_t size, bool shared,
              uint64_t every) {
    if (shared && !tdx())
      Error(loc, fmt::format("{}: 'shared' only applies to tdx VMs (other VMs have no shared bit)",
                             what));
    if (every != 0 && (every % 8 != 0))
      Error(loc, fmt::format("{}: 'every' must be a multiple of 8, got {}", what, every));
    RangeInSlot(loc, what, gpa, size);
  }

  void StepsOf(const Steps& steps, std::set<uint64_t>& syncs) {
    for (const Step& st : steps) {
      std::visit(
          [&](const auto& op) {
            using T = std::decay_t<decltype(op)>;
            if constexpr (std::is_same_v<T, GuestWrite>) {
              Access(st.loc, "write", op.gpa, op.size, op.shared, op.every);
            } else if constexpr (std::is_same_v<T, GuestRead>) {
              Access(st.loc, "read", op.gpa, op.size, op.shared, op.every);
              if (op.every == 0) Error(st.loc, "read: 'every' must not be 0");
            } else if constexpr (std::is_same_v<T, GuestVerify>) {
              Access(st.loc, "verify", op.gpa, op.size, op.shared, op.every);
            } else if constexpr (std::is_same_v<T, GuestAccept>) {
              if (!tdx()) Error(st.loc, "accept: needs a tdx VM");
              if (!Aligned(op.gpa, op.level) || !Aligned(op.size, op.level))
                Error(st.loc,
                      fmt::format("accept: gpa {} and size {} must be aligned to the level {}",
                                  FormatHex(op.gpa), FormatHex(op.size), FormatSize(op.level)));
              RangeInSlot(st.loc, "accept", op.gpa, op.size);
            } else if constexpr (std::is_same_v<T, GuestMapGpa>) {
              if (s_.vm.type == VmKind::kDefault)
                Error(st.loc, "map_gpa: a default VM has no private memory to convert");
              if (!Aligned(op.gpa, k4K) || !Aligned(op.size, k4K))
                Error(st.loc, fmt::format("map_gpa: gpa {} and size {} must be 4K-aligned",
                                          FormatHex(op.gpa), FormatHex(op.size)));
              RangeInSlot(st.loc, "map_gpa", op.gpa, op.size);
            } else if constexpr (std::is_same_v<T, GuestSync>) {
              syncs.insert(op.value);
            } else if constexpr (std::is_same_v<T, GuestLoop>) {
              if (op.count == 0) Error(st.loc, "loop: 'count' must not be 0");
              StepsOf(op.body, syncs);
            } else if constexpr (std::is_same_v<T, GuestRandom>) {
              if (!Aligned(op.gpa, k4K) || !Aligned(op.size, k4K))
                Error(st.loc, fmt::format("random: gpa {} and size {} must be 4K-aligned",
                                          FormatHex(op.gpa), FormatHex(op.size)));
              if (op.read_weight + op.write_weight + op.convert_weight == 0)
                Error(st.loc, "random: the read, write and convert weights are all 0");
              if (op.convert_weight != 0 && s_.vm.type == VmKind::kDefault)
                Error(st.loc, "random: 'convert' needs a VM with private memory");
              if (op.sync_every != 0) syncs.insert(op.sync_value);
              RangeInSlot(st.loc, "random", op.gpa, op.size);
            } else if constexpr (std::is_same_v<T, GuestMrtd>) {
              if (!tdx()) Error(st.loc, "mrtd: needs a tdx VM");
            }
          },
          st.op);
    }
  }

  void Vcpus() {
    std::set<uint32_t> ids;
    if (s_.vcpus.size() != s_.vm.vcpus) {
      Error(s_.vm.loc, fmt::format("vm.vcpus is {} but {} vcpu program{} given", s_.vm.vcpus,
                                   s_.vcpus.size(), s_.vcpus.size() == 1 ? " is" : "s are"));
    }
    for (const VcpuProgram& p : s_.vcpus) {
      if (!ids.insert(p.id).second) Error(p.loc, fmt::format("vcpu {} is declared twice", p.id));
      StepsOf(p.steps, syncs_);
    }
  }

  // A host range: resolves, is aligned and inside its file. Returns the file (or nullptr).
  const GmemSpec* Range(const HostRange& r, const char* what, bool needs_mmap, bool in_exit_trigger,
                        bool strict_alignment) {
    if (r.from_exit) {
      if (!in_exit_trigger)
        Error(r.loc, fmt::format("{}: 'gpa: exit' only works in an on_exit trigger", what));
      return nullptr;
    }
    const GmemSpec* g = nullptr;
    uint64_t offset = r.offset;
    if (r.gpa) {
      const SlotSpec* sl = s_.SlotAt(*r.gpa);
      if (sl == nullptr || sl->gmem.empty()) {
        Error(r.loc, fmt::format("{}: gpa {} is not in a memslot with a guest_memfd", what,
                                 FormatHex(*r.gpa)));
        return nullptr;
      }
      g = s_.FindGmem(sl->gmem);
      offset = sl->offset + (*r.gpa - sl->gpa);
    } else {
      g = s_.FindGmem(r.gmem);
      if (g == nullptr) {
        Error(r.loc, fmt::format("{}: no guest_memfd is named '{}'", what, r.gmem));
        return nullptr;
      }
    }
    if (g == nullptr) return nullptr;
    if (strict_alignment && (!Aligned(offset, k4K) || !Aligned(r.size, k4K))) {
      Error(r.loc, fmt::format("{}: offset {} and size {} must be 4K-aligned", what,
                               FormatHex(offset), FormatHex(r.size)));
    }
    if (r.size == 0 || offset + r.size > g->size)
      Error(r.loc,
            fmt::format("{}: [{}, {}) is not inside guest_memfd '{}' ({})", what, FormatHex(offset),
                        FormatHex(offset + r.size), g->name, FormatSize(g->size)));
    if (needs_mmap && !g->mmap)
      Error(r.loc, fmt::format("{}: guest_memfd '{}' has no mmap flag", what, g->name));
    return g;
  }

  void Host() {
    std::set<uint32_t> ids;
    for (const VcpuProgram& p : s_.vcpus) ids.insert(p.id);
    for (const HostTrigger& t : s_.host) {
      if (t.on_sync && !syncs_.count(*t.on_sync))
        Error(t.loc, fmt::format("on_sync {}: no vcpu program syncs with that value", *t.on_sync));
      if (t.vcpu && !ids.count(*t.vcpu))
        Error(t.loc, fmt::format("vcpu {} does not exist", *t.vcpu));
      for (const HostAction& a : t.actions) {
        const char* what = HostActionName(a.kind);
        using K = HostAction::Kind;
        switch (a.kind) {
          case K::kCheck:
            break;
          case K::kClose:
            if (s_.FindGmem(a.range.gmem) == nullptr)
              Error(a.range.loc, fmt::format("close: no guest_memfd is named '{}'", a.range.gmem));
            break;
          case K::kPin:
          case K::kUnpin:
          case K::kWrite:
          case K::kVerify:
            Range(a.range, what, true, t.on_exit.has_value(), true);
            break;
          case K::kConvert:
            if (s_.vm.type == VmKind::kDefault)
              Error(a.loc, "convert: a default VM has no private memory");
            Range(a.range, what, false, t.on_exit.has_value(), !a.expect_errno);
            break;
          default:
            Range(a.range, what, false, t.on_exit.has_value(), !a.expect_errno);
        }
      }
    }
  }

  void Expect() {
    const Expectations& e = s_.expect;
    if (e.mrtd && !tdx()) Error(e.mrtd_loc, "mrtd: needs a tdx VM");
    for (const auto& [name, c] : e.stats) {
      if (name.find('.') == std::string::npos)
        Error(c.loc,
              fmt::format("stats: '{}' must be GROUP.COUNTER (e.g. gmem.folio_splits)", name));
    }
    for (const DataExpectation& d : e.data) Range(d.range, "data expectation", true, false, true);
    for (const AttrExpectation& a : e.attributes) {
      Range(a.range, "attribute expectation", false, false, true);
    }
  }

  Scenario& s_;
  std::set<uint64_t> syncs_;
  std::vector<Diagnostic> diags_;
};

}  // namespace

std::vector<Diagnostic> ValidateScenario(Scenario& s) {
  return Validator(s).Run();
}

}  // namespace cocomem::cli
