#include "cli/guest_program.h"

#include <cocomem/kvm.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "cli/pattern.h"

namespace cocomem::cli {

namespace {

constexpr uint64_t k4K = 4096, k2M = 2ull << 20;
constexpr uint64_t kTdxAlreadyAccepted = 0x00000B0Aull;  // status class (bits 63:32)
constexpr uint64_t kTdxPageSizeMismatch = 0xC0000B0Bull;
constexpr unsigned kMaxFailures = 50;

}  // namespace

// ---- GuestShared ----------------------------------------------------------------------

void GuestShared::Failure(std::string message) {
  std::lock_guard<std::mutex> l(mu_);
  if (failures_.size() < kMaxFailures) {
    failures_.push_back(std::move(message));
  } else {
    ++dropped_;
  }
}

void GuestShared::SetMrtd(std::string hex) {
  std::lock_guard<std::mutex> l(mu_);
  mrtd_ = std::move(hex);
}

std::optional<std::string> GuestShared::mrtd() const {
  std::lock_guard<std::mutex> l(mu_);
  return mrtd_;
}

std::vector<std::string> GuestShared::failures() const {
  std::lock_guard<std::mutex> l(mu_);
  auto f = failures_;
  if (dropped_ != 0) f.push_back(fmt::format("... and {} more guest failures", dropped_));
  return f;
}

GuestCounters GuestShared::counters() const {
  GuestCounters c;
  c.steps = steps.load();
  c.bytes_written = bytes_written.load();
  c.bytes_read = bytes_read.load();
  c.bytes_verified = bytes_verified.load();
  c.accepts = accepts.load();
  c.map_gpa = map_gpa.load();
  c.random_ops = random_ops.load();
  c.syncs = syncs.load();
  return c;
}

// ---- the interpreter ------------------------------------------------------------------

namespace {

class Interpreter {
 public:
  Interpreter(ccm_guest* g, GuestContext& ctx) : g_(g), ctx_(ctx), sh_(*ctx.shared) {
    vcpu_ = ctx.program->id;
    tdx_ = ctx.vm == VmKind::kTdx;
    if (tdx_) mask_ = ccm_guest_shared_gpa_mask(g_);
  }

  void Run() {
    Steps(ctx_.program->steps);
    ctx_.finished.store(true);
  }

 private:
  void Fail(const Step& st, std::string msg) {
    sh_.Failure(fmt::format("vcpu {} (line {}): {}", vcpu_, st.loc.line, msg));
  }

  void Steps(const cocomem::cli::Steps& steps) {
    for (const Step& st : steps) {
      std::visit([&](const auto& op) { Do(st, op); }, st.op);
      sh_.steps.fetch_add(1, std::memory_order_relaxed);
      sh_.Advance(1);
    }
  }

  uint64_t Addr(uint64_t gpa, bool shared) const { return shared ? gpa | mask_ : gpa; }

  void Do(const Step&, const GuestWrite& w) {
    std::byte buf[k4K];
    if (w.every != 0) {
      for (uint64_t a = w.gpa; a < w.gpa + w.size; a += w.every) {
        const uint64_t n = std::min<uint64_t>(8, w.gpa + w.size - a);
        FillPattern(w.pattern, a, buf, n);
        ccm_guest_write(g_, Addr(a, w.shared), buf, n);
        sh_.bytes_written.fetch_add(n, std::memory_order_relaxed);
      }
      return;
    }
    for (uint64_t a = w.gpa; a < w.gpa + w.size;) {
      const uint64_t n = std::min(k4K - (a % k4K), w.gpa + w.size - a);
      FillPattern(w.pattern, a, buf, n);
      ccm_guest_write(g_, Addr(a, w.shared), buf, n);
      sh_.bytes_written.fetch_add(n, std::memory_order_relaxed);
      a += n;
    }
  }

  void Do(const Step&, const GuestRead& r) {
    uint8_t b;
    for (uint64_t a = r.gpa; a < r.gpa + r.size; a += r.every) {
      ccm_guest_read(g_, Addr(a, r.shared), &b, 1);
      sh_.bytes_read.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void Do(const Step& st, const GuestVerify& v) {
    std::byte buf[k4K];
    uint8_t want = 0, got = 0;
    const uint64_t step = v.every != 0 ? v.every : k4K;
    for (uint64_t a = v.gpa; a < v.gpa + v.size;) {
      const uint64_t n = v.every != 0 ? std::min<uint64_t>(8, v.gpa + v.size - a)
                                      : std::min(k4K - (a % k4K), v.gpa + v.size - a);
      ccm_guest_read(g_, Addr(a, v.shared), buf, n);
      sh_.bytes_verified.fetch_add(n, std::memory_order_relaxed);
      if (auto bad = FindMismatch(v.pattern, a, buf, n, &want, &got)) {
        Fail(st, fmt::format("verify {}: byte at gpa {:#x} is {:#04x}, expected {:#04x}",
                             PatternName(v.pattern), *bad, got, want));
        return;
      }
      a += v.every != 0 ? step : n;
    }
  }

  // One TDG.MEM.PAGE.ACCEPT; false (after reporting) on an unexpected status. *fresh:
  // the page was accepted now (and so zeroed), not before.
  bool AcceptOne(const Step& st, uint64_t gpa, uint64_t level, bool allow_accepted,
                 bool* fresh = nullptr) {
    const uint64_t status = ccm_guest_tdx_accept(g_, gpa, level == k2M ? 1 : 0);
    sh_.accepts.fetch_add(1, std::memory_order_relaxed);
    if (fresh != nullptr) *fresh = status == 0;
    if (status == 0) return true;
    if ((status >> 32) == kTdxAlreadyAccepted && allow_accepted) return true;
    Fail(st, fmt::format("accept {:#x} ({}): TDX status {:#018x}", gpa, FormatSize(level), status));
    return false;
  }

  void Do(const Step& st, const GuestAccept& a) {
    for (uint64_t gpa = a.gpa; gpa < a.gpa + a.size; gpa += a.level) {
      if (!AcceptOne(st, gpa, a.level, a.allow_accepted)) return;
    }
  }

  // Accepts [gpa, gpa + size) after a conversion to private: 2M where aligned (falling
  // back to 4K when the host mapped 4K), 4K elsewhere.
  void AcceptConverted(const Step& st, uint64_t gpa, uint64_t size) {
    for (uint64_t a = gpa; a < gpa + size;) {
      if (a % k2M == 0 && gpa + size - a >= k2M) {
        const uint64_t status = ccm_guest_tdx_accept(g_, a, 1);
        sh_.accepts.fetch_add(1, std::memory_order_relaxed);
        if (status == 0 || (status >> 32) == kTdxAlreadyAccepted) {
          a += k2M;
          continue;
        }
        if ((status >> 32) != kTdxPageSizeMismatch) {
          Fail(st, fmt::format("accept {:#x} (2M): TDX status {:#018x}", a, status));
          return;
        }
        for (uint64_t p = a; p < a + k2M; p += k4K) {
          if (!AcceptOne(st, p, k4K, true)) return;
        }
        a += k2M;
        continue;
      }
      if (!AcceptOne(st, a, k4K, true)) return;
      a += k4K;
    }
  }

  // Converts [gpa, gpa + size); false (after reporting) on failure.
  bool MapGpa(const Step& st, uint64_t gpa, uint64_t size, bool to_private, bool accept) {
    sh_.map_gpa.fetch_add(1, std::memory_order_relaxed);
    uint64_t status = 0;
    for (int attempt = 0; attempt < 100; ++attempt) {
      if (tdx_) {
        status = ccm_guest_tdx_map_gpa(g_, to_private ? gpa : gpa | mask_, size);
      } else {
        status = ccm_guest_hypercall(
            g_, KVM_HC_MAP_GPA_RANGE, gpa, size / k4K,
            to_private ? KVM_MAP_GPA_RANGE_ENCRYPTED : KVM_MAP_GPA_RANGE_DECRYPTED);
      }
      if (!(tdx_ && status == 1)) break;  // TDVMCALL_STATUS_RETRY
    }
    if (status != 0) {
      Fail(st, fmt::format("map_gpa [{:#x}, {:#x}) to {}: status {:#x}", gpa, gpa + size,
                           to_private ? "private" : "shared", status));
      return false;
    }
    if (tdx_ && to_private && accept) AcceptConverted(st, gpa, size);
    return true;
  }

  void Do(const Step& st, const GuestMapGpa& m) {
    MapGpa(st, m.gpa, m.size, m.to_private, m.accept);
  }

  void Do(const Step&, const GuestSync& s) {
    sh_.syncs.fetch_add(1, std::memory_order_relaxed);
    ccm_guest_sync(g_, s.value);
  }

  void Do(const Step&, const GuestLoop& l) {
    for (uint64_t i = 0; i < l.count; ++i) Steps(l.body);
  }

  void Do(const Step& st, const GuestRandom& r) {
    struct Page {
      bool is_private;
      bool accepted;
      bool known;
      uint64_t value;
    };
    const uint64_t npages = r.size / k4K;
    std::vector<Page> pages(npages);
    for (uint64_t i = 0; i < npages; ++i) {
      const GuestPageView v =
          ctx_.initial_view ? ctx_.initial_view(r.gpa + i * k4K) : GuestPageView{};
      pages[i] = Page{v.is_private, v.accepted, false, 0};
    }
    uint64_t rng = r.seed * 0x9e3779b97f4a7c15ull + vcpu_;
    auto next = [&] { return rng = SplitMix64(rng); };
    const uint64_t total = uint64_t{r.read_weight} + r.write_weight + r.convert_weight;
    for (uint64_t op = 0; op < r.count; ++op) {
      const uint64_t i = next() % npages;
      Page& p = pages[i];
      const uint64_t gpa = r.gpa + i * k4K;
      uint64_t pick = next() % total;
      // A TD's private page must be accepted before it is touched.
      const bool converts = pick >= uint64_t{r.read_weight} + r.write_weight;
      if (tdx_ && p.is_private && !p.accepted && !converts) {
        bool fresh = false;
        if (!AcceptOne(st, gpa, k4K, true, &fresh)) return;
        p.accepted = true;
        if (fresh) {  // ACCEPT zeroes the page
          p.known = true;
          p.value = 0;
        }
      }
      const bool shared_access = tdx_ && !p.is_private;
      if (pick < r.read_weight) {
        const uint64_t v = ccm_guest_read64(g_, Addr(gpa, shared_access));
        sh_.bytes_read.fetch_add(8, std::memory_order_relaxed);
        if (p.known && v != p.value) {
          Fail(st, fmt::format("random op {}: read {:#x} from gpa {:#x}, last wrote {:#x}", op, v,
                               gpa, p.value));
          return;
        }
      } else if ((pick -= r.read_weight) < r.write_weight) {
        const uint64_t v = next();
        ccm_guest_write64(g_, Addr(gpa, shared_access), v);
        sh_.bytes_written.fetch_add(8, std::memory_order_relaxed);
        p.known = true;
        p.value = v;
      } else {
        const bool to_private = !p.is_private;
        if (!MapGpa(st, gpa, k4K, to_private, false)) return;
        p.is_private = to_private;
        p.accepted = false;
        p.known = false;  // contents across a conversion are the VM type's business
      }
      sh_.random_ops.fetch_add(1, std::memory_order_relaxed);
      sh_.Advance(1);
      if (r.sync_every != 0 && (op + 1) % r.sync_every == 0) {
        sh_.syncs.fetch_add(1, std::memory_order_relaxed);
        ccm_guest_sync(g_, r.sync_value);
      }
    }
  }

  void Do(const Step& st, const GuestMrtd&) {
    uint8_t mrtd[48] = {};
    const uint64_t status = ccm_guest_tdx_get_mrtd(g_, mrtd);
    if (status != 0) {
      Fail(st, fmt::format("TDG.MR.REPORT: TDX status {:#018x}", status));
      return;
    }
    std::string hex;
    for (uint8_t b : mrtd) hex += fmt::format("{:02x}", b);
    sh_.SetMrtd(hex);
  }

  void Do(const Step&, const GuestHalt&) { ccm_guest_halt(g_); }

  ccm_guest* const g_;
  GuestContext& ctx_;
  GuestShared& sh_;
  uint32_t vcpu_ = 0;
  bool tdx_ = false;
  uint64_t mask_ = 0;
};

}  // namespace

void RunGuestProgram(ccm_guest* g, void* arg) {
  auto* ctx = static_cast<GuestContext*>(arg);
  Interpreter(g, *ctx).Run();
}

uint64_t ProgramWork(const Steps& steps) {
  uint64_t units = 0;
  for (const Step& st : steps) {
    units += 1;
    if (const auto* l = std::get_if<GuestLoop>(&st.op)) units += l->count * ProgramWork(l->body);
    if (const auto* r = std::get_if<GuestRandom>(&st.op)) units += r->count;
  }
  return units;
}

}  // namespace cocomem::cli
