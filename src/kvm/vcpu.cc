#include "kvm/vcpu.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "kvm/vm.h"

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

void Vcpu::AccessPage(uint64_t gpa, std::byte* buf, size_t len, bool write) {
  for (;;) {
    // The access's kind, once per attempt: the hit path and the fault use the same answer.
    const bool is_private = vm_.MemIsPrivate(0, GfnOf(Gpa(gpa)));
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
    switch (r.kind) {
      case FaultResult::Kind::kMapped:
        continue;
      case FaultResult::Kind::kMemoryFault:
        run_->exit_reason = KVM_EXIT_MEMORY_FAULT;
        run_->memory_fault.flags = r.memory_fault_flags;
        run_->memory_fault.gpa = gpa & ~(kPageSize - 1);
        run_->memory_fault.size = kPageSize;
        ExitToHost(r.error);
        continue;  // userspace fixed it (or not): try again
      case FaultResult::Kind::kMmio:
        for (size_t done_len = 0; done_len < len; done_len += 8) {
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

}  // extern "C"
