// In-place shared<->private conversion of guest_memfd (KVM_SET_MEMORY_ATTRIBUTES2 on the
// gmem fd), after tools/testing/selftests/kvm/x86/guest_memfd_conversions_test.c: the host
// side of every case that needs no vCPU, the ioctl's validation table, the module
// parameter, huge-page files, and memory failure on shared pages. The same assertions run on
// the emulator and on the host kernel; whatever a backend lacks is a skip naming it.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "conformance/guest_memfd_util.h"
#include "conformance/kvm_util.h"

namespace {

using gmem_util::Allocate;
using gmem_util::ExpectSigbus;
using gmem_util::ExpectSigbusOnWrite;
using gmem_util::Fd;
using gmem_util::GmemFlags;
using gmem_util::IsInaccessible;
using gmem_util::k1G;
using gmem_util::k2M;
using gmem_util::Mapping;
using gmem_util::PageSize;
using gmem_util::PunchHole;
using gmem_util::ReadsAs;
using gmem_util::SetPrivate;
using gmem_util::SetShared;
using gmem_util::TryRead;
using gmem_util::TryWrite;
using kvm_util::CheckCap;
using kvm_util::VmTypeSupported;

constexpr uint64_t kMmap = GUEST_MEMFD_FLAG_MMAP;
constexpr uint64_t kInitShared = GUEST_MEMFD_FLAG_INIT_SHARED;
constexpr uint64_t kHugetlb = GUEST_MEMFD_FLAG_HUGETLB;
constexpr uint64_t kPrivate = KVM_MEMORY_ATTRIBUTE_PRIVATE;
constexpr char kParam[] = "gmem_in_place_conversion";

std::string Backend() {
  return ccm_backend_name() ? ccm_backend_name() : "?";
}

// A byte that varies with both the page and the round (never 0, the zero-fill value).
char Val(uint64_t page, int round) {
  return static_cast<char>(0x80 | ((page & 7) << 4) | (static_cast<uint64_t>(round) & 0xf));
}

// A KVM_X86_SW_PROTECTED_VM whose guest_memfd converts in place, and one MMAP guest_memfd
// of it mapped shared into the test: the selftest's gmem_conversions fixture minus the vCPU.
class GmemConversionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kvm_.reset(ccm_open("/dev/kvm", O_RDWR | O_CLOEXEC));
    if (!kvm_.ok())
      GTEST_SKIP() << "/dev/kvm is not usable on the " << Backend()
                   << " backend: " << std::strerror(errno);
    if (CheckCap(kvm_.get(), KVM_CAP_GUEST_MEMFD) <= 0)
      GTEST_SKIP() << "the " << Backend() << " backend lacks KVM_CAP_GUEST_MEMFD";
    if (!VmTypeSupported(kvm_.get(), KVM_X86_SW_PROTECTED_VM))
      GTEST_SKIP() << "the " << Backend()
                   << " backend has no KVM_X86_SW_PROTECTED_VM (not in KVM_CAP_VM_TYPES), "
                      "needed for private memory";
    vm_.reset(ccm_ioctl(kvm_.get(), KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM));
    ASSERT_TRUE(vm_.ok()) << std::strerror(errno);
    if (!gmem_util::VmCanConvert(vm_.get()))
      GTEST_SKIP() << "the " << Backend()
                   << " backend lacks KVM_SET_MEMORY_ATTRIBUTES2 (in-place conversion): "
                      "KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES has no PRIVATE for a "
                      "sw_protected VM";
    valid_flags_ = GmemFlags(vm_.get());
    if (!(valid_flags_ & kMmap))
      GTEST_SKIP() << "the " << Backend() << " backend lacks GUEST_MEMFD_FLAG_MMAP";
    ps_ = PageSize();
  }

  // (Re)creates the guest_memfd: nr_pages pages, MMAP plus `flags`, mapped shared.
  void Init(uint64_t nr_pages, uint64_t flags) {
    mem_.reset();
    gmem_.reset();
    if ((flags & kInitShared) && !(valid_flags_ & kInitShared))
      GTEST_SKIP() << "the " << Backend()
                   << " backend lacks GUEST_MEMFD_FLAG_INIT_SHARED for sw_protected VMs";
    nr_pages_ = nr_pages;
    gmem_.reset(gmem_util::CreateGuestMemfd(vm_.get(), nr_pages * ps_, flags | kMmap));
    ASSERT_TRUE(gmem_.ok()) << std::strerror(errno);
    mem_ = Mapping(nr_pages * ps_, PROT_READ | PROT_WRITE, MAP_SHARED, gmem_.get(), 0);
    ASSERT_TRUE(mem_.ok()) << std::strerror(errno);
  }

  volatile char* Page(uint64_t i) const { return mem_.at(i * ps_); }

  // host_do_rmw: the page is shared, holds `expected`, and takes `write`.
  void HostRmw(uint64_t i, char expected, char write) {
    EXPECT_TRUE(ReadsAs(Page(i), expected)) << "page " << i;
    EXPECT_TRUE(TryWrite(Page(i), write)) << "page " << i;
  }
  void ExpectShared(uint64_t i, char expected) {
    EXPECT_TRUE(ReadsAs(Page(i), expected)) << "page " << i;
  }
  void ExpectPrivate(uint64_t i) { EXPECT_TRUE(IsInaccessible(Page(i))) << "page " << i; }

  void ConvertPrivate(uint64_t first, uint64_t n = 1) {
    ASSERT_EQ(SetPrivate(gmem_.get(), first * ps_, n * ps_), 0)
        << "pages [" << first << ", " << first + n << ") to private: " << std::strerror(errno);
  }
  void ConvertShared(uint64_t first, uint64_t n = 1) {
    ASSERT_EQ(SetShared(gmem_.get(), first * ps_, n * ps_), 0)
        << "pages [" << first << ", " << first + n << ") to shared: " << std::strerror(errno);
  }

  // test_convert_to_private_fails: EAGAIN with error_offset naming the pinned page.
  void ExpectConvertPrivateFails(uint64_t first, uint64_t n, uint64_t want_error_offset) {
    uint64_t err = want_error_offset + 1;
    errno = 0;
    EXPECT_EQ(SetPrivate(gmem_.get(), first * ps_, n * ps_, &err), -1)
        << "pages [" << first << ", " << first + n << ")";
    EXPECT_EQ(errno, EAGAIN) << std::strerror(errno);
    EXPECT_EQ(err, want_error_offset) << "pages [" << first << ", " << first + n << ")";
  }

  gmem_util::SigbusScope sigbus_;
  Fd kvm_;
  Fd vm_;
  Fd gmem_;
  Mapping mem_;
  uint64_t valid_flags_ = 0;
  uint64_t ps_ = 0;
  uint64_t nr_pages_ = 0;
};

#define SETUP(nr_pages, flags)                    \
  do {                                            \
    Init(nr_pages, flags);                        \
    if (IsSkipped() || HasFatalFailure()) return; \
  } while (0)

TEST_F(GmemConversionsTest, InitPrivate) {
  SETUP(1, 0);
  ExpectPrivate(0);
  ConvertShared(0);
  HostRmw(0, 0, 'A');  // first touch is zero
  ConvertPrivate(0);
  ExpectPrivate(0);
  ConvertShared(0);
  HostRmw(0, 'A', 'B');  // conversion preserves the data
  ConvertPrivate(0);
  ExpectPrivate(0);
}

TEST_F(GmemConversionsTest, InitShared) {
  SETUP(1, kInitShared);
  HostRmw(0, 0, 'A');
  ConvertPrivate(0);
  ExpectPrivate(0);
  ConvertShared(0);
  HostRmw(0, 'A', 'B');
  ConvertPrivate(0);
  ExpectPrivate(0);
  ConvertShared(0);
  ExpectShared(0, 'B');
}

// Conversion precision: only the targeted indices flip.
TEST_F(GmemConversionsTest, Indexing) {
  const uint64_t n = 4;
  for (uint64_t test_page = 0; test_page < n; test_page++) {
    SCOPED_TRACE("test_page " + std::to_string(test_page));
    SETUP(n, kInitShared);
    // Highest index first, to catch the first page being returned for every index.
    for (uint64_t i = n; i-- > 0;) HostRmw(i, 0, Val(i, 0));
    ConvertPrivate(test_page);
    for (uint64_t i = 0; i < n; i++) {
      if (i == test_page)
        ExpectPrivate(i);
      else
        HostRmw(i, Val(i, 0), Val(i, 1));
    }
    ConvertShared(test_page);
    for (uint64_t i = 0; i < n; i++) HostRmw(i, i == test_page ? Val(i, 0) : Val(i, 1), Val(i, 2));
  }

  // Multi-page sub-ranges.
  SCOPED_TRACE("sub-ranges");
  SETUP(n, kInitShared);
  for (uint64_t i = 0; i < n; i++) HostRmw(i, 0, Val(i, 3));
  ConvertPrivate(1, 2);
  ExpectShared(0, Val(0, 3));
  ExpectPrivate(1);
  ExpectPrivate(2);
  ExpectShared(3, Val(3, 3));
  ConvertShared(2, 1);
  ExpectShared(0, Val(0, 3));
  ExpectPrivate(1);
  ExpectShared(2, Val(2, 3));
  ExpectShared(3, Val(3, 3));
  ConvertPrivate(0, n);
  for (uint64_t i = 0; i < n; i++) ExpectPrivate(i);
  ConvertShared(3, 1);
  for (uint64_t i = 0; i < 3; i++) ExpectPrivate(i);
  ExpectShared(3, Val(3, 3));
  ConvertShared(0, n);
  for (uint64_t i = 0; i < n; i++) ExpectShared(i, Val(i, 3));
}

// Conversions of ranges without folios are recorded and honoured by the first access.
TEST_F(GmemConversionsTest, BeforeAllocationShared) {
  SETUP(1, kInitShared);
  ConvertPrivate(0);
  ExpectPrivate(0);
  ConvertShared(0);
  HostRmw(0, 0, 'A');
}

TEST_F(GmemConversionsTest, BeforeAllocationPrivate) {
  SETUP(1, 0);
  ConvertShared(0);
  HostRmw(0, 0, 'A');
  ConvertPrivate(0);
  ExpectPrivate(0);
  ConvertShared(0);
  ExpectShared(0, 'A');
}

// Ranges where only some pages have folios (faulted in, or fallocated), in layouts that
// vary with test_page.
TEST_F(GmemConversionsTest, UnallocatedFolios) {
  const uint64_t n = 8;
  const uint64_t second_page_to_fault = 4;
  for (uint64_t test_page = 0; test_page < n; test_page++) {
    SCOPED_TRACE("test_page " + std::to_string(test_page));
    SETUP(n, kInitShared);
    HostRmw(test_page, 0, 'A');
    if (test_page != second_page_to_fault) HostRmw(second_page_to_fault, 0, 'A');
    const uint64_t fallocated = (test_page + 2) % n;
    ASSERT_EQ(Allocate(gmem_.get(), fallocated * ps_, ps_), 0) << std::strerror(errno);
    auto expected = [&](uint64_t i) -> char {
      return (i == test_page || i == second_page_to_fault) ? 'A' : 0;
    };

    ConvertPrivate(0, n);
    for (uint64_t i = 0; i < n; i++) ExpectPrivate(i);

    // Back to shared in two ranges split at test_page (one may be empty).
    if (test_page > 0) ConvertShared(0, test_page);
    ConvertShared(test_page, n - test_page);
    for (uint64_t i = 0; i < n; i++) ExpectShared(i, expected(i));

    // A 3-page private window that starts at test_page (wrapping into two ranges).
    std::vector<bool> priv(n, false);
    for (uint64_t k = 0; k < 3; k++) priv[(test_page + k) % n] = true;
    if (test_page + 3 <= n) {
      ConvertPrivate(test_page, 3);
    } else {
      ConvertPrivate(test_page, n - test_page);
      ConvertPrivate(0, test_page + 3 - n);
    }
    for (uint64_t i = 0; i < n; i++) {
      if (priv[i])
        ExpectPrivate(i);
      else
        ExpectShared(i, expected(i));
    }

    // Page by page back to shared.
    for (uint64_t i = 0; i < n; i++) ConvertShared(i);
    for (uint64_t i = 0; i < n; i++) HostRmw(i, expected(i), 'B');
  }
}

// Punching a hole keeps the shared/private attribute and frees the data.
TEST_F(GmemConversionsTest, Truncate) {
  SETUP(2, kInitShared);
  HostRmw(0, 0, 'A');
  HostRmw(1, 0, 'Z');
  ASSERT_EQ(PunchHole(gmem_.get(), 0, ps_), 0) << std::strerror(errno);
  HostRmw(0, 0, 'A');  // still shared, zero after the punch
  ExpectShared(1, 'Z');

  ConvertPrivate(0);
  ASSERT_EQ(PunchHole(gmem_.get(), 0, ps_), 0) << std::strerror(errno);
  ExpectPrivate(0);  // still private after the punch
  ExpectShared(1, 'Z');
  ConvertShared(0);
  ExpectShared(0, 0);  // the punched data is gone

  // A punch over both a private and a shared page.
  HostRmw(0, 0, 'B');
  ConvertPrivate(0);
  ASSERT_EQ(PunchHole(gmem_.get(), 0, 2 * ps_), 0) << std::strerror(errno);
  ExpectPrivate(0);
  ExpectShared(1, 0);
  ConvertShared(0);
  ExpectShared(0, 0);
}

// Shared/private protection is seen from every process holding the mapping.
TEST_F(GmemConversionsTest, ForkedAccesses) {
  SETUP(2, kInitShared);
  HostRmw(0, 0, 'A');
  HostRmw(1, 0, 'B');

  // Fork after the conversion: the child inherits a private page it cannot touch.
  ConvertPrivate(0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    int code = 0;
    if (!ExpectSigbus(Page(0))) code |= 1;
    if (!ExpectSigbusOnWrite(Page(0), 'x')) code |= 2;
    char c = 0;
    if (!TryRead(Page(1), &c) || c != 'B') code |= 4;
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child died: status 0x" << std::hex << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "bit 1: child's read of the private page did not SIGBUS; "
                                       "2: its write did not; 4: shared page unreadable/wrong";

  ConvertShared(0);
  ExpectShared(0, 'A');
}

// The selftest's flavour: the child maps the shared page first, then the parent converts it;
// the conversion unmaps it from every process (unmap_mapping_pages), so the child SIGBUSes.
TEST_F(GmemConversionsTest, ForkedAccessesConvertedAfterFork) {
  // The emulator makes private pages SIGBUS with per-process mapping overlays; a
  // conversion made after fork() cannot rewrite the child's address space.
  if (!kvm_util::OnHost()) {
    GTEST_SKIP() << "emulator limitation: a conversion made after fork() does not reach "
                    "the child's existing mappings (ForkedAccesses covers fork after "
                    "conversion)";
  }
  SETUP(2, kInitShared);
  HostRmw(0, 0, 'A');
  HostRmw(1, 0, 'B');
  int status = 0;
  int to_parent[2], to_child[2];
  ASSERT_EQ(pipe(to_parent), 0);
  ASSERT_EQ(pipe(to_child), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    close(to_parent[0]);
    close(to_child[1]);
    int code = 0;
    char c = 0;
    if (!TryRead(Page(0), &c) || c != 'A') code |= 1;
    if (!TryWrite(Page(0), 'C')) code |= 2;
    char b = 's';
    if (write(to_parent[1], &b, 1) != 1) code |= 32;
    if (read(to_child[0], &b, 1) != 1) code |= 32;
    if (!ExpectSigbus(Page(0))) code |= 4;
    if (!ExpectSigbusOnWrite(Page(0), 'x')) code |= 8;
    if (!TryRead(Page(1), &c) || c != 'B') code |= 16;
    _exit(code);
  }
  close(to_parent[1]);
  close(to_child[0]);
  char b = 0;
  EXPECT_EQ(read(to_parent[0], &b, 1), 1);
  ExpectShared(0, 'C');  // the child's write, through the shared mapping
  ConvertPrivate(0);
  EXPECT_EQ(write(to_child[1], &b, 1), 1);
  close(to_parent[0]);
  close(to_child[1]);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child died: status 0x" << std::hex << status;
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "bit 1: child could not read the shared page; 2: nor write it; 4: its read after the "
         "parent's conversion did not SIGBUS; 8: nor its write; 16: other page wrong; 32: pipe";
  ExpectPrivate(0);
  ConvertShared(0);
  ExpectShared(0, 'C');  // the child's writes after the conversion did not land
}

// A long-term pin on a shared page blocks its conversion to private: EAGAIN with
// error_offset naming the page, and nothing changes.
TEST_F(GmemConversionsTest, ElevatedRefcount) {
  const uint64_t n = 4;
  for (uint64_t test_page = 0; test_page < n; test_page++) {
    SCOPED_TRACE("test_page " + std::to_string(test_page));
    SETUP(n, kInitShared);
    for (uint64_t i = 0; i < n; i++) HostRmw(i, 0, Val(i, 0));
    char* pinned = mem_.get() + test_page * ps_;
    errno = 0;
    if (ccm_pin_user_pages(pinned, 1) != 0) {
      if (errno == ENOSYS)
        GTEST_SKIP() << "the " << Backend()
                     << " backend cannot take long-term pins (ccm_pin_user_pages: ENOSYS)";
      FAIL() << "ccm_pin_user_pages: " << std::strerror(errno);
    }

    // In bulk: refused as long as any page has unexpected references.
    ExpectConvertPrivateFails(0, n, test_page * ps_);
    for (uint64_t i = 0; i < n; i++) ExpectShared(i, Val(i, 0));  // all or nothing

    // Page by page: only the pinned page is refused.
    for (uint64_t i = 0; i < n; i++) {
      if (i == test_page) {
        ExpectConvertPrivateFails(i, 1, test_page * ps_);
        ExpectShared(i, Val(i, 0));
      } else {
        ConvertPrivate(i);
        ExpectPrivate(i);
      }
    }
    // A range starting at the pinned page reports it too.
    ExpectConvertPrivateFails(test_page, n - test_page, test_page * ps_);

    ASSERT_EQ(ccm_unpin_user_pages(pinned, 1), 0) << std::strerror(errno);
    ConvertPrivate(0, n);
    for (uint64_t i = 0; i < n; i++) ExpectPrivate(i);
    ConvertShared(0, n);
    for (uint64_t i = 0; i < n; i++) ExpectShared(i, Val(i, 0));
  }
}

// KVM_SET_MEMORY_ATTRIBUTES2's argument checks (§1.7), in the kernel's order. None of the
// refused calls changes anything.
TEST_F(GmemConversionsTest, Validation) {
  const uint64_t n = 4;
  SETUP(n, kInitShared);
  for (uint64_t i = 0; i < n; i++) HostRmw(i, 0, Val(i, 0));
  const int gmem = gmem_.get();
  const uint64_t size = n * ps_;
  auto base = [&] {
    kvm_memory_attributes2 a{};
    a.offset = ps_;
    a.size = ps_;
    a.attributes = kPrivate;
    return a;
  };
  auto expect_einval = [&](kvm_memory_attributes2 a, const std::string& what) {
    errno = 0;
    EXPECT_EQ(ccm_ioctl(gmem, KVM_SET_MEMORY_ATTRIBUTES2, &a), -1) << what;
    EXPECT_EQ(errno, EINVAL) << what << ": " << std::strerror(errno);
  };

  // copy_from_user.
  TEST_ASSERT_ERRNO(ccm_ioctl(gmem, KVM_SET_MEMORY_ATTRIBUTES2, nullptr), EFAULT);
  // flags must be 0 (the v4/v5 content-mode bits are gone).
  for (uint64_t flags : {uint64_t{1}, uint64_t{2}, uint64_t{1} << 63}) {
    auto a = base();
    a.flags = flags;
    expect_einval(a, "flags " + std::to_string(flags));
  }
  // error_offset is output only.
  for (uint64_t e : {uint64_t{1}, ps_}) {
    auto a = base();
    a.error_offset = e;
    expect_einval(a, "error_offset " + std::to_string(e));
  }
  // reserved words.
  for (size_t i = 0; i < sizeof(kvm_memory_attributes2::reserved) / sizeof(uint64_t); i++) {
    auto a = base();
    a.reserved[i] = 1;
    expect_einval(a, "reserved[" + std::to_string(i) + "]");
  }
  // A VM without private memory (the default VM) — where in-place conversion is on.
  if (VmTypeSupported(kvm_.get(), KVM_X86_DEFAULT_VM)) {
    Fd dvm(ccm_ioctl(kvm_.get(), KVM_CREATE_VM, KVM_X86_DEFAULT_VM));
    ASSERT_TRUE(dvm.ok()) << std::strerror(errno);
    EXPECT_FALSE(gmem_util::VmCanConvert(dvm.get()));
    const uint64_t dflags = GmemFlags(dvm.get()) & (kMmap | kInitShared);
    Fd dgmem(gmem_util::CreateGuestMemfd(dvm.get(), size, dflags));
    ASSERT_TRUE(dgmem.ok()) << std::strerror(errno);
    for (uint64_t attrs : {kPrivate, uint64_t{0}}) {
      kvm_memory_attributes2 a{};
      a.size = ps_;
      a.attributes = attrs;
      errno = 0;
      EXPECT_EQ(ccm_ioctl(dgmem.get(), KVM_SET_MEMORY_ATTRIBUTES2, &a), -1) << "default VM";
      EXPECT_EQ(errno, EINVAL) << "default VM, attributes " << attrs << ": "
                               << std::strerror(errno);
    }
  }
  // Attributes other than PRIVATE.
  for (uint64_t attrs : {uint64_t{1} << 0, uint64_t{1} << 1, uint64_t{1} << 2, uint64_t{1} << 4,
                         uint64_t{1} << 63, kPrivate | 1, ~uint64_t{0}}) {
    auto a = base();
    a.attributes = attrs;
    expect_einval(a, "attributes " + std::to_string(attrs));
  }
  // size 0, and offset + size overflowing.
  for (uint64_t attrs : {kPrivate, uint64_t{0}}) {
    auto a = base();
    a.attributes = attrs;
    a.size = 0;
    expect_einval(a, "size 0");
    a = base();
    a.attributes = attrs;
    a.size = 0 - ps_;
    expect_einval(a, "offset + size overflows");
    a = base();
    a.attributes = attrs;
    a.offset = 0 - ps_;
    a.size = 2 * ps_;
    expect_einval(a, "offset + size overflows (high offset)");
  }
  // Not page aligned.
  for (uint64_t off : {uint64_t{1}, ps_ - 1, ps_ + 1, ps_ / 2}) {
    auto a = base();
    a.offset = off;
    expect_einval(a, "offset " + std::to_string(off));
  }
  for (uint64_t sz : {uint64_t{1}, ps_ - 1, ps_ + 1, 3 * ps_ / 2}) {
    auto a = base();
    a.size = sz;
    expect_einval(a, "size " + std::to_string(sz));
  }
  // Beyond i_size.
  const std::pair<uint64_t, uint64_t> beyond[] = {
      {size, ps_}, {size + ps_, ps_}, {0, size + ps_}, {size - ps_, 2 * ps_}, {ps_, size}};
  for (const auto& [off, sz] : beyond) {
    auto a = base();
    a.offset = off;
    a.size = sz;
    expect_einval(a, "offset " + std::to_string(off) + " size " + std::to_string(sz));
  }

  // Nothing changed.
  for (uint64_t i = 0; i < n; i++) ExpectShared(i, Val(i, 0));
  // And the unmodified request works.
  auto a = base();
  EXPECT_EQ(ccm_ioctl(gmem, KVM_SET_MEMORY_ATTRIBUTES2, &a), 0) << std::strerror(errno);
  EXPECT_EQ(a.error_offset, 0u);
  ExpectShared(0, Val(0, 0));
  ExpectPrivate(1);
  ExpectShared(2, Val(2, 0));
  // The whole file is a valid range.
  EXPECT_EQ(SetShared(gmem, 0, size), 0) << std::strerror(errno);
  for (uint64_t i = 0; i < n; i++) ExpectShared(i, Val(i, 0));
}

// Any other ioctl on the gmem fd is ENOTTY.
TEST_F(GmemConversionsTest, OtherIoctlsAreEnotty) {
  SETUP(1, 0);
  TEST_ASSERT_ERRNO(ccm_ioctl(gmem_.get(), _IO(KVMIO, 0x7f), 0), ENOTTY);
  kvm_memory_attributes a{};
  a.size = ps_;
  a.attributes = kPrivate;
  TEST_ASSERT_ERRNO(ccm_ioctl(gmem_.get(), KVM_SET_MEMORY_ATTRIBUTES, &a), ENOTTY);
  ExpectPrivate(0);
}

// Restores gmem_in_place_conversion=1 when it goes out of scope.
struct ParamRestorer {
  ~ParamRestorer() {
    if (ccm_set_param(kParam, "1") != 0)
      ADD_FAILURE() << "restoring " << kParam << "=1: " << std::strerror(errno);
  }
};

// gmem_in_place_conversion=0: VMs created afterwards have no KVM_SET_MEMORY_ATTRIBUTES2
// (ENOTTY); VMs created before keep it.
TEST_F(GmemConversionsTest, DisabledByModuleParameter) {
  SETUP(1, kInitShared);
  HostRmw(0, 0, 'A');
  errno = 0;
  if (ccm_set_param(kParam, "0") != 0) {
    if (errno == ENOENT)
      GTEST_SKIP() << "the " << Backend() << " backend has no kvm." << kParam << " parameter";
    if (errno == EPERM || errno == EACCES)
      GTEST_SKIP() << "kvm." << kParam << " is read-only on the " << Backend() << " backend";
    FAIL() << "ccm_set_param(" << kParam << ", 0): " << std::strerror(errno);
  }
  {
    ParamRestorer restore;
    Fd vm(ccm_ioctl(kvm_.get(), KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM));
    ASSERT_TRUE(vm.ok()) << std::strerror(errno);
    EXPECT_FALSE(gmem_util::VmCanConvert(vm.get()));
    EXPECT_EQ(CheckCap(vm.get(), KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES), 0);
    // Without in-place conversion a VM with private memory cannot have INIT_SHARED files.
    EXPECT_FALSE(GmemFlags(vm.get()) & kInitShared) << std::hex << GmemFlags(vm.get());
    Fd gmem(gmem_util::CreateGuestMemfd(vm.get(), 4 * ps_, GmemFlags(vm.get()) & kMmap));
    ASSERT_TRUE(gmem.ok()) << std::strerror(errno);
    uint64_t err = 0;
    errno = 0;
    EXPECT_EQ(SetShared(gmem.get(), 0, ps_, &err), -1);
    EXPECT_EQ(errno, ENOTTY) << std::strerror(errno);
    errno = 0;
    EXPECT_EQ(SetPrivate(gmem.get(), 0, ps_, &err), -1);
    EXPECT_EQ(errno, ENOTTY) << std::strerror(errno);

    // The fixture's VM predates the change and still converts.
    ConvertPrivate(0);
    ExpectPrivate(0);
    ConvertShared(0);
    ExpectShared(0, 'A');
  }
  Fd vm(ccm_ioctl(kvm_.get(), KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM));
  ASSERT_TRUE(vm.ok()) << std::strerror(errno);
  EXPECT_TRUE(gmem_util::VmCanConvert(vm.get())) << "after restoring " << kParam << "=1";
}

// A range that already has the attributes returns 0 at once, whatever else is going on.
TEST_F(GmemConversionsTest, NoChangeReturnsEarly) {
  const uint64_t n = 4;
  SETUP(n, kInitShared);
  for (uint64_t i = 0; i < n; i++) HostRmw(i, 0, Val(i, 0));
  uint64_t err = 1;
  EXPECT_EQ(SetShared(gmem_.get(), 0, n * ps_, &err), 0) << std::strerror(errno);
  EXPECT_EQ(err, 0u);
  for (uint64_t i = 0; i < n; i++) HostRmw(i, Val(i, 0), Val(i, 1));

  ConvertPrivate(1, 2);
  err = 1;
  EXPECT_EQ(SetPrivate(gmem_.get(), ps_, 2 * ps_, &err), 0) << std::strerror(errno);
  EXPECT_EQ(err, 0u);
  err = 1;
  EXPECT_EQ(SetPrivate(gmem_.get(), 2 * ps_, ps_, &err), 0) << std::strerror(errno);
  EXPECT_EQ(err, 0u);
  err = 1;
  EXPECT_EQ(SetShared(gmem_.get(), 3 * ps_, ps_, &err), 0) << std::strerror(errno);
  EXPECT_EQ(err, 0u);
  ExpectShared(0, Val(0, 1));
  ExpectPrivate(1);
  ExpectPrivate(2);
  ExpectShared(3, Val(3, 1));

  // Only shared -> private checks references: a pinned page does not block a to-shared call,
  // neither a no-op one nor a real one.
  errno = 0;
  if (ccm_pin_user_pages(mem_.get() + 3 * ps_, 1) == 0) {
    EXPECT_EQ(SetShared(gmem_.get(), 3 * ps_, ps_), 0) << std::strerror(errno);
    EXPECT_EQ(SetShared(gmem_.get(), 0, n * ps_), 0) << std::strerror(errno);
    EXPECT_EQ(ccm_unpin_user_pages(mem_.get() + 3 * ps_, 1), 0) << std::strerror(errno);
  } else {
    EXPECT_EQ(errno, ENOSYS) << std::strerror(errno);
    ConvertShared(0, n);
  }
  for (uint64_t i = 0; i < n; i++) ExpectShared(i, Val(i, 1));
}

// ---- huge pages: conversion stays 4K-granular inside a 2M/1G page ---------------------------

class GmemHugeConversionsTest : public GmemConversionsTest,
                                public ::testing::WithParamInterface<uint64_t> {
 protected:
  void SetUp() override {
    GmemConversionsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    hp_ = GetParam();
    if (!(valid_flags_ & kHugetlb))
      GTEST_SKIP() << "the " << Backend()
                   << " backend lacks GUEST_MEMFD_FLAG_HUGETLB for sw_protected VMs";
  }

  // Two huge pages, HUGETLB|MMAP: private from the start (hugetlb files cannot be
  // INIT_SHARED). Offsets below are bytes.
  void SetupHuge(bool prealloc) {
    mem_.reset();
    gmem_.reset();
    size_ = 2 * hp_;
    gmem_.reset(
        gmem_util::CreateGuestMemfd(vm_.get(), size_, kHugetlb | kMmap, gmem_util::PageOrder(hp_)));
    ASSERT_TRUE(gmem_.ok()) << std::strerror(errno);
    mem_ = Mapping(size_, PROT_READ | PROT_WRITE, MAP_SHARED, gmem_.get(), 0);
    ASSERT_TRUE(mem_.ok()) << std::strerror(errno);
    if (prealloc) ASSERT_EQ(Allocate(gmem_.get(), 0, size_), 0) << std::strerror(errno);
  }

  void ToShared(uint64_t off, uint64_t len) {
    ASSERT_EQ(SetShared(gmem_.get(), off, len), 0)
        << "[0x" << std::hex << off << ", +0x" << len << ") to shared: " << std::strerror(errno);
  }
  void ToPrivate(uint64_t off, uint64_t len) {
    ASSERT_EQ(SetPrivate(gmem_.get(), off, len), 0)
        << "[0x" << std::hex << off << ", +0x" << len << ") to private: " << std::strerror(errno);
  }
  void ExpectPrivateAt(uint64_t off) {
    EXPECT_TRUE(IsInaccessible(mem_.at(off))) << "offset 0x" << std::hex << off;
  }
  void ExpectSharedAt(uint64_t off, char v) {
    EXPECT_TRUE(ReadsAs(mem_.at(off), v)) << "offset 0x" << std::hex << off;
  }

  uint64_t hp_ = 0;
  uint64_t size_ = 0;
};

#define SETUP_HUGE(prealloc)                      \
  do {                                            \
    SetupHuge(prealloc);                          \
    if (IsSkipped() || HasFatalFailure()) return; \
  } while (0)

TEST_P(GmemHugeConversionsTest, MiddlePageToSharedAndBack) {
  for (bool prealloc : {false, true}) {
    SCOPED_TRACE(prealloc ? "fallocated" : "not allocated");
    SETUP_HUGE(prealloc);
    const uint64_t b = ps_;
    const uint64_t mid = hp_ / 2;
    for (uint64_t off : {uint64_t{0}, mid, hp_ - b, hp_, size_ - b}) ExpectPrivateAt(off);

    ToShared(mid, b);
    ExpectSharedAt(mid, 0);
    EXPECT_TRUE(TryWrite(mem_.at(mid), 'M'));
    EXPECT_TRUE(TryWrite(mem_.at(mid + b - 1), 'm'));
    for (uint64_t off : {uint64_t{0}, mid - b, mid + b, hp_ - b, hp_, hp_ + mid})
      ExpectPrivateAt(off);

    ToPrivate(mid, b);
    ExpectPrivateAt(mid);
    ToShared(mid, b);
    ExpectSharedAt(mid, 'M');
    ExpectSharedAt(mid + b - 1, 'm');
    ExpectPrivateAt(mid - b);
    ExpectPrivateAt(mid + b);
    ToPrivate(mid, b);
    ExpectPrivateAt(mid);
  }
}

// Several 4K pages in both huge pages go shared (splitting them) and back to private
// (merging them): every page keeps its data.
TEST_P(GmemHugeConversionsTest, SplitAndMergeKeepData) {
  for (bool prealloc : {false, true}) {
    SCOPED_TRACE(prealloc ? "fallocated" : "not allocated");
    SETUP_HUGE(prealloc);
    const uint64_t b = ps_;
    const uint64_t pages[] = {hp_ / 2, hp_ / 2 + 3 * b, hp_ - b, hp_ + b};
    for (size_t i = 0; i < 4; i++) {
      ToShared(pages[i], b);
      EXPECT_TRUE(TryWrite(mem_.at(pages[i]), Val(i, 5)));
    }
    for (size_t i = 0; i < 4; i++) ExpectSharedAt(pages[i], Val(i, 5));
    for (uint64_t off : {uint64_t{0}, hp_ / 2 + b, hp_, size_ - b}) ExpectPrivateAt(off);

    ToPrivate(pages[0], b);
    ExpectPrivateAt(pages[0]);
    ExpectSharedAt(pages[1], Val(1, 5));
    ExpectSharedAt(pages[2], Val(2, 5));
    ToPrivate(pages[1], b);
    ToPrivate(pages[2], b);  // the first huge page is all private again
    ToPrivate(pages[3], b);  // and the second
    for (size_t i = 0; i < 4; i++) ExpectPrivateAt(pages[i]);

    ToShared(0, size_);
    for (size_t i = 0; i < 4; i++) ExpectSharedAt(pages[i], Val(i, 5));
    for (uint64_t off : {uint64_t{0}, hp_ / 2 + b, hp_, size_ - b}) ExpectSharedAt(off, 0);
    ToPrivate(0, size_);
    for (size_t i = 0; i < 4; i++) ExpectPrivateAt(pages[i]);
  }
}

// Conversion is 4K-granular in a huge file (a range may straddle huge pages); punching
// must be huge-aligned and keeps the attributes.
TEST_P(GmemHugeConversionsTest, GranularityAndPunch) {
  SETUP_HUGE(false);
  const uint64_t b = ps_;
  TEST_ASSERT_ERRNO(SetShared(gmem_.get(), 1, b), EINVAL);
  TEST_ASSERT_ERRNO(SetShared(gmem_.get(), b, b / 2), EINVAL);
  ToShared(hp_ - b, 2 * b);  // straddles the two huge pages
  EXPECT_TRUE(TryWrite(mem_.at(hp_ - b), 'L'));
  EXPECT_TRUE(TryWrite(mem_.at(hp_), 'R'));
  ExpectPrivateAt(hp_ - 2 * b);
  ExpectPrivateAt(hp_ + b);

  TEST_ASSERT_ERRNO(PunchHole(gmem_.get(), hp_ - b, b), EINVAL);
  TEST_ASSERT_ERRNO(PunchHole(gmem_.get(), 0, b), EINVAL);
  ExpectSharedAt(hp_ - b, 'L');
  ASSERT_EQ(PunchHole(gmem_.get(), 0, hp_), 0) << std::strerror(errno);
  ExpectSharedAt(hp_ - b, 0);  // still shared, data gone
  ExpectSharedAt(hp_, 'R');    // the other huge page is untouched
  ExpectPrivateAt(0);
  ExpectPrivateAt(hp_ + b);
}

INSTANTIATE_TEST_SUITE_P(PageSize, GmemHugeConversionsTest, ::testing::Values(k2M, k1G),
                         [](const ::testing::TestParamInfo<uint64_t>& info) {
                           return gmem_util::SizeName(info.param);
                         });

// ---- memory failure on shared pages (§2.4) ----------------------------------------------

// A VM of the first type whose guest_memfd can be MMAP|INIT_SHARED, and a mapped file.
class GmemMemoryFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kvm_.reset(ccm_open("/dev/kvm", O_RDWR | O_CLOEXEC));
    if (!kvm_.ok())
      GTEST_SKIP() << "/dev/kvm is not usable on the " << Backend()
                   << " backend: " << std::strerror(errno);
    if (CheckCap(kvm_.get(), KVM_CAP_GUEST_MEMFD) <= 0)
      GTEST_SKIP() << "the " << Backend() << " backend lacks KVM_CAP_GUEST_MEMFD";
    for (unsigned long t : {KVM_X86_DEFAULT_VM, KVM_X86_SW_PROTECTED_VM}) {
      if (!VmTypeSupported(kvm_.get(), t)) continue;
      Fd vm(ccm_ioctl(kvm_.get(), KVM_CREATE_VM, t));
      ASSERT_TRUE(vm.ok()) << std::strerror(errno);
      if ((GmemFlags(vm.get()) & (kMmap | kInitShared)) == (kMmap | kInitShared)) {
        vm_ = std::move(vm);
        break;
      }
    }
    if (!vm_.ok())
      GTEST_SKIP() << "no VM type on the " << Backend()
                   << " backend offers GUEST_MEMFD_FLAG_MMAP|INIT_SHARED";
    ps_ = PageSize();
    gmem_.reset(gmem_util::CreateGuestMemfd(vm_.get(), n_ * ps_, kMmap | kInitShared));
    ASSERT_TRUE(gmem_.ok()) << std::strerror(errno);
    mem_ = Mapping(n_ * ps_, PROT_READ | PROT_WRITE, MAP_SHARED, gmem_.get(), 0);
    ASSERT_TRUE(mem_.ok()) << std::strerror(errno);
    for (uint64_t i = 0; i < n_; i++) ASSERT_TRUE(TryWrite(mem_.at(i * ps_), Val(i, 9)));
  }

  // After page 1 was poisoned: access SIGBUSes with BUS_MCEERR_AR (the handler was
  // installed before the injection), the other pages are fine, and punching the page
  // clears the poison.
  void CheckPoisonedThenPunch() {
    const uint64_t bad = 1;
    int code = 0;
    EXPECT_TRUE(ExpectSigbus(mem_.at(bad * ps_), &code));
    EXPECT_EQ(code, BUS_MCEERR_AR);
    code = 0;
    EXPECT_TRUE(ExpectSigbusOnWrite(mem_.at(bad * ps_ + 8), 'x', &code));
    EXPECT_EQ(code, BUS_MCEERR_AR);
    for (uint64_t i = 0; i < n_; i++)
      if (i != bad) EXPECT_TRUE(ReadsAs(mem_.at(i * ps_), Val(i, 9))) << "page " << i;

    ASSERT_EQ(PunchHole(gmem_.get(), bad * ps_, ps_), 0) << std::strerror(errno);
    EXPECT_TRUE(ReadsAs(mem_.at(bad * ps_), 0));
    EXPECT_TRUE(TryWrite(mem_.at(bad * ps_), 'h'));
    EXPECT_TRUE(ReadsAs(mem_.at(bad * ps_), 'h'));
    for (uint64_t i = 0; i < n_; i++)
      if (i != bad) EXPECT_TRUE(ReadsAs(mem_.at(i * ps_), Val(i, 9))) << "page " << i;
  }

  std::string CannotPoison(const char* how, int e) const {
    return std::string("the ") + Backend() + " backend cannot poison a guest_memfd page (" + how +
           ": " + std::strerror(e) +
           (kvm_util::OnHost() ? "; the host kernel needs CONFIG_MEMORY_FAILURE and "
                                 "CAP_SYS_ADMIN for MADV_HWPOISON)"
                               : ")");
  }

  gmem_util::SigbusScope sigbus_;  // installed before any injection
  Fd kvm_;
  Fd vm_;
  Fd gmem_;
  Mapping mem_;
  uint64_t ps_ = 0;
  const uint64_t n_ = 4;
};

TEST_F(GmemMemoryFailureTest, InjectedFailureOnSharedPage) {
  errno = 0;
  if (ccm_inject_memory_failure(gmem_.get(), static_cast<off_t>(ps_)) != 0) {
    const int e = errno;
    if (e == EINVAL || e == EPERM || e == ENOSYS || e == EOPNOTSUPP)
      GTEST_SKIP() << CannotPoison("ccm_inject_memory_failure", e);
    FAIL() << "ccm_inject_memory_failure: " << std::strerror(e);
  }
  CheckPoisonedThenPunch();
}

TEST_F(GmemMemoryFailureTest, MadviseHwpoison) {
  errno = 0;
  if (ccm_madvise(mem_.get() + ps_, ps_, MADV_HWPOISON) != 0) {
    const int e = errno;
    if (e == EINVAL || e == EPERM || e == ENOSYS || e == EOPNOTSUPP)
      GTEST_SKIP() << CannotPoison("madvise(MADV_HWPOISON)", e);
    FAIL() << "madvise(MADV_HWPOISON): " << std::strerror(e);
  }
  CheckPoisonedThenPunch();
}

TEST_F(GmemMemoryFailureTest, InjectionNeedsAGuestMemfdPage) {
  // Unaligned offsets are refused before anything is poisoned.
  TEST_ASSERT_ERRNO(ccm_inject_memory_failure(gmem_.get(), 1), EINVAL);
  TEST_ASSERT_ERRNO(ccm_inject_memory_failure(gmem_.get(), -static_cast<off_t>(ps_)), EINVAL);
  TEST_ASSERT_ERRNO(ccm_inject_memory_failure(-1, 0), EBADF);
  for (uint64_t i = 0; i < n_; i++) EXPECT_TRUE(ReadsAs(mem_.at(i * ps_), Val(i, 9)));
}

}  // namespace
