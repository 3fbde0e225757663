#include "cli/report_json.h"

namespace cocomem::cli {

nlohmann::json RunJson(const RunResult& r) {
  using nlohmann::json;
  json j;
  j["schema"] = kRunSchema;
  j["scenario"] = {{"name", r.name}, {"path", r.path}, {"description", r.description}};
  j["result"] = r.ok() ? "pass" : "fail";
  j["vm"] = {{"type", r.vm_type}, {"vcpus", r.vcpus}, {"backend", r.backend}};
  j["guest_memfds"] = r.gmems;
  j["mrtd"] = {{"guest", r.mrtd_guest ? json(*r.mrtd_guest) : json(nullptr)},
               {"module", r.mrtd_module ? json(*r.mrtd_module) : json(nullptr)}};
  j["exits"] = json::object();
  for (const auto& [k, v] : r.exits) j["exits"][k] = v;
  j["guest"] = {{"steps", r.guest.steps},           {"bytes_written", r.guest.bytes_written},
                {"bytes_read", r.guest.bytes_read}, {"bytes_verified", r.guest.bytes_verified},
                {"accepts", r.guest.accepts},       {"map_gpa", r.guest.map_gpa},
                {"random_ops", r.guest.random_ops}, {"syncs", r.guest.syncs}};
  j["stats"] = json::object();
  for (const auto& [k, v] : r.stats) j["stats"][k] = j["stats"].value(k, uint64_t{0}) + v;
  j["seamcalls"] = json::array();
  for (const auto& c : r.seamcalls)
    j["seamcalls"].push_back({{"leaf", c.leaf}, {"status", c.status}, {"count", c.count}});
  j["arena"] = {{"reserved_bytes", r.arena_reserved}, {"committed_bytes", r.arena_committed}};
  j["phases"] = json::array();
  for (const auto& p : r.phases) j["phases"].push_back({{"name", p.name}, {"ms", p.ms}});
  j["invariants"] = {{"checks", r.invariant_checks}, {"violations", json::array()}};
  for (const auto& v : r.violations)
    j["invariants"]["violations"].push_back({{"when", v.when}, {"message", v.message}});
  j["expectations"] = json::array();
  for (const auto& e : r.expectations) {
    j["expectations"].push_back({{"what", e.what},
                                 {"ok", e.ok},
                                 {"detail", e.detail},
                                 {"line", e.loc.line},
                                 {"column", e.loc.column}});
  }
  j["errors"] = r.errors;
  j["guest_failures"] = r.guest_failures;
  j["notes"] = r.notes;
  j["host_actions"] = r.host_log;
  j["memory"] = json::array();
  for (const SlotMap& m : r.memory) {
    json slot = {{"slot", m.slot},        {"gpa", m.gpa},       {"size", m.size},
                 {"guest_memfd", m.gmem}, {"offset", m.offset}, {"segments", json::array()}};
    for (const MemorySegment& s : m.segments) {
      json seg = {{"gpa", s.gpa},
                  {"size", s.size},
                  {"offset", s.offset},
                  {"private", s.is_private},
                  {"folio", s.folio},
                  {"mapping", s.mapping},
                  {"poisoned", s.poisoned},
                  {"punched", s.punched},
                  {"pfn", s.pfn}};
      if (!s.sept.empty()) seg["sept"] = s.sept;
      slot["segments"].push_back(std::move(seg));
    }
    j["memory"].push_back(std::move(slot));
  }
  return j;
}

}  // namespace cocomem::cli
