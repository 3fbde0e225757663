#include "host/arena.h"

#include <fcntl.h>
#include <linux/memfd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string_view>

namespace cocomem::host {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint64_t k2MPages = PagesIn(PageOrder::k2M);

// ---- direct-map registry, readable from a signal handler (no locks) ----------------
struct ViewSlot {
  std::atomic<uintptr_t> base{0};
  std::atomic<uintptr_t> len{0};
};
std::array<ViewSlot, 32> g_direct_views;

void RegisterDirectView(std::byte* base, uint64_t len) {
  for (ViewSlot& s : g_direct_views) {
    uintptr_t expected = 0;
    if (s.base.compare_exchange_strong(expected, reinterpret_cast<uintptr_t>(base))) {
      s.len.store(len);
      return;
    }
  }
  // More live arenas than slots: faults in the extra ones still crash, without the name.
}

void UnregisterDirectView(std::byte* base) {
  for (ViewSlot& s : g_direct_views) {
    if (s.base.load() == reinterpret_cast<uintptr_t>(base)) {
      s.len.store(0);
      s.base.store(0);
    }
  }
}

// ---- kernel-oops report for direct-map faults ---------------------------------------
struct sigaction g_previous_segv;

void WriteStr(const char* s) { (void)!write(STDERR_FILENO, s, strlen(s)); }
void WriteHex(uint64_t v) {
  char buf[19] = "0x";
  for (int i = 0; i < 16; i++) buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
  buf[18] = 0;
  WriteStr(buf);
}

void OnSegv(int sig, siginfo_t* info, void* ctx) {
  Pfn pfn;
  if (Arena::FindDirectMapAddress(info->si_addr, &pfn)) {
    // Mirrors the kernel's report for a touch of a page that has no direct map.
    WriteStr("BUG: unable to handle page fault for address: ");
    WriteHex(reinterpret_cast<uintptr_t>(info->si_addr));
    WriteStr("\n#PF: kernel access to the direct map of pfn ");
    WriteHex(pfn.value());
    WriteStr(", whose direct map was removed\nOops: cocomem direct-map fault\n");
    signal(SIGABRT, SIG_DFL);
    abort();
  }
  if (g_previous_segv.sa_flags & SA_SIGINFO) {
    if (g_previous_segv.sa_sigaction) g_previous_segv.sa_sigaction(sig, info, ctx);
    return;
  }
  if (g_previous_segv.sa_handler == SIG_IGN) return;
  if (g_previous_segv.sa_handler != SIG_DFL && g_previous_segv.sa_handler != nullptr) {
    g_previous_segv.sa_handler(sig);
    return;
  }
  // Default action: re-fault with the default disposition to get the normal crash.
  signal(SIGSEGV, SIG_DFL);
}

void InstallOopsHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = OnSegv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &g_previous_segv);
  });
}

// ---- host facts ---------------------------------------------------------------------
std::string ReadBracketed(const char* path) {
  std::ifstream f(path);
  std::string line;
  if (!std::getline(f, line)) return "";
  auto open = line.find('[');
  auto close = line.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return line;
  return line.substr(open + 1, close - open - 1);
}

uint64_t ReadNumber(const char* path) {
  std::ifstream f(path);
  uint64_t v = 0;
  f >> v;
  return f ? v : 0;
}

// Whether shmem THP applies to a memfd whose mappings are MADV_HUGEPAGE'd.
bool ShmemThpUsable(std::string* setting) {
  std::string top = ReadBracketed("/sys/kernel/mm/transparent_hugepage/shmem_enabled");
  std::string pmd =
      ReadBracketed("/sys/kernel/mm/transparent_hugepage/hugepages-2048kB/shmem_enabled");
  std::string effective = (pmd.empty() || pmd == "inherit") ? top : pmd;
  if (top == "force") effective = "force";
  if (top == "deny") effective = "deny";
  *setting = effective.empty() ? "unknown" : effective;
  return effective == "always" || effective == "within_size" || effective == "advise" ||
         effective == "force";
}

Result<uint64_t> ParseSize(const char* s) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno != 0 || end == s) return Error(EINVAL);
  uint64_t mult = 1;
  switch (*end) {
    case 'k': case 'K': mult = uint64_t{1} << 10; ++end; break;
    case 'm': case 'M': mult = uint64_t{1} << 20; ++end; break;
    case 'g': case 'G': mult = uint64_t{1} << 30; ++end; break;
    case 't': case 'T': mult = uint64_t{1} << 40; ++end; break;
    default: break;
  }
  if (*end != '\0' || v == 0 || v > (~uint64_t{0}) / mult) return Error(EINVAL);
  return uint64_t{v} * mult;
}

}  // namespace

uint64_t DefaultArenaCapacity() {
#if defined(__SANITIZE_THREAD__) || (defined(__has_feature) && __has_feature(thread_sanitizer))
  // TSan's application address range is ~1.5 TiB; two views of 1 TiB do not fit.
  return 256 * kGiB;
#else
  return 1024 * kGiB + 64 * kGiB;
#endif
}

Result<ArenaOptions> ArenaOptions::FromEnvironment() {
  ArenaOptions o;
  if (const char* s = getenv("COCOMEM_ARENA_SIZE"); s && *s) {
    ASSIGN_OR_RETURN(o.capacity_bytes, ParseSize(s));
  }
  if (const char* s = getenv("COCOMEM_ARENA_HUGETLB"); s && std::string_view(s) == "1") {
    o.huge_pages = HugePagePolicy::kHugetlb;
  }
  return o;
}

Result<std::unique_ptr<Arena>> Arena::Create(const ArenaOptions& options) {
  uint64_t capacity = options.capacity_bytes ? options.capacity_bytes : DefaultArenaCapacity();
  capacity = (capacity + kGiB - 1) & ~(kGiB - 1);

  std::unique_ptr<Arena> a(new Arena());
  std::string thp_setting;
  const bool thp = ShmemThpUsable(&thp_setting);

  if (options.huge_pages == HugePagePolicy::kHugetlb) {
    uint64_t free_pages = ReadNumber("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
    uint64_t pool = (free_pages * BytesIn(PageOrder::k2M)) & ~(kGiB - 1);
    if (pool > 0) {
      int fd = memfd_create(options.name.c_str(), MFD_CLOEXEC | MFD_HUGETLB | MFD_HUGE_2MB);
      if (fd >= 0) {
        a->memfd_ = fd;
        capacity = std::min(capacity, pool);
        a->backing_ = ArenaBacking::kHugetlb2M;
        a->backing_description_ = "2M hugetlb pages (" + std::to_string(free_pages) +
                                  " free in the pool; capacity limited to the pool)";
      }
    }
    if (a->memfd_ < 0) {
      a->backing_description_ = "hugetlb requested but no usable 2M hugetlb pool; ";
    }
  }
  if (a->memfd_ < 0) {
    int fd = memfd_create(options.name.c_str(), MFD_CLOEXEC);
    if (fd < 0) return Error(errno);
    a->memfd_ = fd;
    if (options.huge_pages != HugePagePolicy::kNone && thp) {
      a->backing_ = ArenaBacking::kShmemThp;
      a->backing_description_ += "shmem THP (2M where aligned; shmem_enabled=" + thp_setting + ")";
    } else {
      a->backing_ = ArenaBacking::kSmallPages;
      a->backing_description_ +=
          options.huge_pages == HugePagePolicy::kNone
              ? "4K pages (huge pages not requested)"
              : "4K pages (host shmem THP is '" + thp_setting +
                    "'; 'advise' in /sys/kernel/mm/transparent_hugepage/shmem_enabled "
                    "gives 2M pages)";
    }
  }
  a->capacity_pages_ = capacity >> kPageShift;
  if (ftruncate(a->memfd_, static_cast<off_t>(capacity)) != 0) return Error(errno);

  const int extra = a->backing_ == ArenaBacking::kHugetlb2M ? 0 : MAP_NORESERVE;
  for (std::byte** view : {&a->hw_view_, &a->direct_view_}) {
    void* p = mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_SHARED | extra, a->memfd_, 0);
    if (p == MAP_FAILED) return Error(errno == EINVAL ? ENOMEM : errno);
    *view = static_cast<std::byte*>(p);
    madvise(p, capacity, MADV_DONTDUMP);  // a core dump of 1 TiB of guest RAM helps no one
    if (a->backing_ == ArenaBacking::kShmemThp) madvise(p, capacity, MADV_HUGEPAGE);
  }
  {
    MutexLock l(&a->mu_);
    a->allocator_ = PfnAllocator(a->capacity_pages_);
  }
  RegisterDirectView(a->direct_view_, capacity);
  InstallOopsHandler();
  return a;
}

Arena::~Arena() {
  if (direct_view_) UnregisterDirectView(direct_view_);
  const uint64_t len = capacity_pages_ << kPageShift;
  if (hw_view_) munmap(hw_view_, len);
  if (direct_view_) munmap(direct_view_, len);
  if (memfd_ >= 0) close(memfd_);
}

uint64_t Arena::granule_pages() const {
  return backing_ == ArenaBacking::kHugetlb2M ? k2MPages : 1;
}

Result<PfnRange> Arena::Reserve(uint64_t npages, PageOrder align) {
  CHECK(npages > 0);
  const uint64_t g = granule_pages();
  npages = (npages + g - 1) / g * g;
  if (g > 1 && OrderBits(align) < OrderBits(PageOrder::k2M)) align = PageOrder::k2M;
  if (kArenaReserveFault.ShouldFail()) {
    reserve_failures_.Add();
    return Error(ENOMEM);
  }
  Result<PfnRange> r = [&] {
    MutexLock l(&mu_);
    return allocator_.Allocate(npages, align);
  }();
  if (!r.ok()) {
    reserve_failures_.Add();
    return r;
  }
  reservations_.Add();
  return r;
}

void Arena::Release(PfnRange range) {
  {
    MutexLock l(&mu_);
    CHECK_MSG(allocator_.IsAllocated(range), "releasing a range that was not reserved");
  }
  CHECK(RestoreDirectMap(range).ok());
  CHECK(Punch(range).ok());
  MutexLock l(&mu_);
  allocator_.Free(range);
  releases_.Add();
}

Status Arena::ChangeDirectMap(PfnRange range, bool present) {
  if (range.npages == 0) return Ok();
  if (!Contains(range)) return Error(EINVAL);
  const uint64_t g = granule_pages();
  if (range.start.value() % g != 0 || range.npages % g != 0) return Error(EINVAL);

  MutexLock l(&mu_);
  // Count what changes (the operation is idempotent per page) before touching the view.
  uint64_t removed_before = 0;
  direct_map_removed_.ForEachIn(range.start, range.end(),
                                [&](Pfn s, Pfn e, bool) { removed_before += e - s; });
  const int prot = present ? PROT_READ | PROT_WRITE : PROT_NONE;
  if (mprotect(DirectMap(range.start), range.bytes(), prot) != 0) return Error(errno);
  if (present) {
    direct_map_removed_.Erase(range.start, range.end());
    direct_map_restored_pages_.Add(removed_before);
  } else {
    direct_map_removed_.Assign(range.start, range.end(), true);
    direct_map_removed_pages_.Add(range.npages - removed_before);
  }
  any_direct_map_removed_.store(!direct_map_removed_.empty(), std::memory_order_release);
  return Ok();
}

Status Arena::RemoveDirectMap(PfnRange range) { return ChangeDirectMap(range, false); }
Status Arena::RestoreDirectMap(PfnRange range) { return ChangeDirectMap(range, true); }

bool Arena::IsDirectMapped(Pfn pfn) const {
  if (!any_direct_map_removed_.load(std::memory_order_acquire)) return true;
  MutexLock l(&mu_);
  return !direct_map_removed_.Lookup(pfn).has_value();
}

bool Arena::IsDirectMapped(PfnRange range) const {
  if (!any_direct_map_removed_.load(std::memory_order_acquire)) return true;
  return CountDirectMapRemoved(range) == 0;
}

uint64_t Arena::CountDirectMapRemoved(PfnRange range) const {
  MutexLock l(&mu_);
  uint64_t n = 0;
  direct_map_removed_.ForEachIn(range.start, range.end(), [&](Pfn s, Pfn e, bool) { n += e - s; });
  return n;
}

Result<LocalMapping> Arena::MapLocal(PfnRange range) const {
  if (range.npages == 0 || !Contains(range)) return Error(EINVAL);
  const uint64_t g = granule_pages();
  const uint64_t first = range.start.value() / g * g;
  const uint64_t last = (range.end().value() + g - 1) / g * g;
  const size_t map_len = (last - first) << kPageShift;
  void* p = mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd_,
                 static_cast<off_t>(first << kPageShift));
  if (p == MAP_FAILED) return Error(errno);
  local_maps_.Add();
  auto* base = static_cast<std::byte*>(p);
  return LocalMapping(base, map_len, base + ((range.start.value() - first) << kPageShift),
                      range.bytes());
}

Status Arena::Punch(PfnRange range) {
  if (range.npages == 0) return Ok();
  if (!Contains(range)) return Error(EINVAL);
  const uint64_t g = granule_pages();
  uint64_t start = range.start.value();
  const uint64_t end = range.end().value();
  // Partial huge pages cannot be freed: zero them (hugetlb only; g == 1 otherwise).
  const uint64_t whole_start = (start + g - 1) / g * g;
  const uint64_t whole_end = end / g * g;
  if (whole_start >= whole_end) {
    memset(HardwareView(Pfn(start)), 0, range.bytes());
  } else {
    if (start < whole_start) memset(HardwareView(Pfn(start)), 0, (whole_start - start) << kPageShift);
    if (whole_end < end) memset(HardwareView(Pfn(whole_end)), 0, (end - whole_end) << kPageShift);
    if (fallocate(memfd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  static_cast<off_t>(whole_start << kPageShift),
                  static_cast<off_t>((whole_end - whole_start) << kPageShift)) != 0) {
      return Error(errno);
    }
  }
  punched_pages_.Add(range.npages);
  return Ok();
}

uint64_t Arena::reserved_bytes() const {
  MutexLock l(&mu_);
  return allocator_.allocated_pages() << kPageShift;
}

uint64_t Arena::committed_bytes() const {
  struct stat st {};
  if (fstat(memfd_, &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

bool Arena::FindDirectMapAddress(const void* addr, Pfn* pfn) {
  const auto a = reinterpret_cast<uintptr_t>(addr);
  for (const ViewSlot& s : g_direct_views) {
    uintptr_t base = s.base.load(std::memory_order_acquire);
    uintptr_t len = s.len.load(std::memory_order_acquire);
    if (base != 0 && a >= base && a - base < len) {
      *pfn = Pfn((a - base) >> kPageShift);
      return true;
    }
  }
  return false;
}

}  // namespace cocomem::host
