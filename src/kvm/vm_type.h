// x86 VM types (KVM_CREATE_VM's argument) and what each implies for memory.
#pragma once

#include <cstdint>
#include <optional>

namespace cocomem::kvm {

enum class VmType : uint8_t {
  kDefault = 0,      // KVM_X86_DEFAULT_VM
  kSwProtected = 1,  // KVM_X86_SW_PROTECTED_VM: private memory, no hardware protection
  kSev = 2,
  kSevEs = 3,
  kSnp = 4,
  kTdx = 5,  // KVM_X86_TDX_VM
};

// Types the emulator creates; KVM_CAP_VM_TYPES reports exactly these.
inline constexpr uint64_t kSupportedVmTypes =
    (1u << static_cast<unsigned>(VmType::kDefault)) |
    (1u << static_cast<unsigned>(VmType::kSwProtected)) |
    (1u << static_cast<unsigned>(VmType::kTdx));

inline std::optional<VmType> SupportedVmType(unsigned long type) {
  if (type >= 64 || !(kSupportedVmTypes & (uint64_t{1} << type))) return std::nullopt;
  return static_cast<VmType>(type);
}

// kvm_arch_has_private_mem(): the VM distinguishes private from shared GPAs.
constexpr bool HasPrivateMem(VmType t) {
  return t == VmType::kSwProtected || t == VmType::kSnp || t == VmType::kTdx;
}

constexpr const char* VmTypeName(VmType t) {
  switch (t) {
    case VmType::kDefault: return "default";
    case VmType::kSwProtected: return "sw-protected";
    case VmType::kSev: return "sev";
    case VmType::kSevEs: return "sev-es";
    case VmType::kSnp: return "snp";
    case VmType::kTdx: return "tdx";
  }
  return "?";
}

}  // namespace cocomem::kvm
