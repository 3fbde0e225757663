#include "cli/scenario.h"

#include <fmt/format.h>

namespace cocomem::cli {

std::string CountExpectation::ToString() const {
  switch (op) {
    case Op::kEq:
      return fmt::format("{}", n);
    case Op::kGe:
      return fmt::format(">= {}", n);
    case Op::kLe:
      return fmt::format("<= {}", n);
  }
  return "?";
}

const char* VmKindName(VmKind k) {
  switch (k) {
    case VmKind::kDefault:
      return "default";
    case VmKind::kSwProtected:
      return "sw-protected";
    case VmKind::kTdx:
      return "tdx";
  }
  return "?";
}

const char* HostActionName(HostAction::Kind k) {
  switch (k) {
    case HostAction::Kind::kConvert:
      return "convert";
    case HostAction::Kind::kPunch:
      return "punch";
    case HostAction::Kind::kAllocate:
      return "allocate";
    case HostAction::Kind::kPin:
      return "pin";
    case HostAction::Kind::kUnpin:
      return "unpin";
    case HostAction::Kind::kPoison:
      return "poison";
    case HostAction::Kind::kClose:
      return "close";
    case HostAction::Kind::kWrite:
      return "write";
    case HostAction::Kind::kVerify:
      return "verify";
    case HostAction::Kind::kCheck:
      return "check";
  }
  return "?";
}

const char* ExitKindName(ExitKind k) {
  switch (k) {
    case ExitKind::kSync:
      return "sync";
    case ExitKind::kHypercall:
      return "hypercall";
    case ExitKind::kMemoryFault:
      return "memory_fault";
    case ExitKind::kHwpoison:
      return "hwpoison";
    case ExitKind::kMmio:
      return "mmio";
    case ExitKind::kHlt:
      return "hlt";
    case ExitKind::kShutdown:
      return "shutdown";
    case ExitKind::kFailed:
      return "failed";
  }
  return "?";
}

const GmemSpec* Scenario::FindGmem(const std::string& n) const {
  for (const auto& g : gmems) {
    if (g.name == n) return &g;
  }
  return nullptr;
}

const SlotSpec* Scenario::SlotAt(uint64_t gpa) const {
  for (const auto& s : slots) {
    if (gpa >= s.gpa && gpa - s.gpa < s.size) return &s;
  }
  return nullptr;
}

std::string FormatDiagnostic(const std::string& path, const Diagnostic& d) {
  if (d.loc.line == 0) return fmt::format("{}: {}", path, d.message);
  return fmt::format("{}:{}:{}: {}", path, d.loc.line, d.loc.column, d.message);
}

std::string FormatSize(uint64_t bytes) {
  struct Unit {
    uint64_t size;
    const char* suffix;
  };
  static constexpr Unit kUnits[] = {
      {1ull << 40, "T"}, {1ull << 30, "G"}, {1ull << 20, "M"}, {1ull << 10, "K"}};
  if (bytes == 0) return "0";
  for (const Unit& u : kUnits) {
    if (bytes % u.size == 0) return fmt::format("{}{}", bytes / u.size, u.suffix);
  }
  return fmt::format("{}", bytes);
}

std::string FormatHex(uint64_t v) {
  return fmt::format("{:#x}", v);
}

}  // namespace cocomem::cli
