#include "cli/measure.h"

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <vector>

#include "cli/pattern.h"
#include "tdx/module/measurement.h"

namespace cocomem::cli {

bool ImageRegionBytes(const ImageRegion& r, std::byte* buf, std::string* error) {
  if (r.pattern) {
    FillPattern(*r.pattern, r.gpa, buf, r.size);
    return true;
  }
  std::memset(buf, 0, r.size);
  std::ifstream in(r.file, std::ios::binary);
  if (!in) {
    *error = fmt::format("image region '{}': cannot read '{}'", r.name, r.file);
    return false;
  }
  in.read(reinterpret_cast<char*>(buf), static_cast<std::streamsize>(r.size));
  return true;
}

MeasureResult MeasureScenario(const Scenario& s) {
  MeasureResult res;
  if (s.vm.type != VmKind::kTdx) {
    res.error = "measure needs a tdx scenario (vm.type: tdx)";
    return res;
  }
  tdx::Measurement m;
  std::vector<std::byte> buf;
  for (const ImageRegion& r : s.image) {
    buf.assign(r.size, std::byte{0});
    if (!ImageRegionBytes(r, buf.data(), &res.error)) return res;
    for (uint64_t off = 0; off < r.size; off += 4096) {
      m.AddPage(r.gpa + off, reinterpret_cast<const uint8_t*>(buf.data() + off), r.measure);
      ++res.pages_added;
      if (r.measure) ++res.pages_measured;
    }
  }
  for (uint8_t b : m.Finalize()) res.mrtd += fmt::format("{:02x}", b);
  return res;
}

}  // namespace cocomem::cli
