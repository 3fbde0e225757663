#include "cli/caps.h"

#include <cocomem/kvm.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "kvm/vm_type.h"
#include "sys/emu_backend.h"

namespace cocomem::cli {
namespace {

struct CapRow {
  const char* name;
  long cap;
  enum class Shape { kBool, kNumber, kGmemFlags, kAttrs, kVmTypes } shape;
};

constexpr CapRow kSystemCaps[] = {
    {"KVM_CAP_VM_TYPES", KVM_CAP_VM_TYPES, CapRow::Shape::kVmTypes},
    {"KVM_CAP_USER_MEMORY", KVM_CAP_USER_MEMORY, CapRow::Shape::kBool},
    {"KVM_CAP_USER_MEMORY2", KVM_CAP_USER_MEMORY2, CapRow::Shape::kBool},
    {"KVM_CAP_GUEST_MEMFD", KVM_CAP_GUEST_MEMFD, CapRow::Shape::kBool},
    {"KVM_CAP_GUEST_MEMFD_FLAGS", KVM_CAP_GUEST_MEMFD_FLAGS, CapRow::Shape::kGmemFlags},
    {"KVM_CAP_MEMORY_ATTRIBUTES", KVM_CAP_MEMORY_ATTRIBUTES, CapRow::Shape::kAttrs},
    {"KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES", KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES,
     CapRow::Shape::kAttrs},
    {"KVM_CAP_MEMORY_FAULT_INFO", KVM_CAP_MEMORY_FAULT_INFO, CapRow::Shape::kBool},
    {"KVM_CAP_PRE_FAULT_MEMORY", KVM_CAP_PRE_FAULT_MEMORY, CapRow::Shape::kBool},
    {"KVM_CAP_NR_VCPUS", KVM_CAP_NR_VCPUS, CapRow::Shape::kNumber},
};

constexpr CapRow kVmCaps[] = {
    {"guest_memfd", KVM_CAP_GUEST_MEMFD, CapRow::Shape::kBool},
    {"guest_memfd flags", KVM_CAP_GUEST_MEMFD_FLAGS, CapRow::Shape::kGmemFlags},
    {"memory attributes", KVM_CAP_MEMORY_ATTRIBUTES, CapRow::Shape::kAttrs},
    {"guest_memfd attributes", KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES, CapRow::Shape::kAttrs},
};

std::string Flags(uint64_t v, bool emulator) {
  if (v == 0) return "none";
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : "|") + s; };
  // Bits 2 and 3 are cocomem's choice for two unmerged series; a kernel may differ.
  const char* names[] = {"MMAP", "INIT_SHARED", emulator ? "NO_DIRECT_MAP" : nullptr,
                         emulator ? "HUGETLB" : nullptr};
  for (unsigned bit = 0; bit < 64; bit++) {
    if (!(v & (uint64_t{1} << bit))) continue;
    add(bit < 4 && names[bit] ? names[bit] : fmt::format("bit{}", bit));
  }
  return out;
}

std::string VmTypes(uint64_t v) {
  if (v == 0) return "none";
  std::string out;
  for (unsigned t = 0; t < 64; t++) {
    if (!(v & (uint64_t{1} << t))) continue;
    if (!out.empty()) out += ",";
    out += t <= 5 ? kvm::VmTypeName(static_cast<kvm::VmType>(t)) : fmt::format("type{}", t);
  }
  return out;
}

std::string Render(const CapRow& row, int r, bool emulator) {
  if (r < 0) return fmt::format("error ({})", std::strerror(errno));
  switch (row.shape) {
    case CapRow::Shape::kBool: return r ? "yes" : "no";
    case CapRow::Shape::kNumber: return std::to_string(r);
    case CapRow::Shape::kGmemFlags: return Flags(static_cast<uint64_t>(r), emulator);
    case CapRow::Shape::kAttrs:
      return r == 0 ? "none" : (r == KVM_MEMORY_ATTRIBUTE_PRIVATE ? "PRIVATE" : fmt::format("{:#x}", r));
    case CapRow::Shape::kVmTypes: return VmTypes(static_cast<uint64_t>(r));
  }
  return "?";
}

std::string HumanBytes(uint64_t b) {
  if (b >= (uint64_t{1} << 40) && b % (uint64_t{1} << 30) == 0)
    return fmt::format("{:.2f} TiB", static_cast<double>(b) / static_cast<double>(uint64_t{1} << 40));
  if (b >= (uint64_t{1} << 30)) return fmt::format("{} GiB", b >> 30);
  return fmt::format("{} MiB", b >> 20);
}

}  // namespace

CapsReport CollectCaps(sys::Backend& backend) {
  CapsReport rep;
  const bool emulator = backend.kind() == sys::BackendKind::kEmu;
  if (emulator) {
    rep.backend = "emulator";
  } else {
    utsname u{};
    uname(&u);
    rep.backend = fmt::format("host kernel {}", u.release);
  }

  int kvm = backend.Open("/dev/kvm", O_RDWR | O_CLOEXEC, 0);
  if (kvm < 0) {
    int e = errno;
    if (e == ENOENT) {
      rep.unavailable = "no /dev/kvm on this machine (KVM module not loaded or no virtualization)";
    } else if (e == EACCES || e == EPERM) {
      rep.unavailable = "/dev/kvm is not accessible to this user (add it to the 'kvm' group)";
    } else {
      rep.unavailable = fmt::format("/dev/kvm could not be opened: {}", std::strerror(e));
    }
  } else {
    int v = backend.Ioctl(kvm, KVM_GET_API_VERSION, 0);
    if (v >= 0) rep.api_version = v;
    for (const CapRow& row : kSystemCaps) {
      rep.system.emplace_back(row.name, Render(row, backend.Ioctl(kvm, KVM_CHECK_EXTENSION,
                                                                 static_cast<uintptr_t>(row.cap)),
                                               emulator));
    }
    int types = backend.Ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES);
    for (unsigned t : {0u, 1u, 5u}) {
      const std::string vm_name = kvm::VmTypeName(static_cast<kvm::VmType>(t));
      int vm = (types > 0 && (types & (1 << t))) ? backend.Ioctl(kvm, KVM_CREATE_VM, t) : -1;
      for (const CapRow& row : kVmCaps) {
        std::string value = "- (no such VM type)";
        if (vm >= 0) {
          value = Render(row, backend.Ioctl(vm, KVM_CHECK_EXTENSION, static_cast<uintptr_t>(row.cap)),
                         emulator);
        }
        rep.per_vm.emplace_back(fmt::format("{} VM: {}", vm_name, row.name), value);
      }
      if (vm >= 0) backend.Close(vm);
    }
    backend.Close(kvm);
  }

  if (emulator) {
    auto machine = static_cast<sys::EmuBackend&>(backend).Machine();
    if (machine.ok()) {
      const host::Arena& arena = (*machine)->arena();
      rep.notes.emplace_back("arena", fmt::format("{} sparse memfd", HumanBytes(arena.capacity_bytes())));
      rep.notes.emplace_back("arena pages", arena.backing_description());
      for (const auto& [name, value] : (*machine)->params().List()) {
        rep.notes.emplace_back("kvm." + name, value);
      }
    }
  } else if (rep.unavailable.empty()) {
    for (const char* p : {"tdp_mmu", "nx_huge_pages"}) {
      std::string path = fmt::format("/sys/module/kvm/parameters/{}", p);
      if (FILE* f = std::fopen(path.c_str(), "r")) {
        char buf[64] = {};
        if (std::fgets(buf, sizeof buf, f)) {
          std::string s(buf);
          if (!s.empty() && s.back() == '\n') s.pop_back();
          rep.notes.emplace_back(fmt::format("kvm.{}", p), s);
        }
        std::fclose(f);
      }
    }
  }
  return rep;
}

std::string FormatCaps(const CapsReport& emu, const CapsReport& host) {
  std::vector<std::tuple<std::string, std::string, std::string>> rows;
  auto value_of = [](const auto& list, const std::string& key, const CapsReport& rep) {
    if (!rep.unavailable.empty()) return std::string("-");
    for (const auto& [k, v] : list) {
      if (k == key) return v;
    }
    return std::string("-");
  };
  auto api = [](const CapsReport& r) {
    return r.api_version ? std::to_string(*r.api_version) : std::string("-");
  };
  rows.emplace_back("KVM_GET_API_VERSION", api(emu), api(host));
  const CapsReport& keys = emu.unavailable.empty() ? emu : host;
  for (const auto& [k, v] : keys.system) rows.emplace_back(k, value_of(emu.system, k, emu), value_of(host.system, k, host));
  for (const auto& [k, v] : keys.per_vm) rows.emplace_back(k, value_of(emu.per_vm, k, emu), value_of(host.per_vm, k, host));

  size_t w0 = 10, w1 = emu.backend.size(), w2 = host.backend.size();
  for (const auto& [a, b, c] : rows) {
    w0 = std::max(w0, a.size());
    w1 = std::max(w1, b.size());
    w2 = std::max(w2, c.size());
  }
  std::string out = fmt::format("{:<{}}  {:<{}}  {}\n", "", w0, emu.backend, w1, host.backend);
  out += fmt::format("{:-<{}}  {:-<{}}  {:-<{}}\n", "", w0, "", w1, "", w2);
  for (const auto& [a, b, c] : rows) out += fmt::format("{:<{}}  {:<{}}  {}\n", a, w0, b, w1, c);
  for (const CapsReport* r : {&emu, &host}) {
    if (!r->unavailable.empty()) out += fmt::format("\nnote ({}): {}\n", r->backend, r->unavailable);
  }
  out += "\n";
  for (const CapsReport* r : {&emu, &host}) {
    for (const auto& [k, v] : r->notes) out += fmt::format("{} {}: {}\n", r->backend, k, v);
  }
  return out;
}

std::string CapsJson(const CapsReport& emu, const CapsReport& host) {
  auto one = [](const CapsReport& r) {
    nlohmann::json j;
    j["backend"] = r.backend;
    if (!r.unavailable.empty()) j["unavailable"] = r.unavailable;
    if (r.api_version) j["api_version"] = *r.api_version;
    for (const auto& [k, v] : r.system) j["system"][k] = v;
    for (const auto& [k, v] : r.per_vm) j["per_vm"][k] = v;
    for (const auto& [k, v] : r.notes) j["notes"][k] = v;
    return j;
  };
  nlohmann::json j;
  j["emulator"] = one(emu);
  j["host"] = one(host);
  return j.dump(2) + "\n";
}

}  // namespace cocomem::cli
