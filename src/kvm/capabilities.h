// KVM_CHECK_EXTENSION answers, for /dev/kvm (vm == nullptr) and for a VM.
//
// Only what the emulator implements is reported; each capability answers as the kernel
// computes it (e.g. per VM type), so a VMM probing caps sees a consistent machine.
#pragma once

#include <cstdint>

namespace cocomem::kvm {

struct Params;
class Vm;

long CheckExtension(const Params& params, const Vm* vm, long cap);

// kvm_gmem_get_supported_flags(): MMAP always; INIT_SHARED unless the VM has private
// memory without in-place conversion; NO_DIRECT_MAP except on TDX and SNP (decision 4);
// HUGETLB always. vm == nullptr: everything (the /dev/kvm answer).
uint64_t SupportedGmemFlags(const Params& params, const Vm* vm);
// kvm_supported_mem_attributes(): PRIVATE for VMs with private memory (and for /dev/kvm).
uint64_t SupportedMemAttributes(const Vm* vm);

}  // namespace cocomem::kvm
