// What a guest page fault asks for and what it came to (kvm_page_fault and the exit it may
// turn into). The path itself is Vm::HandleFault (fault.cc).
#pragma once

#include <cstdint>

#include "base/memory_types.h"
#include "kvm/tdp/spte.h"

namespace cocomem::kvm {

struct FaultRequest {
  uint16_t as_id = 0;
  Gpa gpa;
  bool is_private = false;  // PFERR_PRIVATE_ACCESS
  bool write = false;
  // The largest mapping the fault may install (TDX: the level the guest accepts at).
  tdp::Level max_level = tdp::Level::k1G;
};

struct FaultResult {
  enum class Kind {
    kMapped,       // a leaf maps the GFN now (maybe installed by a racing fault)
    kMemoryFault,  // KVM_EXIT_MEMORY_FAULT: KVM_RUN returns -1 with `error`
    kMmio,         // no memslot: KVM_EXIT_MMIO
    kError,        // KVM_RUN fails with `error` and no exit (EIO: the VM is bugged)
  };
  Kind kind = Kind::kMapped;
  int error = 0;                // errno for kMemoryFault (EFAULT, EHWPOISON, ENOMEM, ...)
  uint64_t memory_fault_flags = 0;  // KVM_MEMORY_EXIT_FLAG_PRIVATE if the access was private
  tdp::Level level = tdp::Level::k4K;
  uint32_t retries = 0;
  bool spurious = false;  // a leaf was already there (a racing fault, or a second INIT)
};

}  // namespace cocomem::kvm
