#include "cli/report_text.h"

#include <fmt/format.h>

namespace cocomem::cli {

std::string HumanBytes(uint64_t b) {
  if (b < 1024) return fmt::format("{}B", b);
  static constexpr const char* kUnits[] = {"K", "M", "G", "T"};
  double v = static_cast<double>(b) / 1024;
  int u = 0;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  if (v == static_cast<double>(static_cast<uint64_t>(v)))
    return fmt::format("{}{}", static_cast<uint64_t>(v), kUnits[u]);
  return fmt::format("{:.1f}{}", v, kUnits[u]);
}

namespace {

constexpr size_t kMaxSegmentsShown = 48;
constexpr int kLabel = 14;

std::string Line(const char* label, const std::string& text) {
  return fmt::format("{:<{}}{}\n", label, kLabel, text);
}

std::string Exits(const RunResult& r) {
  std::string s;
  static constexpr const char* kOrder[] = {"sync", "hypercall", "memory_fault", "hwpoison",
                                           "mmio", "hlt",       "shutdown",     "failed"};
  for (const char* k : kOrder) {
    auto it = r.exits.find(k);
    if (it == r.exits.end()) continue;
    if (!s.empty()) s += ", ";
    s += fmt::format("{} {}", k, it->second);
  }
  return s.empty() ? "none" : s;
}

}  // namespace

std::string FormatReport(const RunResult& r, ReportStyle style) {
  const bool full = style == ReportStyle::kFull;
  std::string out = fmt::format("cocomem run: {} ({})\n", r.name, r.path);
  if (!r.description.empty()) out += fmt::format("  {}\n", r.description);
  out += "\n";
  out += Line("result", r.ok() ? "PASS" : "FAIL");
  out += Line("VM", fmt::format("{}, {} vCPU{}, backend {}", r.vm_type, r.vcpus,
                                r.vcpus == 1 ? "" : "s", r.backend));
  for (size_t i = 0; i < r.gmems.size(); ++i) out += Line(i == 0 ? "guest_memfd" : "", r.gmems[i]);
  if (r.mrtd_guest || r.mrtd_module) {
    const std::string& m = r.mrtd_guest ? *r.mrtd_guest : *r.mrtd_module;
    std::string src = r.mrtd_guest && r.mrtd_module
                          ? (*r.mrtd_guest == *r.mrtd_module ? "guest TDREPORT = module"
                                                             : "guest TDREPORT != module!")
                      : r.mrtd_guest ? "guest TDREPORT"
                                     : "module";
    out += Line("MRTD", fmt::format("{} ({})", m, src));
  }
  out += Line("exits", Exits(r));
  const GuestCounters& g = r.guest;
  out += Line("guest",
              fmt::format("{} steps, {} written, {} read, {} verified, {} accepts, {} MapGPA, "
                          "{} random ops",
                          g.steps, HumanBytes(g.bytes_written), HumanBytes(g.bytes_read),
                          HumanBytes(g.bytes_verified), g.accepts, g.map_gpa, g.random_ops));
  auto st = [&](const char* n) { return r.Stat(n); };
  out += Line("kvm", fmt::format("faults {} (mapped 4K {}, 2M {}, 1G {}; spurious {}; retried {}), "
                                 "memory-fault exits {}, MMIO {}",
                                 st("kvm.vm.faults"), st("kvm.vm.faults_mapped_4k"),
                                 st("kvm.vm.faults_mapped_2m"), st("kvm.vm.faults_mapped_1g"),
                                 st("kvm.vm.faults_spurious"), st("kvm.vm.fault_retries"),
                                 st("kvm.vm.memory_fault_exits"), st("kvm.vm.mmio_exits")));
  out += Line("", fmt::format("invalidations {}, zap requests {}, zapped {} pages, TDP splits {}, "
                              "attribute changes {}",
                              st("kvm.vm.invalidations"), st("kvm.vm.zap_requests"),
                              st("kvm.vm.zapped_pages"), st("kvm.vm.tdp_splits"),
                              st("kvm.vm.attribute_changes")));
  out += Line(
      "gmem",
      fmt::format("folios {}, conversions {} ({} refused), folio splits {}, merges {}, "
                  "punches {} ({} pages), poisoned {}",
                  st("gmem.folios_allocated"), st("gmem.conversions"),
                  st("gmem.conversions_eagain"), st("gmem.folio_splits"), st("gmem.folio_merges"),
                  st("gmem.punches"), st("gmem.punched_pages"), st("gmem.memory_failures")));
  bool any_tdx = false;
  for (const auto& [n, v] : r.stats) any_tdx |= n.rfind("kvm.tdx.", 0) == 0;
  if (any_tdx) {
    out += Line("tdx",
                fmt::format("pages added {} (measured {}), AUG 4K {} / 2M {}, S-EPT tables {}, "
                            "removed {}, demoted {}, tracks {}, busy retries {}",
                            st("kvm.tdx.pages_added"), st("kvm.tdx.pages_measured"),
                            st("kvm.tdx.aug_4k"), st("kvm.tdx.aug_2m"), st("kvm.tdx.sept_tables"),
                            st("kvm.tdx.leaves_removed"), st("kvm.tdx.leaves_demoted"),
                            st("kvm.tdx.tracks"), st("kvm.tdx.busy_retries")));
  }
  if (!r.seamcalls.empty()) {
    out += "SEAMCALLs\n";
    for (const auto& c : r.seamcalls)
      out += fmt::format("{:<{}}  {:<24} {:<28} {}\n", "", kLabel - 2, c.leaf, c.status, c.count);
  }
  if (full) {
    out += Line("arena", fmt::format("reserved {}, committed {}", HumanBytes(r.arena_reserved),
                                     HumanBytes(r.arena_committed)));
  } else {
    out += Line("arena", fmt::format("reserved {}", HumanBytes(r.arena_reserved)));
  }
  out += Line("invariants",
              fmt::format("{} checks, {} violations", r.invariant_checks, r.violations.size()));
  if (full) {
    std::string p;
    for (const auto& ph : r.phases) {
      if (!p.empty()) p += ", ";
      p += fmt::format("{} {:.1f} ms", ph.name, ph.ms);
    }
    out += Line("phases", p);
  }

  if (!r.expectations.empty()) {
    out += "\nexpectations\n";
    for (const auto& e : r.expectations) {
      out += fmt::format("  {:<5} {}", e.ok ? "ok" : "FAIL", e.what);
      if (!e.ok && e.loc.line) out += fmt::format("  ({}:{}:{})", r.path, e.loc.line, e.loc.column);
      out += "\n";
      if (!e.ok && !e.detail.empty()) {
        size_t start = 0;
        while (start <= e.detail.size()) {
          const size_t nl = e.detail.find('\n', start);
          out += fmt::format(
              "        {}\n",
              e.detail.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
          if (nl == std::string::npos) break;
          start = nl + 1;
        }
      }
    }
  }
  if (!r.violations.empty()) {
    out += "\ninvariant violations\n";
    for (const auto& v : r.violations) out += fmt::format("  at {}: {}\n", v.when, v.message);
  }
  if (!r.errors.empty()) {
    out += "\nerrors\n";
    for (const auto& e : r.errors) out += fmt::format("  {}\n", e);
  }
  if (!r.guest_failures.empty()) {
    out += "\nguest failures\n";
    for (const auto& e : r.guest_failures) out += fmt::format("  {}\n", e);
  }
  if (!r.notes.empty()) {
    out += "\nnotes\n";
    for (const auto& e : r.notes) out += fmt::format("  {}\n", e);
  }
  for (const SlotMap& m : r.memory) {
    out += fmt::format("\nmemory map: slot {}, gpa {:#x}, {}", m.slot, m.gpa, HumanBytes(m.size));
    out += m.gmem.empty() ? " (anonymous memory)\n"
                          : fmt::format(" of guest_memfd '{}' at {:#x}\n", m.gmem, m.offset);
    size_t shown = 0;
    for (const MemorySegment& s : m.segments) {
      if (shown++ == kMaxSegmentsShown) {
        out += fmt::format("  ... {} more runs (see --html/--svg/--json)\n",
                           m.segments.size() - kMaxSegmentsShown);
        break;
      }
      std::string flags;
      if (s.poisoned) flags += " POISONED";
      if (s.punched) flags += " punched";
      if (!s.sept.empty()) flags += " S-EPT " + s.sept;
      std::string line = fmt::format(
          "  [{:#014x}, {:#014x}) {:>6}  {:<7}  folio {:<4}  mapped {:<4}{}", s.gpa, s.gpa + s.size,
          HumanBytes(s.size), s.is_private ? "private" : "shared", s.folio, s.mapping, flags);
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
  }
  if (!r.host_log.empty()) {
    out += fmt::format("\nhost actions ({})\n", r.host_log.size());
    size_t shown = 0;
    for (const auto& l : r.host_log) {
      if (shown++ == 30) {
        out += fmt::format("  ... {} more\n", r.host_log.size() - 30);
        break;
      }
      out += fmt::format("  {}\n", l);
    }
  }
  return out;
}

}  // namespace cocomem::cli
