#include "cli/runner.h"

#include <cocomem/kvm.h>
#include <cocomem/sys.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "base/trace.h"
#include "cli/guest_program.h"
#include "cli/host_env.h"
#include "cli/measure.h"
#include "cli/memory_map.h"
#include "cli/pattern.h"
#include "cli/tdx_report.h"
#include "gmem/inode.h"
#include "host/arena.h"
#include "kvm/kvm.h"
#include "kvm/vm.h"
#include "sys/introspect.h"

namespace cocomem::cli {

bool UseEmulatorBackend() {
  // The facade reads COCOMEM_BACKEND once, at its first call.
  const char* cur = std::getenv("COCOMEM_BACKEND");
  if (cur != nullptr && std::strcmp(cur, "emu") != 0 && *cur != '\0') {
    setenv("COCOMEM_BACKEND", "emu", 1);
  } else if (cur == nullptr) {
    setenv("COCOMEM_BACKEND", "emu", 1);
  }
  const char* name = ccm_backend_name();
  return name != nullptr && std::strcmp(name, "emu") == 0;
}

namespace {

constexpr uint64_t k4K = 4096;
constexpr unsigned kMaxViolations = 100;
constexpr unsigned kMaxRepeatedFaults = 8;

unsigned long VmTypeOf(VmKind k) {
  switch (k) {
    case VmKind::kDefault:
      return KVM_X86_DEFAULT_VM;
    case VmKind::kSwProtected:
      return KVM_X86_SW_PROTECTED_VM;
    case VmKind::kTdx:
      return KVM_X86_TDX_VM;
  }
  return KVM_X86_DEFAULT_VM;
}

class Runner {
 public:
  Runner(const Scenario& s, const RunOptions& o) : s_(s), opt_(o), env_(s), shared_(o.progress) {}
  ~Runner() {
    for (auto& v : vcpus_) {
      if (v->run != nullptr) ccm_munmap(v->run, run_size_);
      if (v->fd >= 0) ccm_close(v->fd);
    }
  }
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  RunResult Run() {
    r_.name = s_.name;
    r_.path = s_.path;
    r_.description = s_.description;
    r_.vm_type = VmKindName(s_.vm.type);
    r_.vcpus = static_cast<uint32_t>(s_.vcpus.size());
    r_.backend = ccm_backend_name() ? ccm_backend_name() : "?";
    for (const GmemSpec& g : s_.gmems) {
      std::string flags;
      if (g.mmap) flags += " mmap";
      if (g.init_shared) flags += " init_shared";
      if (g.no_direct_map) flags += " no_direct_map";
      if (g.page_size > k4K) flags += " hugetlb";
      r_.gmems.push_back(fmt::format("{}: {}, {} pages{}", g.name, FormatSize(g.size),
                                     FormatSize(g.page_size), flags));
    }
    if (opt_.trace) opt_.trace->NameThread("vmm");
    uint64_t work = s_.image.size() + 2;
    for (const VcpuProgram& p : s_.vcpus) work += ProgramWork(p.steps);
    if (opt_.progress) opt_.progress->SetTotal(work);

    bool ok = Phase("setup", [&] { return Setup(); });
    if (ok) ok = Phase("image", [&] { return Image(); });
    if (ok && tdx()) ok = Phase("finalize", [&] { return Finalize(); });
    if (ok)
      Phase("run", [&] {
        RunVcpus();
        return true;
      });
    Phase("checks", [&] {
      Finish(ok);
      return true;
    });
    return std::move(r_);
  }

 private:
  bool tdx() const { return s_.vm.type == VmKind::kTdx; }

  template <typename Fn>
  bool Phase(const char* name, Fn&& fn) {
    if (opt_.progress) opt_.progress->SetPhase(name);
    trace::Scope ts("cli", name);
    const auto t0 = std::chrono::steady_clock::now();
    const bool ok = fn();
    const auto t1 = std::chrono::steady_clock::now();
    r_.phases.push_back({name, std::chrono::duration<double, std::milli>(t1 - t0).count()});
    if (opt_.progress) opt_.progress->Advance(1);
    return ok;
  }

  void Error(std::string msg) {
    std::lock_guard<std::mutex> l(mu_);
    r_.errors.push_back(std::move(msg));
  }

  // rc of a facade call; on failure records `what` with errno (and the TDX hw_error).
  bool Check(int rc, const std::string& what, const kvm_tdx_cmd* cmd = nullptr) {
    if (rc >= 0) return true;
    const int e = errno;
    std::string msg = fmt::format("{}: {} ({})", what, ErrnoName(e), std::strerror(e));
    if (cmd != nullptr && cmd->hw_error != 0)
      msg += fmt::format(", TDX status {:#018x}", cmd->hw_error);
    Error(std::move(msg));
    return false;
  }

  int TdxCmd(int fd, uint32_t id, uint32_t flags, uint64_t data, kvm_tdx_cmd* out) {
    kvm_tdx_cmd cmd{};
    cmd.id = id;
    cmd.flags = flags;
    cmd.data = data;
    const int rc = ccm_ioctl(fd, KVM_MEMORY_ENCRYPT_OP, &cmd);
    *out = cmd;
    return rc;
  }

  // ---- setup ---------------------------------------------------------------------------

  bool Setup() {
    if (!Check(
            ccm_set_param("gmem_in_place_conversion", s_.vm.gmem_in_place_conversion ? "1" : "0"),
            "ccm_set_param(gmem_in_place_conversion)"))
      return false;
    env_.kvm_fd = ccm_open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (!Check(env_.kvm_fd, "open /dev/kvm")) return false;
    env_.vm_fd = ccm_ioctl(env_.kvm_fd, KVM_CREATE_VM, VmTypeOf(s_.vm.type));
    if (!Check(env_.vm_fd, fmt::format("KVM_CREATE_VM({})", VmKindName(s_.vm.type)))) return false;
    if (tdx() && !TdxInitVm()) return false;
    if (s_.vm.type != VmKind::kDefault) {
      kvm_enable_cap cap{};
      cap.cap = KVM_CAP_EXIT_HYPERCALL;
      cap.args[0] = 1ull << KVM_HC_MAP_GPA_RANGE;
      if (!Check(ccm_ioctl(env_.vm_fd, KVM_ENABLE_CAP, &cap),
                 "KVM_ENABLE_CAP(KVM_CAP_EXIT_HYPERCALL)"))
        return false;
    }
    for (const GmemSpec& g : s_.gmems) {
      if (!CreateGmem(g)) return false;
    }
    for (const SlotSpec& sl : s_.slots) {
      if (!AddSlot(sl)) return false;
    }
    return CreateVcpus();
  }

  bool TdxInitVm() {
    constexpr uint32_t kMaxCpuid = 256;
    std::vector<uint64_t> caps_buf(
        (sizeof(kvm_tdx_capabilities) + kMaxCpuid * sizeof(kvm_cpuid_entry2)) / 8 + 1);
    auto* caps = reinterpret_cast<kvm_tdx_capabilities*>(caps_buf.data());
    caps->cpuid.nent = kMaxCpuid;
    kvm_tdx_cmd cmd{};
    if (!Check(TdxCmd(env_.vm_fd, KVM_TDX_CAPABILITIES, 0, reinterpret_cast<uint64_t>(caps), &cmd),
               "KVM_TDX_CAPABILITIES", &cmd))
      return false;
    const uint32_t nent = std::min(caps->cpuid.nent, kMaxCpuid);
    std::vector<uint64_t> init_buf((sizeof(kvm_tdx_init_vm) + nent * sizeof(kvm_cpuid_entry2)) / 8 +
                                   1);
    auto* init = reinterpret_cast<kvm_tdx_init_vm*>(init_buf.data());
    init->attributes = s_.vm.sept_ve_disable ? (1ull << 28) : 0;
    init->attributes &= caps->supported_attrs;
    init->xfam = caps->supported_xfam & 0x3;
    init->cpuid.nent = nent;
    std::memcpy(init->cpuid.entries, caps->cpuid.entries, nent * sizeof(kvm_cpuid_entry2));
    return Check(TdxCmd(env_.vm_fd, KVM_TDX_INIT_VM, 0, reinterpret_cast<uint64_t>(init), &cmd),
                 "KVM_TDX_INIT_VM", &cmd);
  }

  bool CreateGmem(const GmemSpec& g) {
    kvm_create_guest_memfd c{};
    c.size = g.size;
    if (g.mmap) c.flags |= GUEST_MEMFD_FLAG_MMAP;
    if (g.init_shared) c.flags |= GUEST_MEMFD_FLAG_INIT_SHARED;
    if (g.no_direct_map) c.flags |= GUEST_MEMFD_FLAG_NO_DIRECT_MAP;
    if (g.page_size > k4K) {
      c.flags |= GUEST_MEMFD_FLAG_HUGETLB;
      c.page_order = g.page_size == (1ull << 30) ? 18 : 9;
    }
    GmemHandle h;
    h.spec = &g;
    h.fd = ccm_ioctl(env_.vm_fd, KVM_CREATE_GUEST_MEMFD, &c);
    if (!Check(h.fd, fmt::format("KVM_CREATE_GUEST_MEMFD '{}'", g.name))) return false;
    h.inode = sys::IntrospectGmem(h.fd);
    h.punched.assign(g.size / k4K, false);
    if (g.mmap) {
      void* m = ccm_mmap(nullptr, g.size, PROT_READ | PROT_WRITE, MAP_SHARED, h.fd, 0);
      if (m == MAP_FAILED) {
        Check(-1, fmt::format("mmap of guest_memfd '{}'", g.name));
        ccm_close(h.fd);
        return false;
      }
      h.map = static_cast<std::byte*>(m);
    }
    env_.gmems.emplace(g.name, std::move(h));
    if (g.preallocate &&
        !Check(ccm_fallocate(env_.gmems[g.name].fd, 0, 0, static_cast<off_t>(g.size)),
               fmt::format("fallocate guest_memfd '{}'", g.name)))
      return false;
    return true;
  }

  bool AddSlot(const SlotSpec& sl) {
    kvm_userspace_memory_region2 r{};
    r.slot = sl.slot;
    r.guest_phys_addr = sl.gpa;
    r.memory_size = sl.size;
    const GmemHandle* g = sl.gmem.empty() ? nullptr : &env_.gmems.at(sl.gmem);
    if (g == nullptr || g->map == nullptr) {
      // Shared backing in ordinary memory: a slot without guest_memfd, or one whose
      // guest_memfd cannot be mmapped (private memory there; shared faults come here).
      void* m = mmap(nullptr, sl.size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (m == MAP_FAILED) return Check(-1, fmt::format("mmap for memslot {}", sl.slot));
      env_.anon_maps.push_back(static_cast<std::byte*>(m));
      env_.anon_sizes.push_back(sl.size);
      r.userspace_addr = reinterpret_cast<uint64_t>(m);
    } else {
      r.userspace_addr = reinterpret_cast<uint64_t>(g->map + sl.offset);
    }
    if (g != nullptr) {
      r.flags |= KVM_MEM_GUEST_MEMFD;
      r.guest_memfd = static_cast<uint32_t>(g->fd);
      r.guest_memfd_offset = sl.offset;
    }
    return Check(ccm_ioctl(env_.vm_fd, KVM_SET_USER_MEMORY_REGION2, &r),
                 fmt::format("KVM_SET_USER_MEMORY_REGION2 slot {}", sl.slot));
  }

  bool CreateVcpus() {
    const int run_size = ccm_ioctl(env_.kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (!Check(run_size, "KVM_GET_VCPU_MMAP_SIZE")) return false;
    run_size_ = static_cast<size_t>(run_size);
    for (const VcpuProgram& p : s_.vcpus) {
      auto v = std::make_unique<VcpuState>();
      v->ctx.program = &p;
      v->ctx.vm = s_.vm.type;
      v->ctx.shared = &shared_;
      v->ctx.initial_view = [this](uint64_t gpa) { return InitialView(gpa); };
      v->fd = ccm_ioctl(env_.vm_fd, KVM_CREATE_VCPU, p.id);
      if (!Check(v->fd, fmt::format("KVM_CREATE_VCPU {}", p.id))) return false;
      void* run = ccm_mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
      if (run == MAP_FAILED) return Check(-1, fmt::format("mmap of vcpu {} kvm_run", p.id));
      v->run = static_cast<kvm_run*>(run);
      ccm_vcpu_guest guest{RunGuestProgram, &v->ctx};
      if (!Check(ccm_ioctl(v->fd, CCM_VCPU_SET_GUEST, &guest),
                 fmt::format("CCM_VCPU_SET_GUEST {}", p.id)))
        return false;
      if (tdx()) {
        kvm_tdx_cmd cmd{};
        if (!Check(TdxCmd(v->fd, KVM_TDX_INIT_VCPU, 0, 0, &cmd),
                   fmt::format("KVM_TDX_INIT_VCPU {}", p.id), &cmd))
          return false;
      }
      vcpus_.push_back(std::move(v));
    }
    return true;
  }

  GuestPageView InitialView(uint64_t gpa) {
    GuestPageView v;
    auto fr = env_.ResolveGpa(gpa, k4K);
    if (fr && fr->gmem->inode)
      v.is_private = fr->gmem->inode->AttrAt(PgOff(fr->offset / k4K)) == gmem::MemAttr::kPrivate;
    for (const ImageRegion& r : s_.image) {
      if (gpa >= r.gpa && gpa < r.gpa + r.size) v.accepted = true;
    }
    return v;
  }

  // ---- image ---------------------------------------------------------------------------

  bool RegionBytes(const ImageRegion& r, std::byte* buf) {
    std::string err;
    if (ImageRegionBytes(r, buf, &err)) return true;
    Error(err);
    return false;
  }

  bool Image() {
    for (const ImageRegion& r : s_.image) {
      trace::Scope ts("cli", "image region");
      auto fr = env_.ResolveGpa(r.gpa, r.size);
      if (!fr) {
        Error(fmt::format("image region '{}': not backed by a guest_memfd", r.name));
        return false;
      }
      void* mem = mmap(nullptr, r.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (mem == MAP_FAILED) return Check(-1, "mmap of an image buffer");
      auto* buf = static_cast<std::byte*>(mem);
      bool ok = RegionBytes(r, buf);
      const std::string what = fmt::format("image region '{}'", r.name);
      if (ok && r.method == ImageRegion::Method::kInPlace) {
        // Shared first, so the VMM can write the bytes through the guest_memfd mmap.
        if (s_.vm.type != VmKind::kDefault) {
          const int e = env_.Convert(*fr, false);
          if (e != 0) {
            Error(fmt::format("{}: convert to shared: {}", what, ErrnoName(e)));
            ok = false;
          }
        }
        if (ok) std::memcpy(fr->gmem->map + fr->offset, buf, r.size);
      }
      if (ok && tdx()) {
        const int e = env_.Convert(*fr, true);
        if (e != 0) {
          Error(fmt::format("{}: convert to private: {}", what, ErrnoName(e)));
          ok = false;
        }
      }
      if (ok && tdx()) {
        kvm_tdx_init_mem_region region{};
        region.source_addr =
            r.method == ImageRegion::Method::kInPlace ? 0 : reinterpret_cast<uint64_t>(buf);
        region.gpa = r.gpa;
        region.nr_pages = r.size / k4K;
        kvm_tdx_cmd cmd{};
        ok = Check(TdxCmd(vcpus_.front()->fd, KVM_TDX_INIT_MEM_REGION,
                          r.measure ? KVM_TDX_MEASURE_MEMORY_REGION : 0,
                          reinterpret_cast<uint64_t>(&region), &cmd),
                   fmt::format("KVM_TDX_INIT_MEM_REGION '{}'", r.name), &cmd);
      }
      munmap(mem, r.size);
      if (opt_.progress) opt_.progress->Advance(1);
      if (!ok) return false;
    }
    return true;
  }

  bool Finalize() {
    kvm_tdx_cmd cmd{};
    return Check(TdxCmd(env_.vm_fd, KVM_TDX_FINALIZE_VM, 0, 0, &cmd), "KVM_TDX_FINALIZE_VM", &cmd);
  }

  // ---- running -------------------------------------------------------------------------

  struct VcpuState {
    GuestContext ctx;
    int fd = -1;
    kvm_run* run = nullptr;
    uint64_t last_fault_gpa = ~0ull;
    unsigned repeated_faults = 0;
  };

  void RunVcpus() {
    std::vector<std::thread> threads;
    for (auto& v : vcpus_) threads.emplace_back([this, vs = v.get()] { VcpuLoop(*vs); });
    for (auto& t : threads) t.join();
  }

  void CountExit(ExitKind k) {
    std::lock_guard<std::mutex> l(mu_);
    ++r_.exits[ExitKindName(k)];
  }

  bool ExpectsExit(ExitKind k) const {
    auto it = s_.expect.exits.find(ExitKindName(k));
    return it != s_.expect.exits.end() &&
           !(it->second.op == CountExpectation::Op::kEq && it->second.n == 0);
  }

  // Runs the actions of every trigger matching (sync value | exit kind, vCPU). Returns
  // whether any trigger matched. Takes mu_.
  bool Fire(uint32_t vcpu, std::optional<uint64_t> sync, std::optional<ExitKind> exit,
            const ExitRange* range) {
    std::lock_guard<std::mutex> l(mu_);
    bool matched = false;
    for (size_t i = 0; i < s_.host.size(); ++i) {
      const HostTrigger& t = s_.host[i];
      if (sync && t.on_sync != sync) continue;
      if (exit && t.on_exit != exit) continue;
      if (t.vcpu && *t.vcpu != vcpu) continue;
      if (t.times != 0 && fired_[i] >= t.times) continue;
      ++fired_[i];
      matched = true;
      for (const HostAction& a : t.actions) {
        if (a.kind == HostAction::Kind::kCheck) {
          CheckInvariantsLocked(fmt::format("check (line {})", a.loc.line));
          continue;
        }
        trace::Scope ts("host", HostActionName(a.kind));
        std::string log;
        std::string err = env_.Do(a, range, &log);
        r_.host_log.push_back(fmt::format(
            "vcpu {} {}: {}", vcpu,
            sync ? fmt::format("sync {}", *sync) : std::string(ExitKindName(*exit)), log));
        if (!err.empty())
          r_.errors.push_back(fmt::format("host action at line {}: {}", a.loc.line, err));
      }
    }
    return matched;
  }

  void CheckInvariantsLocked(const std::string& when) {
    trace::Scope ts("cli", "invariants");
    ++r_.invariant_checks;
    std::vector<std::string> v;
    if (auto vm = sys::IntrospectVm(env_.vm_fd)) {
      for (auto& m : vm->CheckInvariants()) v.push_back("kvm: " + m);
      for (auto& m : TdxInvariants(*vm)) v.push_back("tdx: " + m);
    }
    for (auto& [name, g] : env_.gmems) {
      if (g.closed || !g.inode) continue;
      for (auto& m : g.inode->CheckInvariants())
        v.push_back(fmt::format("guest_memfd '{}': {}", name, m));
    }
    for (auto& m : v) {
      if (r_.violations.size() < kMaxViolations) r_.violations.push_back({when, std::move(m)});
    }
  }

  void Stop(VcpuState& v, ExitKind kind, const std::string& why) {
    std::lock_guard<std::mutex> l(mu_);
    const std::string msg = fmt::format("vcpu {} stopped: {}", v.ctx.program->id, why);
    if (ExpectsExit(kind)) {
      r_.notes.push_back(msg);
    } else {
      r_.errors.push_back(msg);
    }
  }

  void VcpuLoop(VcpuState& v) {
    const uint32_t id = v.ctx.program->id;
    if (opt_.trace) opt_.trace->NameThread(fmt::format("vcpu {} (VMM)", id));
    kvm_run* run = v.run;
    for (;;) {
      errno = 0;
      const int rc = ccm_ioctl(v.fd, KVM_RUN, 0);
      const int err = rc < 0 ? errno : 0;
      if (rc == 0) {
        switch (run->exit_reason) {
          case KVM_EXIT_IO: {
            if (run->io.port != CCM_SYNC_PORT) {
              Stop(v, ExitKind::kFailed, fmt::format("I/O exit to port {:#x}", run->io.port));
              return;
            }
            uint64_t value = 0;
            std::memcpy(&value, reinterpret_cast<const char*>(run) + run->io.data_offset,
                        sizeof value);
            CountExit(ExitKind::kSync);
            Fire(id, value, std::nullopt, nullptr);
            {
              std::lock_guard<std::mutex> l(mu_);
              CheckInvariantsLocked(fmt::format("sync {} (vcpu {})", value, id));
            }
            continue;
          }
          case KVM_EXIT_HYPERCALL: {
            CountExit(ExitKind::kHypercall);
            if (run->hypercall.nr != KVM_HC_MAP_GPA_RANGE) {
              run->hypercall.ret = static_cast<uint64_t>(-1000);  // -KVM_ENOSYS
              continue;
            }
            const uint64_t gpa = run->hypercall.args[0], npages = run->hypercall.args[1];
            const bool to_private = run->hypercall.args[2] & KVM_MAP_GPA_RANGE_ENCRYPTED;
            ExitRange er{gpa, npages * k4K};
            if (Fire(id, std::nullopt, ExitKind::kHypercall, &er)) {
              run->hypercall.ret = 0;
              continue;
            }
            int e = EINVAL;
            {
              std::lock_guard<std::mutex> l(mu_);
              if (auto fr = env_.ResolveGpa(gpa, npages * k4K)) e = env_.Convert(*fr, to_private);
            }
            run->hypercall.ret = e == 0 ? 0 : static_cast<uint64_t>(-static_cast<int64_t>(e));
            continue;
          }
          case KVM_EXIT_HLT:
            CountExit(ExitKind::kHlt);
            Fire(id, std::nullopt, ExitKind::kHlt, nullptr);
            if (v.ctx.finished.load()) return;
            continue;
          case KVM_EXIT_MMIO: {
            CountExit(ExitKind::kMmio);
            ExitRange er{run->mmio.phys_addr, run->mmio.len};
            if (!run->mmio.is_write) std::memset(run->mmio.data, 0, sizeof run->mmio.data);
            Fire(id, std::nullopt, ExitKind::kMmio, &er);
            continue;
          }
          case KVM_EXIT_SHUTDOWN:
            CountExit(ExitKind::kShutdown);
            Stop(v, ExitKind::kShutdown, "KVM_EXIT_SHUTDOWN");
            return;
          default:
            CountExit(ExitKind::kFailed);
            Stop(v, ExitKind::kFailed, fmt::format("unexpected exit reason {}", run->exit_reason));
            return;
        }
      }
      if (err == EINTR) continue;
      if ((err == EFAULT || err == EHWPOISON) && run->exit_reason == KVM_EXIT_MEMORY_FAULT) {
        const uint64_t gpa = run->memory_fault.gpa, size = run->memory_fault.size;
        const bool to_private = run->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_PRIVATE;
        const ExitKind kind = err == EHWPOISON ? ExitKind::kHwpoison : ExitKind::kMemoryFault;
        CountExit(kind);
        if (gpa == v.last_fault_gpa) {
          if (++v.repeated_faults >= kMaxRepeatedFaults) {
            Stop(v, ExitKind::kFailed,
                 fmt::format("{} {} memory-fault exits in a row at gpa {:#x}", kMaxRepeatedFaults,
                             ErrnoName(err), gpa));
            return;
          }
        } else {
          v.last_fault_gpa = gpa;
          v.repeated_faults = 0;
        }
        ExitRange er{gpa, size};
        if (Fire(id, std::nullopt, kind, &er)) continue;
        if (kind == ExitKind::kHwpoison) {
          Stop(v, ExitKind::kHwpoison,
               fmt::format("EHWPOISON at gpa {:#x} (no on_exit: hwpoison handler)", gpa));
          return;
        }
        // The implicit conversion request: convert and retry, as a VMM does.
        std::lock_guard<std::mutex> l(mu_);
        auto fr = env_.ResolveGpa(gpa, size);
        const int e = fr ? env_.Convert(*fr, to_private) : EFAULT;
        if (e != 0) {
          r_.errors.push_back(fmt::format("vcpu {}: memory fault at gpa {:#x}: convert to {}: {}",
                                          id, gpa, to_private ? "private" : "shared",
                                          ErrnoName(e)));
          return;
        }
        continue;
      }
      CountExit(ExitKind::kFailed);
      Stop(v, ExitKind::kFailed,
           fmt::format("KVM_RUN: {} ({})", ErrnoName(err), std::strerror(err)));
      return;
    }
  }

  // ---- the end -------------------------------------------------------------------------

  void Finish(bool setup_ok) {
    std::lock_guard<std::mutex> l(mu_);
    if (setup_ok) CheckInvariantsLocked("end");
    r_.guest_failures = shared_.failures();
    r_.guest = shared_.counters();
    r_.mrtd_guest = shared_.mrtd();
    auto vm = env_.vm_fd >= 0 ? sys::IntrospectVm(env_.vm_fd) : nullptr;
    if (vm) {
      r_.mrtd_module = TdxModuleMrtd(*vm);
      CollectStats(*vm);
      r_.seamcalls = TdxSeamcalls(*vm);
      r_.memory = BuildMemoryMap(s_, env_);
    }
    if (setup_ok) Expectations();
  }

  void CollectStats(const kvm::Vm& vm) {
    for (const auto& e : vm.kvm().stats().Snapshot()) r_.stats.emplace_back(e.name, e.value);
    for (const auto& e : vm.stats().Snapshot()) r_.stats.emplace_back(e.name, e.value);
    std::map<std::string, uint64_t> gmem;
    std::vector<std::string> order;
    for (const auto& [name, g] : env_.gmems) {
      if (!g.inode) continue;
      for (const auto& e : g.inode->stats().Snapshot()) {
        if (!gmem.count(e.name)) order.push_back(e.name);
        gmem[e.name] += e.value;
      }
    }
    for (const auto& n : order) r_.stats.emplace_back(n, gmem[n]);
    for (auto& e : TdxStats(vm)) r_.stats.push_back(std::move(e));
    const host::Arena& arena = vm.kvm().arena();
    for (const auto& e : arena.stats().Snapshot()) r_.stats.emplace_back(e.name, e.value);
    r_.arena_reserved = arena.reserved_bytes();
    r_.arena_committed = arena.committed_bytes();
  }

  void Expect(std::string what, bool ok, std::string detail, SourceLoc loc) {
    r_.expectations.push_back({std::move(what), ok, std::move(detail), loc});
  }

  void Expectations() {
    const auto& e = s_.expect;
    if (e.mrtd) {
      const std::optional<std::string>& got = r_.mrtd_guest ? r_.mrtd_guest : r_.mrtd_module;
      if (!got) {
        Expect("mrtd", false, "no MRTD was measured (no guest 'mrtd' step and no finalized TD)",
               e.mrtd_loc);
      } else {
        Expect("mrtd", *got == *e.mrtd,
               *got == *e.mrtd ? "" : fmt::format("got      {}\nexpected {}", *got, *e.mrtd),
               e.mrtd_loc);
      }
    }
    if (r_.mrtd_guest && r_.mrtd_module && *r_.mrtd_guest != *r_.mrtd_module) {
      r_.errors.push_back(fmt::format("the guest's TDREPORT MRTD {} differs from the module's {}",
                                      *r_.mrtd_guest, *r_.mrtd_module));
    }
    for (const auto& [kind, c] : e.exits) {
      const uint64_t got = r_.exits.count(kind) ? r_.exits.at(kind) : 0;
      Expect("exits." + kind, c.Holds(got),
             c.Holds(got) ? "" : fmt::format("got {}, expected {}", got, c.ToString()), c.loc);
    }
    for (const auto& [name, c] : e.stats) {
      bool known = false;
      uint64_t got = 0;
      for (const auto& [n, v] : r_.stats) {
        if (n == name) {
          known = true;
          got += v;
        }
      }
      if (!known) {
        Expect("stats." + name, false, "no such statistic (see the report's counters)", c.loc);
      } else {
        Expect("stats." + name, c.Holds(got),
               c.Holds(got) ? "" : fmt::format("got {}, expected {}", got, c.ToString()), c.loc);
      }
    }
    for (const DataExpectation& d : e.data) {
      std::string err;
      auto fr = env_.Resolve(d.range, nullptr, &err);
      const std::string what =
          d.range.gpa ? fmt::format("data gpa {:#x}+{}", *d.range.gpa, FormatSize(d.range.size))
                      : fmt::format("data {}+{:#x}+{}", d.range.gmem, d.range.offset,
                                    FormatSize(d.range.size));
      if (fr && fr->gmem->closed) err = "the guest_memfd was closed";
      if (fr && err.empty()) err = env_.VerifyThroughMmap(*fr, d.pattern);
      Expect(what, err.empty(), err, d.loc);
    }
    for (const AttrExpectation& a : e.attributes) {
      std::string err;
      auto fr = env_.Resolve(a.range, nullptr, &err);
      const std::string what = a.range.gpa ? fmt::format("attributes gpa {:#x}+{}", *a.range.gpa,
                                                         FormatSize(a.range.size))
                                           : fmt::format("attributes {}+{:#x}+{}", a.range.gmem,
                                                         a.range.offset, FormatSize(a.range.size));
      if (fr && fr->gmem->inode) {
        for (uint64_t off = fr->offset; off < fr->offset + fr->size; off += k4K) {
          const bool is_private =
              fr->gmem->inode->AttrAt(PgOff(off / k4K)) == gmem::MemAttr::kPrivate;
          if (is_private != a.is_private) {
            err =
                fmt::format("page at offset {:#x} is {}, expected {}", off,
                            is_private ? "private" : "shared", a.is_private ? "private" : "shared");
            break;
          }
        }
      }
      Expect(what, err.empty(), err, a.loc);
    }
    if (e.invariants) {
      Expect("invariants", r_.violations.empty(),
             r_.violations.empty() ? "" : fmt::format("{} violation(s)", r_.violations.size()), {});
    }
  }

  const Scenario& s_;
  const RunOptions opt_;
  // Declared before env_: the guest contexts outlive the VM (closing it ends the guests).
  std::vector<std::unique_ptr<VcpuState>> vcpus_;
  HostEnv env_;
  GuestShared shared_;
  RunResult r_;
  std::mutex mu_;  // host actions, invariant checks, r_ (from the vCPU host threads)
  std::map<size_t, uint64_t> fired_;
  size_t run_size_ = 0;
};

}  // namespace

bool RunResult::ok() const {
  if (!errors.empty() || !guest_failures.empty()) return false;
  for (const auto& e : expectations) {
    if (!e.ok) return false;
  }
  return true;
}

uint64_t RunResult::Stat(const std::string& stat_name) const {
  uint64_t v = 0;
  for (const auto& [n, value] : stats) {
    if (n == stat_name) v += value;
  }
  return v;
}

RunResult RunScenario(const Scenario& s, const RunOptions& options) {
  return Runner(s, options).Run();
}

}  // namespace cocomem::cli
