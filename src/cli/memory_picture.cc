#include "cli/memory_picture.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <vector>

#include "cli/report_text.h"

namespace cocomem::cli {
namespace {

constexpr double kWidth = 1100, kLeft = 130, kRight = 40, kLaneH = 22, kLaneGap = 4;
constexpr double kBarW = kWidth - kLeft - kRight;

std::string Esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

struct Swatch {
  const char* name;
  const char* color;
};

const char* AttrColor(bool is_private) {
  return is_private ? "#7e57c2" : "#66bb6a";
}
const char* FolioColor(const std::string& f) {
  if (f == "4K") return "#ffcc80";
  if (f == "2M") return "#fb8c00";
  if (f == "1G") return "#bf360c";
  return "#eeeeee";
}
const char* MapColor(const std::string& m) {
  if (m == "4K") return "#90caf9";
  if (m == "2M") return "#1e88e5";
  if (m == "1G") return "#0d47a1";
  return "#eeeeee";
}
const char* SeptColor(const std::string& s) {
  if (s.empty()) return "#eeeeee";
  if (s == "MAPPED") return "#26a69a";
  if (s == "PENDING") return "#fdd835";
  if (s.find("BLOCKED") != std::string::npos) return "#8d6e63";
  return "#bdbdbd";
}

// "4 GiB", "4098 MiB", "12 KiB": an axis label for an absolute address, in the unit of
// the tick step.
std::string AxisLabel(uint64_t addr, uint64_t step) {
  if (step >= (1ull << 30) && addr % (1ull << 30) == 0) return fmt::format("{} GiB", addr >> 30);
  if (step >= (64ull << 20)) {
    const double gib = static_cast<double>(addr) / static_cast<double>(1ull << 30);
    return addr % (1ull << 30) == 0 ? fmt::format("{} GiB", addr >> 30)
                                    : fmt::format("{:.2f} GiB", gib);
  }
  if (step >= (1ull << 20) && addr % (1ull << 20) == 0) return fmt::format("{} MiB", addr >> 20);
  if (addr % 1024 == 0) return fmt::format("{} KiB", addr >> 10);
  return fmt::format("{:#x}", addr);
}

std::string SegmentInfo(const SlotMap& m, const MemorySegment& s) {
  std::string info = fmt::format("GPA [{:#x}, {:#x}) {}\n{}", s.gpa, s.gpa + s.size,
                                 HumanBytes(s.size), s.is_private ? "private" : "shared");
  if (!m.gmem.empty()) info += fmt::format(" | guest_memfd '{}' offset {:#x}", m.gmem, s.offset);
  info += fmt::format("\nfolio {}{}{}", s.folio,
                      s.folio != "none" ? fmt::format(" (PFN {:#x})", s.pfn) : "",
                      s.poisoned ? " POISONED" : "");
  if (s.punched) info += " (punched)";
  info += fmt::format("\nTDP mapping {}", s.mapping);
  if (!s.sept.empty()) info += fmt::format("\nS-EPT {}", s.sept);
  return info;
}

struct Lane {
  const char* label;
  // Key and color of a segment in this lane; runs with equal keys merge.
  std::function<std::string(const MemorySegment&)> key;
  std::function<const char*(const MemorySegment&)> color;
};

std::string SvgBody(const RunResult& r, double* height) {
  std::string out;
  double y = 14;
  const bool tdx = r.vm_type == "tdx";
  std::vector<Lane> lanes = {
      {"shared/private",
       [](const MemorySegment& s) { return std::string(s.is_private ? "private" : "shared"); },
       [](const MemorySegment& s) { return AttrColor(s.is_private); }},
      {"folio",
       [](const MemorySegment& s) {
         return s.folio + (s.poisoned ? "/poisoned" : "") + (s.punched ? "/punched" : "");
       },
       [](const MemorySegment& s) {
         if (s.poisoned) return "#d50000";
         if (s.punched) return "url(#punched)";
         return FolioColor(s.folio);
       }},
      {"TDP mapping", [](const MemorySegment& s) { return s.mapping; },
       [](const MemorySegment& s) { return MapColor(s.mapping); }},
  };
  if (tdx) {
    lanes.push_back({"S-EPT", [](const MemorySegment& s) { return s.sept; },
                     [](const MemorySegment& s) { return SeptColor(s.sept); }});
  }
  out +=
      "<defs><pattern id=\"punched\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
      "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#f5f5f5\"/>"
      "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#9e9e9e\" "
      "stroke-width=\"3\"/></pattern></defs>\n";
  for (const SlotMap& m : r.memory) {
    const std::string title = fmt::format(
        "memslot {}: GPA {:#x} .. {:#x} ({}){}", m.slot, m.gpa, m.gpa + m.size, HumanBytes(m.size),
        m.gmem.empty() ? std::string(" anonymous memory")
                       : fmt::format(", guest_memfd '{}' at offset {:#x}", m.gmem, m.offset));
    out += fmt::format("<text x=\"{}\" y=\"{:.1f}\" class=\"slot-title\">{}</text>\n", kLeft,
                       y + 10, Esc(title));
    y += 18;
    for (const Lane& lane : lanes) {
      out +=
          fmt::format("<text x=\"{}\" y=\"{:.1f}\" class=\"lane\" text-anchor=\"end\">{}</text>\n",
                      kLeft - 8, y + kLaneH * 0.7, lane.label);
      for (size_t i = 0; i < m.segments.size();) {
        size_t j = i + 1;
        const std::string key = lane.key(m.segments[i]);
        while (j < m.segments.size() && lane.key(m.segments[j]) == key) ++j;
        const MemorySegment& first = m.segments[i];
        const MemorySegment& last = m.segments[j - 1];
        const double x =
            kLeft + static_cast<double>(first.gpa - m.gpa) / static_cast<double>(m.size) * kBarW;
        const double w = std::max(static_cast<double>(last.gpa + last.size - first.gpa) /
                                      static_cast<double>(m.size) * kBarW,
                                  0.6);
        MemorySegment merged = first;
        merged.size = last.gpa + last.size - first.gpa;
        std::string info = fmt::format("{}: {}\n", lane.label, key.empty() ? "none" : key);
        if (j - i == 1) {
          info += SegmentInfo(m, first);
        } else {
          info += fmt::format("GPA [{:#x}, {:#x}) {} in {} runs", merged.gpa,
                              merged.gpa + merged.size, HumanBytes(merged.size), j - i);
        }
        out += fmt::format(
            "<rect x=\"{:.2f}\" y=\"{:.1f}\" width=\"{:.2f}\" height=\"{}\" fill=\"{}\" "
            "data-info=\"{}\"><title>{}</title></rect>\n",
            x, y, w, kLaneH, lane.color(first), Esc(info), Esc(info));
        i = j;
      }
      y += kLaneH + kLaneGap;
    }
    // Axis.
    const uint64_t span = m.size;
    uint64_t step = 4096;
    while (span / step > 8) step *= 2;
    out += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" class=\"axis\"/>\n",
                       kLeft, y, kLeft + kBarW, y);
    for (uint64_t off = 0; off <= span; off += step) {
      const double x = kLeft + static_cast<double>(off) / static_cast<double>(span) * kBarW;
      out += fmt::format(
          "<line x1=\"{:.2f}\" y1=\"{:.1f}\" x2=\"{:.2f}\" y2=\"{:.1f}\" class=\"axis\"/>", x, y, x,
          y + 5);
      out += fmt::format(
          "<text x=\"{:.2f}\" y=\"{:.1f}\" class=\"tick\" text-anchor=\"middle\">{}</text>\n", x,
          y + 16, AxisLabel(m.gpa + off, step));
      if (off + step < off) break;
    }
    y += 34;
  }
  // Legend.
  static constexpr Swatch kLegend[] = {
      {"shared", "#66bb6a"},    {"private", "#7e57c2"},       {"folio 4K", "#ffcc80"},
      {"folio 2M", "#fb8c00"},  {"folio 1G", "#bf360c"},      {"no folio", "#eeeeee"},
      {"poisoned", "#d50000"},  {"punched", "url(#punched)"}, {"mapped 4K", "#90caf9"},
      {"mapped 2M", "#1e88e5"}, {"mapped 1G", "#0d47a1"}};
  static constexpr Swatch kSeptLegend[] = {
      {"S-EPT MAPPED", "#26a69a"}, {"S-EPT PENDING", "#fdd835"}, {"S-EPT BLOCKED", "#8d6e63"}};
  double x = kLeft;
  auto swatch = [&](const Swatch& s) {
    const double w = 34 + 7.2 * static_cast<double>(std::string(s.name).size());
    if (x + w > kWidth - kRight) {
      x = kLeft;
      y += 20;
    }
    out += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"14\" height=\"14\" fill=\"{}\" stroke=\"#616161\" "
        "stroke-width=\"0.5\"/><text x=\"{:.1f}\" y=\"{:.1f}\" class=\"legend\">{}</text>\n",
        x, y, s.color, x + 18, y + 11, s.name);
    x += w;
  };
  out +=
      fmt::format("<text x=\"{}\" y=\"{:.1f}\" class=\"lane\" text-anchor=\"end\">legend</text>\n",
                  kLeft - 8, y + 11);
  for (const Swatch& s : kLegend) swatch(s);
  if (tdx) {
    for (const Swatch& s : kSeptLegend) swatch(s);
  }
  *height = y + 28;
  return out;
}

constexpr const char* kSvgStyle =
    ".slot-title{font:600 13px sans-serif;fill:#212121}.lane{font:12px sans-serif;fill:#424242}"
    ".tick{font:11px sans-serif;fill:#616161}.legend{font:12px sans-serif;fill:#424242}"
    ".axis{stroke:#757575;stroke-width:1}rect[data-info]{stroke:#ffffff;stroke-width:0.3}";

}  // namespace

std::string MemorySvg(const RunResult& r) {
  double height = 0;
  const std::string body = SvgBody(r, &height);
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{:.0f}\" "
      "viewBox=\"0 0 {} {:.0f}\" font-family=\"sans-serif\">\n<style>{}</style>\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n{}</svg>\n",
      kWidth, height, kWidth, height, kSvgStyle, body);
}

std::string MemoryHtml(const RunResult& r) {
  std::string summary;
  auto row = [&](const std::string& k, const std::string& v) {
    summary += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", Esc(k), Esc(v));
  };
  row("result", r.ok() ? "PASS" : "FAIL");
  row("VM", fmt::format("{}, {} vCPU(s)", r.vm_type, r.vcpus));
  for (const auto& g : r.gmems) row("guest_memfd", g);
  if (r.mrtd_guest || r.mrtd_module) row("MRTD", r.mrtd_guest ? *r.mrtd_guest : *r.mrtd_module);
  std::string exits;
  for (const auto& [k, v] : r.exits)
    exits += fmt::format("{}{} {}", exits.empty() ? "" : ", ", k, v);
  row("exits", exits.empty() ? "none" : exits);
  row("faults", fmt::format("{} (4K {}, 2M {}, 1G {})", r.Stat("kvm.vm.faults"),
                            r.Stat("kvm.vm.faults_mapped_4k"), r.Stat("kvm.vm.faults_mapped_2m"),
                            r.Stat("kvm.vm.faults_mapped_1g")));
  row("guest_memfd",
      fmt::format("conversions {}, folio splits {}, merges {}, punches {}, poisoned {}",
                  r.Stat("gmem.conversions"), r.Stat("gmem.folio_splits"),
                  r.Stat("gmem.folio_merges"), r.Stat("gmem.punches"),
                  r.Stat("gmem.memory_failures")));
  row("invariants",
      fmt::format("{} checks, {} violations", r.invariant_checks, r.violations.size()));
  std::string segments;
  for (const SlotMap& m : r.memory) {
    for (const MemorySegment& s : m.segments) {
      segments += fmt::format(
          "<tr><td>{}</td><td>{:#x}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</"
          "td><td>{}</td></tr>\n",
          m.slot, s.gpa, HumanBytes(s.size), s.is_private ? "private" : "shared", s.folio,
          s.mapping, Esc(s.sept),
          s.poisoned  ? "poisoned"
          : s.punched ? "punched"
                      : "");
    }
  }
  double height = 0;
  const std::string body = SvgBody(r, &height);
  return fmt::format(R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>cocomem: {name}</title>
<style>
body{{font:14px sans-serif;margin:20px;color:#212121;background:#fafafa}}
h1{{font-size:20px;margin:0 0 4px}} .desc{{color:#616161;margin:0 0 12px}}
table.summary th{{text-align:left;padding:2px 12px 2px 0;color:#616161;font-weight:normal;vertical-align:top}}
table.summary td{{font-family:monospace;word-break:break-all}}
.picture{{background:#fff;border:1px solid #e0e0e0;border-radius:4px;padding:8px;margin:12px 0;overflow-x:auto}}
#tip{{position:fixed;pointer-events:none;background:#263238;color:#fff;font:12px monospace;padding:6px 8px;
border-radius:4px;white-space:pre;display:none;z-index:10;max-width:600px}}
table.segs{{border-collapse:collapse;font:12px monospace}} table.segs td,table.segs th{{border:1px solid #e0e0e0;padding:1px 6px}}
.pass{{color:#2e7d32;font-weight:bold}} .fail{{color:#c62828;font-weight:bold}}
{svgstyle}
</style>
</head>
<body>
<h1>{name} <span class="{cls}">{result}</span></h1>
<p class="desc">{desc}</p>
<table class="summary">
{summary}</table>
<div class="picture">
<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h:.0f}" viewBox="0 0 {w} {h:.0f}">
{body}</svg>
</div>
<details><summary>all ranges ({nseg})</summary>
<table class="segs"><tr><th>slot</th><th>GPA</th><th>size</th><th>attribute</th><th>folio</th><th>mapping</th><th>S-EPT</th><th></th></tr>
{segments}</table></details>
<div id="tip"></div>
<script>
(function () {{
  var tip = document.getElementById('tip');
  document.querySelectorAll('rect[data-info]').forEach(function (el) {{
    el.addEventListener('mousemove', function (e) {{
      tip.textContent = el.getAttribute('data-info');
      tip.style.display = 'block';
      tip.style.left = (e.clientX + 14) + 'px';
      tip.style.top = (e.clientY + 14) + 'px';
    }});
    el.addEventListener('mouseleave', function () {{ tip.style.display = 'none'; }});
  }});
  document.body.setAttribute('data-ready', '1');
}})();
</script>
</body>
</html>
)html",
                     fmt::arg("name", Esc(r.name)), fmt::arg("desc", Esc(r.description)),
                     fmt::arg("cls", r.ok() ? "pass" : "fail"),
                     fmt::arg("result", r.ok() ? "PASS" : "FAIL"), fmt::arg("summary", summary),
                     fmt::arg("svgstyle", kSvgStyle), fmt::arg("w", kWidth), fmt::arg("h", height),
                     fmt::arg("body", body), fmt::arg("segments", segments), fmt::arg("nseg", [&] {
                       size_t n = 0;
                       for (const auto& m : r.memory) n += m.segments.size();
                       return n;
                     }()));
}

}  // namespace cocomem::cli
