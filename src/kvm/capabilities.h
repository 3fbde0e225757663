// KVM_CHECK_EXTENSION answers, for /dev/kvm (vm == nullptr) and for a VM.
//
// Only what the emulator implements is reported; each capability answers as the kernel
// computes it (e.g. per VM type), so a VMM probing caps sees a consistent machine.
#pragma once

namespace cocomem::kvm {

struct Params;
class Vm;

long CheckExtension(const Params& params, const Vm* vm, long cap);

}  // namespace cocomem::kvm
