// Vcpu: one emulated vCPU. Its guest is a C function run on a thread of its own; KVM_RUN
// hands the CPU to that thread and waits until it exits to userspace, with `struct
// kvm_run` (a shared page the VMM mmaps from the vCPU fd) filled as the kernel fills it.
//
// The host and guest threads alternate strictly (one runs, the other waits), like a vCPU
// thread inside KVM_RUN. Destroying a vCPU whose guest is parked unwinds the guest thread
// at its next guest-API call.
#pragma once

#include <cocomem/guest.h>
#include <cocomem/kvm.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

#include "base/memory_types.h"
#include "base/result.h"
#include "kvm/fault.h"

namespace cocomem::kvm {

class Vm;

inline constexpr size_t kVcpuMmapSize = 3 * 4096;  // run page, PIO data page, coalesced MMIO
inline constexpr uint64_t kPioDataOffset = 4096;

class Vcpu {
 public:
  // ENOMEM if the run area cannot be made.
  static Result<std::unique_ptr<Vcpu>> Create(Vm& vm, uint32_t id);
  ~Vcpu();
  Vcpu(const Vcpu&) = delete;
  Vcpu& operator=(const Vcpu&) = delete;

  uint32_t id() const { return id_; }
  int run_fd() const { return run_fd_; }  // memfd behind the mmap-able run area
  kvm_run* run() const { return run_; }

  // CCM_VCPU_SET_GUEST: EBUSY once the guest has started.
  Status SetGuest(void (*fn)(ccm_guest*, void*), void* arg);
  // KVM_RUN: 0 with run->exit_reason set, or an errno (EFAULT/EHWPOISON memory faults,
  // EINTR for immediate_exit, EINVAL without a guest).
  Status Run();
  // KVM_PRE_FAULT_MEMORY: maps [gpa, gpa + size) as a fault would, advancing *gpa/*size
  // as it goes.
  Status PreFault(uint64_t* gpa, uint64_t* size);

  // ---- the guest side (guest.h), called on the guest thread -------------------------
  void GuestAccess(uint64_t gpa, void* buf, size_t len, bool write);
  void GuestSync(uint64_t value);
  uint64_t GuestHypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2);
  void GuestHalt();
  // TDX: TDG.MEM.PAGE.ACCEPT, TDVMCALL MapGPA, TDG.MR.REPORT's MRTD (guest.h).
  uint64_t GuestTdxAccept(uint64_t gpa, int level);
  uint64_t GuestTdxMapGpa(uint64_t gpa, uint64_t size);
  uint64_t GuestTdxGetMrtd(uint8_t mrtd[48]);
  uint64_t GuestSharedGpaMask() const;

  // ---- kicks ----------------------------------------------------------------------------
  // Returns once this vCPU is outside guest mode or has left it since the call began
  // (kvm_make_all_cpus_request(KVM_REQ_OUTSIDE_GUEST_MODE) for one vCPU).
  void WaitOutsideGuestMode() const;

 private:
  Vcpu(Vm& vm, uint32_t id, int run_fd, kvm_run* run) : vm_(vm), id_(id), run_fd_(run_fd), run_(run) {}
  void GuestMain();
  // Publishes the exit in run_ (already filled) with result `error` (0 = success) and
  // waits for the next KVM_RUN. Never returns if the vCPU is being destroyed.
  void ExitToHost(int error);
  // One page's access; loops through faults and exits until it succeeds.
  void AccessPage(uint64_t gpa, std::byte* buf, size_t len, bool write);
  // A TD's access to a private GPA: the CPU walks the Secure EPT while in the TD.
  void TdPrivateAccess(uint64_t gpa, std::byte* buf, size_t len, bool write);
  // What KVM_RUN gets from a fault that did not map: fills run_ and exits to the host.
  // Returns false for MMIO (the caller emulates it).
  bool ExitForFault(const FaultResult& r, uint64_t gpa);
  // TDH.VP.ENTER / TD exit around the time the CPU runs in the TD (vcpu->mode and the
  // module's epoch refcounts).
  void EnterTd();
  void ExitTd();
  // The guest is dead: exits with `reason` (KVM_EXIT_SHUTDOWN) or error, forever.
  [[noreturn]] void ExitForever(uint32_t exit_reason, int error);

  Vm& vm_;  // owns us
  const uint32_t id_;
  const int run_fd_;
  kvm_run* const run_;

  std::mutex run_mu_;  // one KVM_RUN / PRE_FAULT at a time (vcpu->mutex)
  std::mutex mu_;
  std::condition_variable cv_;
  enum class Turn { kHost, kGuest } turn_ = Turn::kHost;  // guarded by mu_
  bool dying_ = false;                                    // guarded by mu_
  int exit_error_ = 0;                                    // guarded by mu_
  void (*fn_)(ccm_guest*, void*) = nullptr;
  void* arg_ = nullptr;
  std::thread thread_;

  // Odd while the vCPU runs in the guest (IN_GUEST_MODE); bumped on every entry and exit.
  std::atomic<uint64_t> mode_seq_{0};
  Pfn tdvpr_;  // TDX: set by the first KVM_RUN
};

}  // namespace cocomem::kvm
