// guest_memfd helpers for the conformance suite, after the kernel selftests' kvm_util
// (vm_create_guest_memfd, gmem_set_private/shared, TEST_EXPECT_SIGBUS). Every call goes
// through the cocomem facade, so the same test runs on the emulator and on the host kernel.
#pragma once

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "conformance/kvm_util.h"

namespace gmem_util {

constexpr uint64_t k4K = 4096;
constexpr uint64_t k2M = 2ULL << 20;
constexpr uint64_t k1G = 1ULL << 30;

inline uint64_t PageSize() {
  return static_cast<uint64_t>(getpagesize());
}

// page_order for GUEST_MEMFD_FLAG_HUGETLB: 2M -> 9, 1G -> 18 (0 for the base page size).
inline uint8_t PageOrder(uint64_t page_size) {
  uint8_t order = 0;
  while ((PageSize() << order) < page_size) order++;
  return order;
}

inline std::string SizeName(uint64_t size) {
  if (size >= k1G && size % k1G == 0) return std::to_string(size / k1G) + "G";
  if (size >= k2M / 2 && size % (k2M / 2) == 0) return std::to_string(size >> 20) + "M";
  return std::to_string(size >> 10) + "K";
}

inline const char* VmTypeName(unsigned long type) {
  switch (type) {
    case KVM_X86_DEFAULT_VM:
      return "default";
    case KVM_X86_SW_PROTECTED_VM:
      return "sw_protected";
    case KVM_X86_SEV_VM:
      return "sev";
    case KVM_X86_SEV_ES_VM:
      return "sev_es";
    case KVM_X86_SNP_VM:
      return "snp";
    case KVM_X86_TDX_VM:
      return "tdx";
    default:
      return "unknown";
  }
}

// An fd closed with ccm_close when it goes out of scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ccm_close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// A mapping unmapped with ccm_munmap when it goes out of scope.
class Mapping {
 public:
  Mapping() = default;
  Mapping(size_t len, int prot, int flags, int fd, off_t offset, void* addr = nullptr) : len_(len) {
    void* p = ccm_mmap(addr, len, prot, flags, fd, offset);
    addr_ = p == MAP_FAILED ? nullptr : static_cast<char*>(p);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  Mapping(Mapping&& o) noexcept
      : addr_(std::exchange(o.addr_, nullptr)), len_(std::exchange(o.len_, 0)) {}
  Mapping& operator=(Mapping&& o) noexcept {
    if (this != &o) {
      reset();
      addr_ = std::exchange(o.addr_, nullptr);
      len_ = std::exchange(o.len_, 0);
    }
    return *this;
  }
  ~Mapping() { reset(); }
  bool ok() const { return addr_ != nullptr; }
  char* get() const { return addr_; }
  volatile char* at(uint64_t offset) const { return addr_ + offset; }
  size_t size() const { return len_; }
  void reset() {
    if (addr_) ccm_munmap(addr_, len_);
    addr_ = nullptr;
    len_ = 0;
  }

 private:
  char* addr_ = nullptr;
  size_t len_ = 0;
};

// ---- SIGBUS -------------------------------------------------------------------------------
//
// TEST_EXPECT_SIGBUS, made thread-safe and reusable: every guarded access arms a
// thread-local jump buffer; the process-wide handler (installed by a SigbusScope for the
// duration of a test) records si_code and jumps back to the access that faulted. A SIGBUS
// on a thread with no armed access is a real crash: the handler falls back to the default
// action, so the process dies with SIGBUS as it would without the handler.

namespace internal {

inline thread_local sigjmp_buf* tls_sigbus_jmp = nullptr;
inline thread_local int tls_sigbus_code = 0;

inline void SigbusHandler(int sig, siginfo_t* si, void*) {
  sigjmp_buf* jb = tls_sigbus_jmp;
  if (jb == nullptr) {
    static const char kMsg[] = "guest_memfd_util: SIGBUS outside a guarded access\n";
    [[maybe_unused]] ssize_t n = write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
    signal(sig, SIG_DFL);  // the faulting access re-runs and kills the process
    return;
  }
  tls_sigbus_code = si ? si->si_code : 0;
  siglongjmp(*jb, 1);
}

// Live SigbusScopes in the process. The handler need not be the current disposition: a
// backend may chain its own in front of it (the emulator does, to report BUS_MCEERR_AR for
// poisoned pages), as long as it passes the signal on.
inline std::atomic<int> g_sigbus_scopes{0};

enum class Access { kRead, kWrite };

// One access at p. Returns true iff it raised SIGBUS (si_code in *si_code).
inline bool Sigbuses(volatile char* p, Access access, char value, char* read_value, int* si_code) {
  if (g_sigbus_scopes.load() <= 0) {
    ADD_FAILURE() << "guarded access without a gmem_util::SigbusScope";
    return false;
  }
  sigjmp_buf jb;
  sigjmp_buf* const prev = tls_sigbus_jmp;
  if (sigsetjmp(jb, 1) != 0) {  // 1: restore the signal mask (SIGBUS is blocked in the handler)
    tls_sigbus_jmp = prev;
    if (si_code) *si_code = tls_sigbus_code;
    return true;
  }
  tls_sigbus_jmp = &jb;
  if (access == Access::kRead) {
    const char v = *p;
    if (read_value) *read_value = v;
  } else {
    *p = value;
  }
  tls_sigbus_jmp = prev;
  return false;
}

}  // namespace internal

// Installs the SIGBUS handler for its lifetime and restores the previous one afterwards.
// One per test: fixtures hold one as a member.
class SigbusScope {
 public:
  SigbusScope() {
    struct sigaction sa {};
    sa.sa_sigaction = &internal::SigbusHandler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    installed_ = sigaction(SIGBUS, &sa, &old_) == 0;
    if (installed_) internal::g_sigbus_scopes++;
  }
  SigbusScope(const SigbusScope&) = delete;
  SigbusScope& operator=(const SigbusScope&) = delete;
  ~SigbusScope() {
    if (!installed_) return;
    internal::g_sigbus_scopes--;
    sigaction(SIGBUS, &old_, nullptr);
  }

 private:
  struct sigaction old_ {};
  bool installed_ = false;
};

// Reads *p; true iff that raised SIGBUS (si_code in *si_code when non-null).
inline bool ExpectSigbus(volatile char* p, int* si_code = nullptr) {
  return internal::Sigbuses(p, internal::Access::kRead, 0, nullptr, si_code);
}

// Writes value to *p; true iff that raised SIGBUS.
inline bool ExpectSigbusOnWrite(volatile char* p, char value = 0x5a, int* si_code = nullptr) {
  return internal::Sigbuses(p, internal::Access::kWrite, value, nullptr, si_code);
}

// Guarded read: true and *out on success, false if it SIGBUSed.
inline bool TryRead(volatile char* p, char* out) {
  return !internal::Sigbuses(p, internal::Access::kRead, 0, out, nullptr);
}

// Guarded write: true on success, false if it SIGBUSed.
inline bool TryWrite(volatile char* p, char value) {
  return !internal::Sigbuses(p, internal::Access::kWrite, value, nullptr, nullptr);
}

// Reads p and checks it equals `want` without SIGBUS, for EXPECT_TRUE.
inline ::testing::AssertionResult ReadsAs(volatile char* p, char want) {
  char got = 0;
  if (!TryRead(p, &got)) return ::testing::AssertionFailure() << "read SIGBUSed";
  if (got != want) {
    std::ostringstream msg;
    msg << "read 0x" << std::hex << (static_cast<unsigned>(got) & 0xff) << ", want 0x"
        << (static_cast<unsigned>(want) & 0xff);
    return ::testing::AssertionFailure() << msg.str();
  }
  return ::testing::AssertionSuccess();
}

// Both a read and a write of p SIGBUS (a private page), for EXPECT_TRUE.
inline ::testing::AssertionResult IsInaccessible(volatile char* p) {
  const bool r = ExpectSigbus(p);
  const bool w = ExpectSigbusOnWrite(p);
  if (r && w) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << (r ? "" : "read did not SIGBUS; ") << (w ? "" : "write did not SIGBUS");
}

// ---- guest_memfd --------------------------------------------------------------------------

// KVM_CREATE_GUEST_MEMFD: the new fd, or -1 with errno.
inline int CreateGuestMemfd(int vm, uint64_t size, uint64_t flags, uint8_t page_order = 0) {
  kvm_create_guest_memfd args{};
  args.size = size;
  args.flags = flags;
  args.page_order = page_order;
  return ccm_ioctl(vm, KVM_CREATE_GUEST_MEMFD, &args);
}

// KVM_CAP_GUEST_MEMFD_FLAGS of a VM (or of /dev/kvm): the supported GUEST_MEMFD_FLAG_* mask.
inline uint64_t GmemFlags(int fd) {
  const int r = kvm_util::CheckCap(fd, KVM_CAP_GUEST_MEMFD_FLAGS);
  return r > 0 ? static_cast<uint64_t>(r) : 0;
}

// KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES on a VM: in-place conversion of that VM's gmem.
inline bool VmCanConvert(int vm) {
  const int r = kvm_util::CheckCap(vm, KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES);
  return r > 0 && (static_cast<uint64_t>(r) & KVM_MEMORY_ATTRIBUTE_PRIVATE);
}

// KVM_SET_MEMORY_ATTRIBUTES2 on a guest_memfd (retrying EINTR like __gmem_set_private).
// error_offset receives the struct's error_offset after the call.
inline int SetAttributes(int gmem, uint64_t offset, uint64_t size, uint64_t attributes,
                         uint64_t* error_offset = nullptr) {
  int r;
  kvm_memory_attributes2 a{};
  do {
    a = kvm_memory_attributes2{};
    a.offset = offset;
    a.size = size;
    a.attributes = attributes;
    r = ccm_ioctl(gmem, KVM_SET_MEMORY_ATTRIBUTES2, &a);
  } while (r == -1 && errno == EINTR);
  if (error_offset) *error_offset = a.error_offset;
  return r;
}

inline int SetPrivate(int gmem, uint64_t offset, uint64_t size, uint64_t* error_offset = nullptr) {
  return SetAttributes(gmem, offset, size, KVM_MEMORY_ATTRIBUTE_PRIVATE, error_offset);
}

inline int SetShared(int gmem, uint64_t offset, uint64_t size, uint64_t* error_offset = nullptr) {
  return SetAttributes(gmem, offset, size, 0, error_offset);
}

inline int PunchHole(int gmem, uint64_t offset, uint64_t len) {
  return ccm_fallocate(gmem, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, static_cast<off_t>(offset),
                       static_cast<off_t>(len));
}

inline int Allocate(int gmem, uint64_t offset, uint64_t len) {
  return ccm_fallocate(gmem, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                       static_cast<off_t>(len));
}

// Offsets to touch in a file of `size` bytes made of `page_size` pages: "touch every page,
// not every byte". Every 4K page for 4K and 2M files; for larger pages 512 evenly spaced
// 4K pages per huge page plus the last 4K page of each.
inline std::vector<uint64_t> TouchOffsets(uint64_t size, uint64_t page_size) {
  const uint64_t base = PageSize();
  const uint64_t stride = page_size / 512 > base ? page_size / 512 : base;
  std::vector<uint64_t> offs;
  for (uint64_t hp = 0; hp < size; hp += page_size) {
    for (uint64_t o = 0; o < page_size && hp + o < size; o += stride) offs.push_back(hp + o);
    if (stride > base) offs.push_back(hp + page_size - base);
  }
  return offs;
}

// A pattern byte that differs between pages and between rounds.
inline char PatternByte(uint64_t offset, int round) {
  return static_cast<char>(((offset / PageSize()) * 7 + static_cast<uint64_t>(round) * 31 + 1) | 1);
}

}  // namespace gmem_util
