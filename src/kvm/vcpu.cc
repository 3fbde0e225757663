#include "kvm/vcpu.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "base/trace.h"
#include "kvm/kvm.h"
#include "kvm/tdx/tdx_vm.h"
#include "kvm/vm.h"
#include "tdx/module/tdx_module.h"

struct ccm_guest {
  cocomem::kvm::Vcpu* vcpu;
};

namespace cocomem::kvm {

Result<std::unique_ptr<Vcpu>> Vcpu::Create(Vm& vm, uint32_t id) {
  const int fd = memfd_create("kvm-vcpu-run", MFD_CLOEXEC);
  if (fd < 0) return Error(errno);
  if (ftruncate(fd, kVcpuMmapSize) != 0) {
    const int e = errno;
    close(fd);
    return Error(e);
  }
  void* p = mmap(nullptr, kVcpuMmapSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    const int e = errno;
    close(fd);
    return Error(e);
  }
  return std::unique_ptr<Vcpu>(new Vcpu(vm, id, fd, static_cast<kvm_run*>(p)));
}

Vcpu::~Vcpu() {
  {
    std::lock_guard<std::mutex> l(mu_);
    dying_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  munmap(run_, kVcpuMmapSize);
  close(run_fd_);
}

Status Vcpu::SetGuest(void (*fn)(ccm_guest*, void*), void* arg) {
  std::lock_guard<std::mutex> run(run_mu_);
  if (thread_.joinable()) return Error(EBUSY);
  fn_ = fn;
  arg_ = arg;
  return Ok();
}

Status Vcpu::Run() {
  std::lock_guard<std::mutex> run(run_mu_);  // vcpu->mutex: one KVM_RUN at a time
  if (vm_.dead()) return Error(EIO);
  if (tdx::TdxVm* td = vm_.tdx()) {
    // tdx_vcpu_pre_run(): the TD must be finalized and this vCPU initialized.
    std::optional<Pfn> tdvpr = td->tdvpr(id_);
    if (!td->runnable() || !tdvpr) return Error(EINVAL);
    tdvpr_ = *tdvpr;
  }
  if (!fn_) return Error(EINVAL);
  if (run_->immediate_exit) {
    run_->exit_reason = KVM_EXIT_INTR;
    return Error(EINTR);
  }
  std::unique_lock<std::mutex> l(mu_);
  if (!thread_.joinable()) thread_ = std::thread([this] { GuestMain(); });
  turn_ = Turn::kGuest;
  cv_.notify_all();
  cv_.wait(l, [&] { return turn_ == Turn::kHost; });
  return exit_error_ ? Status(Error(exit_error_)) : Ok();
}

void Vcpu::GuestMain() {
  {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return turn_ == Turn::kGuest || dying_; });
    if (dying_) return;
  }
  ccm_guest g{this};
  fn_(&g, arg_);
  for (;;) {  // a guest that returned stays halted
    run_->exit_reason = KVM_EXIT_HLT;
    ExitToHost(0);
  }
}

void Vcpu::ExitToHost(int error) {
  std::unique_lock<std::mutex> l(mu_);
  exit_error_ = error;
  turn_ = Turn::kHost;
  cv_.notify_all();
  cv_.wait(l, [&] { return turn_ == Turn::kGuest || dying_; });
  if (dying_) {
    l.unlock();
    pthread_exit(nullptr);  // unwinds the guest's stack; the destructor joins us
  }
}

bool Vcpu::ExitForFault(const FaultResult& r, uint64_t gpa) {
  switch (r.kind) {
    case FaultResult::Kind::kMapped:
      return true;
    case FaultResult::Kind::kMemoryFault:
      run_->exit_reason = KVM_EXIT_MEMORY_FAULT;
      run_->memory_fault.flags = r.memory_fault_flags;
      run_->memory_fault.gpa = gpa & ~(kPageSize - 1);
      run_->memory_fault.size = kPageSize;
      ExitToHost(r.error);
      return true;  // userspace fixed it (or not): try again
    case FaultResult::Kind::kError:
      ExitForever(KVM_EXIT_UNKNOWN, r.error);
    case FaultResult::Kind::kMmio:
      return false;
  }
  return true;
}

[[noreturn]] void Vcpu::ExitForever(uint32_t exit_reason, int error) {
  for (;;) {
    run_->exit_reason = exit_reason;
    ExitToHost(error);
  }
}

void Vcpu::AccessPage(uint64_t gpa, std::byte* buf, size_t len, bool write) {
  std::optional<bool> forced_private;
  if (tdx::TdxVm* td = vm_.tdx()) {
    // A TD says which kind of access it makes with the GPA's shared bit.
    const uint64_t shared = td->shared_gpa_mask();
    if (!(gpa & shared)) return TdPrivateAccess(gpa, buf, len, write);
    gpa &= ~shared;
    forced_private = false;
  }
  for (;;) {
    // The access's kind, once per attempt: the hit path and the fault use the same answer.
    const bool is_private =
        forced_private ? *forced_private : vm_.MemIsPrivate(0, GfnOf(Gpa(gpa)));
    const bool done = vm_.WithGuestPage(
        0, Gpa(gpa), write,
        [&](std::byte* p) {
          if (write) {
            std::memcpy(p, buf, len);
          } else {
            std::memcpy(buf, p, len);
          }
        },
        is_private);
    if (done) return;
    const FaultResult r = vm_.HandleFault(FaultRequest{0, Gpa(gpa), is_private, write});
    if (ExitForFault(r, gpa)) continue;
    for (size_t done_len = 0; done_len < len; done_len += 8) {  // MMIO
      const size_t n = std::min<size_t>(8, len - done_len);
      run_->exit_reason = KVM_EXIT_MMIO;
      run_->mmio.phys_addr = gpa + done_len;
      run_->mmio.len = static_cast<uint32_t>(n);
      run_->mmio.is_write = write;
      std::memset(run_->mmio.data, 0, sizeof run_->mmio.data);
      if (write) std::memcpy(run_->mmio.data, buf + done_len, n);
      ExitToHost(0);
      if (!write) std::memcpy(buf + done_len, run_->mmio.data, n);
    }
    return;
  }
}

// ---- TDX --------------------------------------------------------------------------------

void Vcpu::EnterTd() {
  ::cocomem::tdx::TdxModule& module = vm_.tdx()->module();
  for (;;) {
    mode_seq_.fetch_add(1, std::memory_order_acq_rel);  // IN_GUEST_MODE
    if (module.VpEnter(HpaOf(tdvpr_)) == ::cocomem::tdx::TDX_SUCCESS) return;
    // The epoch lock is held by a TRACK: step out so its kick does not wait for us.
    mode_seq_.fetch_add(1, std::memory_order_acq_rel);
    std::this_thread::yield();
  }
}

void Vcpu::ExitTd() {
  vm_.tdx()->module().TdExitEpoch(HpaOf(tdvpr_));
  mode_seq_.fetch_add(1, std::memory_order_release);  // OUTSIDE_GUEST_MODE
}

void Vcpu::WaitOutsideGuestMode() const {
  const uint64_t seq = mode_seq_.load(std::memory_order_acquire);
  if (!(seq & 1)) return;
  while (mode_seq_.load(std::memory_order_acquire) == seq) std::this_thread::yield();
}

void Vcpu::TdPrivateAccess(uint64_t gpa, std::byte* buf, size_t len, bool write) {
  tdx::TdxVm& td = *vm_.tdx();
  for (;;) {
    EnterTd();
    const ::cocomem::tdx::GuestWalk w = td.module().Walk(td.tdr(), gpa, write);
    if (w.kind == ::cocomem::tdx::GuestWalk::Kind::kAccessible) {
      std::byte* p = vm_.kvm().arena().HardwareView(PfnOf(w.hpa)) + (w.hpa.value() & (kPageSize - 1));
      if (write) {
        std::memcpy(p, buf, len);
      } else {
        std::memcpy(buf, p, len);
      }
      ExitTd();
      return;
    }
    ExitTd();
    if (w.kind == ::cocomem::tdx::GuestWalk::Kind::kVe) {
      // A #VE for an unaccepted page: fatal for the guest (no handler), a triple fault.
      ExitForever(KVM_EXIT_SHUTDOWN, 0);
    }
    if ((w.exit.ext_exit_qualification & 0xf) == ::cocomem::tdx::kEeqTypePendingEptViolation) {
      // tdx_handle_ept_violation(): "Guest access before accepting" kills the VM.
      char why[96];
      std::snprintf(why, sizeof why, "TDX: guest access before accepting GPA 0x%llx",
                    static_cast<unsigned long long>(gpa));
      vm_.MarkDead(why);
      ExitForever(KVM_EXIT_UNKNOWN, EIO);
    }
    // A private EPT violation is handled as a write fault (TDX reports no access type).
    // (A private fault is never MMIO: without a memslot it is a memory-fault exit.)
    (void)ExitForFault(vm_.HandleFault(FaultRequest{0, Gpa(gpa), true, true}), gpa);
  }
}

uint64_t Vcpu::GuestSharedGpaMask() const {
  tdx::TdxVm* td = vm_.tdx();
  return td ? td->shared_gpa_mask() : 0;
}

uint64_t Vcpu::GuestTdxAccept(uint64_t gpa, int level) {
  tdx::TdxVm* td = vm_.tdx();
  if (!td) return ::cocomem::tdx::TDX_OPERAND_INVALID | ::cocomem::tdx::kOpRax;  // no TDCALL: #UD
  trace::Scope ts("tdcall", "TDG.MEM.PAGE.ACCEPT");
  ts.Arg("gpa", gpa);
  const uint64_t rcx = gpa | static_cast<uint64_t>(level & 7);
  for (;;) {
    EnterTd();
    const ::cocomem::tdx::TdcallResult r = td->module().TdgMemPageAccept(HpaOf(tdvpr_), rcx);
    ExitTd();
    if (!r.td_exit) return r.status;
    // EPT violation with EEQ ACCEPT: map the page at (at most) the level the guest accepts
    // at. A 4K accept inside a larger private leaf splits it first and keeps that 2M range
    // at 4K from now on; then the TDCALL runs again.
    const tdp::Level want = level == ::cocomem::tdx::kLvl2M ? tdp::Level::k2M : tdp::Level::k4K;
    const uint64_t page = gpa & ~(kPageSize - 1);
    if (want == tdp::Level::k4K) {
      if (Status s = vm_.SplitForAccept(GfnOf(Gpa(page)), want); !s.ok()) {
        ExitForever(KVM_EXIT_UNKNOWN, EIO);
      }
    }
    (void)ExitForFault(vm_.HandleFault(FaultRequest{.as_id = 0, .gpa = Gpa(page), .is_private = true,
                                                    .write = true, .max_level = want}),
                       page);
  }
}

uint64_t Vcpu::GuestTdxMapGpa(uint64_t gpa, uint64_t size) {
  constexpr uint64_t kSuccess = 0, kRetry = 1, kInvalidOperand = 0x8000000000000000ull,
                     kAlignError = 0x8000000000000002ull, kSubfuncUnsupported = 0x8000000000000003ull;
  constexpr uint64_t kMaxChunk = 2ull << 20;  // TDX_MAP_GPA_MAX_LEN
  tdx::TdxVm* td = vm_.tdx();
  if (!td) return kSubfuncUnsupported;
  trace::Scope ts("tdvmcall", "MapGPA");
  ts.Arg("gpa", gpa);
  ts.Arg("size", size);
  if (!(vm_.exit_hypercall_mask() & (uint64_t{1} << KVM_HC_MAP_GPA_RANGE))) return kSubfuncUnsupported;
  const uint64_t shared = td->shared_gpa_mask();
  const uint64_t limit = uint64_t{1} << td->gpaw();  // kvm_vcpu_is_legal_gpa
  if (gpa + size <= gpa || gpa >= limit || gpa + size - 1 >= limit ||
      ((gpa & shared) != ((gpa + size - 1) & shared))) {
    return kInvalidOperand;
  }
  if (!IsPageAligned(gpa) || !IsPageAligned(size)) return kAlignError;
  const bool to_private = !(gpa & shared);
  for (uint64_t next = gpa, end = gpa + size; next < end;) {
    const uint64_t chunk = std::min(end - next, kMaxChunk);
    run_->exit_reason = KVM_EXIT_HYPERCALL;
    run_->hypercall.nr = KVM_HC_MAP_GPA_RANGE;
    run_->hypercall.ret = 0;
    run_->hypercall.args[0] = next & ~shared;
    run_->hypercall.args[1] = chunk >> kPageShift;
    run_->hypercall.args[2] = to_private ? KVM_MAP_GPA_RANGE_ENCRYPTED : KVM_MAP_GPA_RANGE_DECRYPTED;
    run_->hypercall.flags = KVM_EXIT_HYPERCALL_LONG_MODE;
    ExitToHost(0);
    const int64_t ret = static_cast<int64_t>(run_->hypercall.ret);
    if (ret == -EBUSY) return kRetry;
    if (ret != 0) return kInvalidOperand;
    next += chunk;
  }
  return kSuccess;
}

uint64_t Vcpu::GuestTdxGetMrtd(uint8_t mrtd[48]) {
  tdx::TdxVm* td = vm_.tdx();
  if (!td) return ::cocomem::tdx::TDX_OPERAND_INVALID | ::cocomem::tdx::kOpRax;
  EnterTd();
  const ::cocomem::tdx::TdcallResult r = td->module().TdgMrReport(HpaOf(tdvpr_), mrtd);
  ExitTd();
  return r.status;
}

void Vcpu::GuestAccess(uint64_t gpa, void* buf, size_t len, bool write) {
  auto* b = static_cast<std::byte*>(buf);
  while (len > 0) {
    const size_t n = std::min<size_t>(len, kPageSize - (gpa & (kPageSize - 1)));
    AccessPage(gpa, b, n, write);
    gpa += n;
    b += n;
    len -= n;
  }
}

void Vcpu::GuestSync(uint64_t value) {
  run_->exit_reason = KVM_EXIT_IO;
  run_->io.direction = KVM_EXIT_IO_OUT;
  run_->io.size = 8;
  run_->io.port = CCM_SYNC_PORT;
  run_->io.count = 1;
  run_->io.data_offset = kPioDataOffset;
  std::memcpy(reinterpret_cast<std::byte*>(run_) + kPioDataOffset, &value, sizeof value);
  ExitToHost(0);
}

uint64_t Vcpu::GuestHypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2) {
  constexpr uint64_t kKvmEnosys = 1000, kKvmEinval = 22;
  if (nr >= 64 || !(vm_.exit_hypercall_mask() & (uint64_t{1} << nr))) return -kKvmEnosys;
  if (nr == KVM_HC_MAP_GPA_RANGE) {
    // Checked by KVM before userspace sees it.
    if (!IsPageAligned(a0) || a1 == 0 || (a0 >> kPageShift) + a1 <= (a0 >> kPageShift)) {
      return -kKvmEinval;
    }
  }
  run_->exit_reason = KVM_EXIT_HYPERCALL;
  run_->hypercall.nr = nr;
  run_->hypercall.args[0] = a0;
  run_->hypercall.args[1] = a1;
  run_->hypercall.args[2] = a2;
  run_->hypercall.flags = KVM_EXIT_HYPERCALL_LONG_MODE;
  run_->hypercall.ret = 0;
  ExitToHost(0);
  return run_->hypercall.ret;
}

void Vcpu::GuestHalt() {
  run_->exit_reason = KVM_EXIT_HLT;
  ExitToHost(0);
}

Status Vcpu::PreFault(uint64_t* gpa, uint64_t* size) {
  std::lock_guard<std::mutex> run(run_mu_);
  if (vm_.dead()) return Error(EIO);
  // kvm->arch.pre_fault_allowed: a TD only once finalized.
  if (vm_.tdx() && !vm_.tdx()->runnable()) return Error(EOPNOTSUPP);
  const uint64_t full = *size;
  Status r;
  while (*size > 0) {
    const FaultResult f = vm_.HandleFault(
        FaultRequest{0, Gpa(*gpa), vm_.MemIsPrivate(0, GfnOf(Gpa(*gpa))), false});
    if (f.kind == FaultResult::Kind::kMmio) {
      r = Error(ENOENT);
      break;
    }
    if (f.kind == FaultResult::Kind::kMemoryFault) {
      r = Error(f.error);
      break;
    }
    // The whole leaf is mapped now: skip to its end.
    const uint64_t leaf_end = (AlignDown(GfnOf(Gpa(*gpa)), tdp::OrderOf(f.level)) +
                               tdp::PagesAt(f.level)).value() << kPageShift;
    const uint64_t n = std::min(leaf_end - *gpa, *size);
    *gpa += n;
    *size -= n;
  }
  // Success if at least one page was mapped.
  return *size == full ? r : Ok();
}

}  // namespace cocomem::kvm

// ---- guest.h ------------------------------------------------------------------------------

extern "C" {

void ccm_guest_read(ccm_guest* g, uint64_t gpa, void* buf, size_t len) {
  g->vcpu->GuestAccess(gpa, buf, len, false);
}
void ccm_guest_write(ccm_guest* g, uint64_t gpa, const void* buf, size_t len) {
  g->vcpu->GuestAccess(gpa, const_cast<void*>(buf), len, true);
}
uint64_t ccm_guest_read64(ccm_guest* g, uint64_t gpa) {
  uint64_t v = 0;
  g->vcpu->GuestAccess(gpa, &v, sizeof v, false);
  return v;
}
void ccm_guest_write64(ccm_guest* g, uint64_t gpa, uint64_t value) {
  g->vcpu->GuestAccess(gpa, &value, sizeof value, true);
}
void ccm_guest_sync(ccm_guest* g, uint64_t value) { g->vcpu->GuestSync(value); }
uint64_t ccm_guest_hypercall(ccm_guest* g, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2) {
  return g->vcpu->GuestHypercall(nr, a0, a1, a2);
}
void ccm_guest_halt(ccm_guest* g) { g->vcpu->GuestHalt(); }
int ccm_guest_vcpu_id(ccm_guest* g) { return static_cast<int>(g->vcpu->id()); }
uint64_t ccm_guest_shared_gpa_mask(ccm_guest* g) { return g->vcpu->GuestSharedGpaMask(); }
uint64_t ccm_guest_tdx_accept(ccm_guest* g, uint64_t gpa, int level) {
  return g->vcpu->GuestTdxAccept(gpa, level);
}
uint64_t ccm_guest_tdx_map_gpa(ccm_guest* g, uint64_t gpa, uint64_t size) {
  return g->vcpu->GuestTdxMapGpa(gpa, size);
}
uint64_t ccm_guest_tdx_get_mrtd(ccm_guest* g, uint8_t mrtd[48]) {
  return g->vcpu->GuestTdxGetMrtd(mrtd);
}

}  // extern "C"
