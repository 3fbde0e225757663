// Helpers shared by the guest_memfd tests: a small arena, inode configs, a recording
// invalidation listener, state snapshots for all-or-nothing checks, and guarded host
// accesses that turn SIGBUS into a value.
#pragma once

#include <cocomem/kvm.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <setjmp.h>
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "base/check.h"
#include "gmem/inode.h"
#include "host/arena.h"

namespace cocomem::gmem::test {

inline constexpr uint64_t kGiB = uint64_t{1} << 30;

// 8 GiB of address space; 4K pages (no THP advice) so committed_bytes counts exactly the
// pages touched whatever the host's shmem THP setting is.
inline std::unique_ptr<host::Arena> MakeArena() {
  host::ArenaOptions o;
  o.capacity_bytes = 8 * kGiB;
  o.huge_pages = host::HugePagePolicy::kNone;
  auto a = host::Arena::Create(o);
  CHECK(a.ok());
  return std::move(a).value();
}

inline Inode::Config MakeConfig(uint64_t npages, PageOrder order = PageOrder::k4K,
                                MemAttr initial = MemAttr::kPrivate,
                                uint64_t flags = GUEST_MEMFD_FLAG_MMAP) {
  Inode::Config c;
  c.size = npages << kPageShift;
  c.order = order;
  c.initial = initial;
  c.flags = flags | (initial == MemAttr::kShared ? GUEST_MEMFD_FLAG_INIT_SHARED : 0);
  return c;
}

inline std::shared_ptr<Inode> MakeInode(host::Arena& arena, const Inode::Config& c) {
  auto r = Inode::Create(arena, c);
  CHECK(r.ok());
  return std::move(r).value();
}

// ---- recording listener ------------------------------------------------------------------

enum class CallKind { kBegin, kSplit, kZap, kEnd };

struct Call {
  CallKind kind;
  uint64_t start;
  uint64_t end;
  ZapFilter filter = ZapFilter::kNone;  // Zap only
  friend bool operator==(const Call&, const Call&) = default;
};

inline std::ostream& operator<<(std::ostream& os, const Call& c) {
  static const char* const kKinds[] = {"Begin", "Split", "Zap", "End"};
  os << kKinds[static_cast<int>(c.kind)] << "[" << c.start << "," << c.end << ")";
  if (c.kind == CallKind::kZap) os << " filter=" << static_cast<int>(c.filter);
  return os;
}

inline Call Begin(uint64_t s, uint64_t e) {
  return {CallKind::kBegin, s, e};
}
inline Call Split(uint64_t s, uint64_t e) {
  return {CallKind::kSplit, s, e};
}
inline Call Zap(uint64_t s, uint64_t e, ZapFilter f) {
  return {CallKind::kZap, s, e, f};
}
inline Call End(uint64_t s, uint64_t e) {
  return {CallKind::kEnd, s, e};
}

// Records every call; SplitCrossBoundary fails with `split_errno` when it is non-zero.
class RecordingListener : public InvalidationListener {
 public:
  void InvalidateBegin(PgOff start, PgOff end) override { Add(Begin(start.value(), end.value())); }
  Status SplitCrossBoundary(PgOff start, PgOff end) override {
    Add(Split(start.value(), end.value()));
    std::lock_guard<std::mutex> l(mu_);
    if (split_errno_ != 0) return Error(split_errno_);
    return Ok();
  }
  void Zap(PgOff start, PgOff end, ZapFilter filter) override {
    Add(test::Zap(start.value(), end.value(), filter));
  }
  void InvalidateEnd(PgOff start, PgOff end) override { Add(End(start.value(), end.value())); }

  void FailSplitWith(int err) {
    std::lock_guard<std::mutex> l(mu_);
    split_errno_ = err;
  }
  std::vector<Call> Take() {
    std::lock_guard<std::mutex> l(mu_);
    return std::exchange(calls_, {});
  }
  std::vector<Call> calls() const {
    std::lock_guard<std::mutex> l(mu_);
    return calls_;
  }

 private:
  void Add(const Call& c) {
    std::lock_guard<std::mutex> l(mu_);
    calls_.push_back(c);
  }
  mutable std::mutex mu_;
  std::vector<Call> calls_;
  int split_errno_ = 0;
};

// ---- snapshots -----------------------------------------------------------------------------

struct FolioRec {
  uint64_t start;
  PageOrder order;
  bool uptodate;
  bool hwpoison;
  uint32_t pins;
  friend bool operator==(const FolioRec&, const FolioRec&) = default;
};

inline std::ostream& operator<<(std::ostream& os, const FolioRec& f) {
  return os << "{" << f.start << " " << PageOrderName(f.order) << (f.uptodate ? " U" : "")
            << (f.hwpoison ? " P" : "") << " pins=" << f.pins << "}";
}

inline std::vector<FolioRec> FolioList(const Inode& inode) {
  std::vector<FolioRec> out;
  for (const Inode::FolioInfo& f : inode.Folios()) {
    out.push_back(
        {f.start.value(), f.folio.order, f.folio.uptodate, f.folio.hwpoison, f.folio.pins});
  }
  return out;
}

using AttrRun = std::tuple<uint64_t, uint64_t, MemAttr>;

inline std::vector<AttrRun> Runs(const Inode& inode) {
  std::vector<AttrRun> out;
  for (const auto& [range, attr] : inode.AttributeRuns()) {
    out.emplace_back(range.first.value(), range.second.value(), attr);
  }
  return out;
}

// The first 8 bytes of a file page, through the hardware view (always accessible).
inline uint64_t Tag(const Inode& inode, uint64_t page) {
  uint64_t v;
  std::memcpy(&v, inode.arena().HardwareView(inode.PfnOf(PgOff(page))), sizeof v);
  return v;
}
inline void SetTag(const Inode& inode, uint64_t page, uint64_t v) {
  std::memcpy(inode.arena().HardwareView(inode.PfnOf(PgOff(page))), &v, sizeof v);
}

// Everything an all-or-nothing operation must leave unchanged when it fails.
struct Snapshot {
  std::vector<AttrRun> runs;
  std::vector<FolioRec> folios;
  std::vector<uint64_t> tags;  // of the sampled pages
  uint64_t present_pages = 0;
  uint64_t splits = 0, merges = 0, conversions = 0, punches = 0;
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

inline Snapshot SnapshotOf(const Inode& inode, const std::vector<uint64_t>& sample_pages) {
  Snapshot s;
  s.runs = Runs(inode);
  s.folios = FolioList(inode);
  for (uint64_t p : sample_pages) s.tags.push_back(Tag(inode, p));
  s.present_pages = inode.present_pages();
  s.splits = inode.stats().Get("folio_splits");
  s.merges = inode.stats().Get("folio_merges");
  s.conversions = inode.stats().Get("conversions");
  s.punches = inode.stats().Get("punches");
  return s;
}

#define EXPECT_INVARIANTS(inode) EXPECT_THAT((inode).CheckInvariants(), ::testing::IsEmpty())
#define ASSERT_INVARIANTS(inode) ASSERT_THAT((inode).CheckInvariants(), ::testing::IsEmpty())

// ---- guarded host accesses ---------------------------------------------------------------
//
// One SIGBUS handler for the whole process, installed once and never removed, so that
// guest_memfd's memory-failure handler (installed in front of whatever is there when a page
// is poisoned) always chains to it. Each thread arms its own jump buffer.

inline thread_local sigjmp_buf* tls_sigbus_jmp = nullptr;
inline thread_local int tls_sigbus_code = 0;

inline void OnSigbus(int sig, siginfo_t* info, void*) {
  sigjmp_buf* jb = tls_sigbus_jmp;
  if (jb == nullptr) {
    static const char kMsg[] = "gmem test: SIGBUS outside a guarded access\n";
    [[maybe_unused]] ssize_t n = write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
    signal(sig, SIG_DFL);  // the access re-runs and kills the process
    return;
  }
  tls_sigbus_jmp = nullptr;
  tls_sigbus_code = info ? info->si_code : 0;
  siglongjmp(*jb, 1);
}

inline void InstallSigbusHandlerOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = &OnSigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGBUS, &sa, nullptr) == 0);
  });
}

// The raw accesses are not instrumented by TSan: racing host accesses to guest memory
// through a mapping are the point of the concurrency test, as they are for a VMM.
__attribute__((noinline, no_sanitize("thread"))) inline uint64_t RawLoad(const void* p) {
  return *static_cast<const volatile uint64_t*>(p);
}
__attribute__((noinline, no_sanitize("thread"))) inline void RawStore(void* p, uint64_t v) {
  *static_cast<volatile uint64_t*>(p) = v;
}

struct Touch {
  bool sigbus = false;
  int code = 0;        // si_code when sigbus
  uint64_t value = 0;  // the value read, for reads
};

inline std::ostream& operator<<(std::ostream& os, const Touch& t) {
  if (t.sigbus) return os << "SIGBUS(code " << t.code << ")";
  return os << "value " << t.value;
}

inline Touch Read64(const void* p) {
  sigjmp_buf jb;
  if (sigsetjmp(jb, 1) != 0) return Touch{true, tls_sigbus_code, 0};
  tls_sigbus_jmp = &jb;
  const uint64_t v = RawLoad(p);
  tls_sigbus_jmp = nullptr;
  return Touch{false, 0, v};
}

inline Touch Write64(void* p, uint64_t v) {
  sigjmp_buf jb;
  if (sigsetjmp(jb, 1) != 0) return Touch{true, tls_sigbus_code, 0};
  tls_sigbus_jmp = &jb;
  RawStore(p, v);
  tls_sigbus_jmp = nullptr;
  return Touch{false, 0, v};
}

}  // namespace cocomem::gmem::test
