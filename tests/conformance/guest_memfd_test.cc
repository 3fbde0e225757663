// guest_memfd file semantics, after tools/testing/selftests/kvm/guest_memfd_test.c: every
// host-side case, for every VM type in KVM_CAP_VM_TYPES and, where the VM offers
// GUEST_MEMFD_FLAG_HUGETLB, for 2M and 1G pages too. Plus the hugetlb creation rules and
// GUEST_MEMFD_FLAG_NO_DIRECT_MAP. The same assertions run on the emulator and on the host
// kernel; whatever a backend lacks is a skip naming what is missing.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "conformance/guest_memfd_util.h"
#include "conformance/kvm_util.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

namespace {

using gmem_util::Allocate;
using gmem_util::CreateGuestMemfd;
using gmem_util::ExpectSigbus;
using gmem_util::ExpectSigbusOnWrite;
using gmem_util::Fd;
using gmem_util::GmemFlags;
using gmem_util::IsInaccessible;
using gmem_util::k1G;
using gmem_util::k2M;
using gmem_util::k4K;
using gmem_util::Mapping;
using gmem_util::PageSize;
using gmem_util::PatternByte;
using gmem_util::PunchHole;
using gmem_util::ReadsAs;
using gmem_util::TouchOffsets;
using gmem_util::TryRead;
using gmem_util::TryWrite;
using kvm_util::CheckCap;
using kvm_util::VmTypeSupported;

constexpr uint64_t kMmap = GUEST_MEMFD_FLAG_MMAP;
constexpr uint64_t kInitShared = GUEST_MEMFD_FLAG_INIT_SHARED;
constexpr uint64_t kNoDirectMap = GUEST_MEMFD_FLAG_NO_DIRECT_MAP;
constexpr uint64_t kHugetlb = GUEST_MEMFD_FLAG_HUGETLB;

const unsigned long kVmTypes[] = {KVM_X86_DEFAULT_VM, KVM_X86_SW_PROTECTED_VM, KVM_X86_SEV_VM,
                                  KVM_X86_SEV_ES_VM,  KVM_X86_SNP_VM,          KVM_X86_TDX_VM};

std::string Backend() {
  return ccm_backend_name() ? ccm_backend_name() : "?";
}

std::string FlagsName(uint64_t flags) {
  if (flags == 0) return "flags=0";
  std::string s = "flags=";
  const struct {
    uint64_t bit;
    const char* name;
  } names[] = {{kMmap, "MMAP"},
               {kInitShared, "INIT_SHARED"},
               {kNoDirectMap, "NO_DIRECT_MAP"},
               {kHugetlb, "HUGETLB"}};
  for (const auto& n : names) {
    if (flags & n.bit) {
      if (s.size() > 6) s += "|";
      s += n.name;
      flags &= ~n.bit;
    }
  }
  if (flags) {
    std::ostringstream rest;
    rest << (s.size() > 6 ? "|0x" : "0x") << std::hex << flags;
    s += rest.str();
  }
  return s;
}

struct GmemParam {
  unsigned long vm_type;
  uint64_t page_size;
};

// One VM of the parameter's type; guest_memfd files of the parameter's page size.
class GuestMemfdTest : public ::testing::TestWithParam<GmemParam> {
 protected:
  void SetUp() override {
    const GmemParam p = GetParam();
    kvm_.reset(ccm_open("/dev/kvm", O_RDWR | O_CLOEXEC));
    if (!kvm_.ok())
      GTEST_SKIP() << "/dev/kvm is not usable on the " << Backend()
                   << " backend: " << std::strerror(errno);
    if (CheckCap(kvm_.get(), KVM_CAP_GUEST_MEMFD) <= 0)
      GTEST_SKIP() << "the " << Backend() << " backend lacks KVM_CAP_GUEST_MEMFD";
    if (!VmTypeSupported(kvm_.get(), p.vm_type))
      GTEST_SKIP() << "the " << Backend() << " backend does not offer the "
                   << gmem_util::VmTypeName(p.vm_type) << " VM type (" << p.vm_type
                   << ") in KVM_CAP_VM_TYPES";
    vm_.reset(ccm_ioctl(kvm_.get(), KVM_CREATE_VM, p.vm_type));
    ASSERT_TRUE(vm_.ok()) << "KVM_CREATE_VM(" << p.vm_type << "): " << std::strerror(errno);
    valid_flags_ = GmemFlags(vm_.get());
    ps_ = p.page_size;
    huge_ = ps_ != PageSize();
    if (huge_) {
      if (!(valid_flags_ & kHugetlb))
        GTEST_SKIP() << "the " << Backend() << " backend does not offer GUEST_MEMFD_FLAG_HUGETLB"
                     << " (KVM_CAP_GUEST_MEMFD_FLAGS = 0x" << std::hex << valid_flags_ << ") for "
                     << gmem_util::VmTypeName(p.vm_type) << " VMs";
      order_ = gmem_util::PageOrder(ps_);
    }
    // Small files: 4 pages as in the selftest, 2 huge pages for huge files.
    total_ = huge_ ? 2 * ps_ : 4 * ps_;
  }

  // The flag sets the selftest runs each case with, restricted to what the VM offers:
  // none, MMAP, MMAP|INIT_SHARED; for huge pages HUGETLB and HUGETLB|MMAP (hugetlb files
  // cannot be INIT_SHARED).
  std::vector<uint64_t> FlagSets() const {
    std::vector<uint64_t> sets;
    const uint64_t base = huge_ ? kHugetlb : 0;
    sets.push_back(base);
    if (valid_flags_ & kMmap) sets.push_back(base | kMmap);
    if (!huge_ && (valid_flags_ & kMmap) && (valid_flags_ & kInitShared))
      sets.push_back(kMmap | kInitShared);
    return sets;
  }

  int Create(uint64_t size, uint64_t flags) const {
    return CreateGuestMemfd(vm_.get(), size, flags, (flags & kHugetlb) ? order_ : 0);
  }

  // A file of `size` bytes whose every page the host can map: MMAP|INIT_SHARED for base
  // pages; for huge pages (never INIT_SHARED) HUGETLB|MMAP converted to shared in place.
  // Invalid with *why set when the VM can do neither.
  Fd CreateShared(uint64_t size, std::string* why) const {
    if (!huge_) {
      if ((valid_flags_ & (kMmap | kInitShared)) != (kMmap | kInitShared)) {
        *why = "no GUEST_MEMFD_FLAG_MMAP|INIT_SHARED for " + VmName() + " VMs on the " + Backend() +
               " backend";
        return Fd();
      }
      Fd fd(Create(size, kMmap | kInitShared));
      if (!fd.ok()) *why = std::string("create failed: ") + std::strerror(errno);
      return fd;
    }
    if (!(valid_flags_ & kMmap) || !gmem_util::VmCanConvert(vm_.get())) {
      *why = "hugetlb guest_memfd starts private and " + VmName() + " VMs on the " + Backend() +
             " backend cannot convert it to shared (needs MMAP and "
             "KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES)";
      return Fd();
    }
    Fd fd(Create(size, kHugetlb | kMmap));
    if (!fd.ok()) {
      *why = std::string("create failed: ") + std::strerror(errno);
      return fd;
    }
    if (gmem_util::SetShared(fd.get(), 0, size) != 0) {
      *why = std::string("KVM_SET_MEMORY_ATTRIBUTES2(shared) failed: ") + std::strerror(errno);
      return Fd();
    }
    return fd;
  }

  std::string VmName() const { return gmem_util::VmTypeName(GetParam().vm_type); }

  gmem_util::SigbusScope sigbus_;
  Fd kvm_;
  Fd vm_;
  uint64_t valid_flags_ = 0;
  uint64_t ps_ = 0;     // the file's page size
  uint64_t total_ = 0;  // the size of the files under test
  uint8_t order_ = 0;   // page_order for HUGETLB
  bool huge_ = false;
};

TEST_P(GuestMemfdTest, FileReadWrite) {
  for (const uint64_t flags : FlagSets()) {
    SCOPED_TRACE(FlagsName(flags));
    Fd fd(Create(total_, flags));
    ASSERT_TRUE(fd.ok()) << std::strerror(errno);
    char buf[64] = {};
    // No read/write file operations: the VFS says EINVAL; no FMODE_PREAD/PWRITE: ESPIPE.
    TEST_ASSERT_ERRNO(ccm_read(fd.get(), buf, sizeof buf), EINVAL);
    TEST_ASSERT_ERRNO(ccm_write(fd.get(), buf, sizeof buf), EINVAL);
    TEST_ASSERT_ERRNO(ccm_pread(fd.get(), buf, sizeof buf, 0), ESPIPE);
    TEST_ASSERT_ERRNO(ccm_pwrite(fd.get(), buf, sizeof buf, 0), ESPIPE);
    // The size is fixed at create.
    TEST_ASSERT_ERRNO(ccm_ftruncate(fd.get(), static_cast<off_t>(2 * total_)), EINVAL);
    TEST_ASSERT_ERRNO(ccm_ftruncate(fd.get(), static_cast<off_t>(total_)), EINVAL);
    TEST_ASSERT_ERRNO(ccm_ftruncate(fd.get(), 0), EINVAL);
    struct stat st {};
    ASSERT_EQ(ccm_fstat(fd.get(), &st), 0);
    EXPECT_EQ(static_cast<uint64_t>(st.st_size), total_);
  }
}

TEST_P(GuestMemfdTest, MmapCow) {
  int ran = 0;
  for (const uint64_t flags : FlagSets()) {
    if (!(flags & kMmap)) continue;
    SCOPED_TRACE(FlagsName(flags));
    ran++;
    Fd fd(Create(total_, flags));
    ASSERT_TRUE(fd.ok()) << std::strerror(errno);
    errno = 0;
    void* p = ccm_mmap(nullptr, total_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.get(), 0);
    EXPECT_EQ(p, MAP_FAILED) << "copy-on-write mappings of guest_memfd must be refused";
    EXPECT_EQ(errno, EINVAL) << std::strerror(errno);
    if (p != MAP_FAILED) ccm_munmap(p, total_);
    // Read-only private mappings are still private.
    errno = 0;
    p = ccm_mmap(nullptr, total_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    EXPECT_EQ(p, MAP_FAILED);
    EXPECT_EQ(errno, EINVAL) << std::strerror(errno);
    if (p != MAP_FAILED) ccm_munmap(p, total_);
  }
  if (!ran)
    GTEST_SKIP() << "no GUEST_MEMFD_FLAG_MMAP for " << VmName() << " VMs on the " << Backend()
                 << " backend";
}

TEST_P(GuestMemfdTest, MmapSupported) {
  std::string why;
  Fd fd = CreateShared(total_, &why);
  if (!fd.ok()) GTEST_SKIP() << why;
  Mapping m(total_, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  ASSERT_TRUE(m.ok()) << std::strerror(errno);
  const auto offs = TouchOffsets(total_, ps_);
  const char val = static_cast<char>(0xaa);

  // Write the pattern: every page (for base pages every byte, as the selftest does).
  for (uint64_t off : offs) {
    ASSERT_TRUE(TryWrite(m.at(off), val)) << "offset " << off;
    if (!huge_) std::memset(m.get() + off, val, PageSize());
  }
  for (uint64_t off : offs) ASSERT_TRUE(ReadsAs(m.at(off), val)) << "offset " << off;
  if (!huge_)
    for (uint64_t i = 0; i < total_; i++) ASSERT_EQ(m.get()[i], val) << "byte " << i;

  // Punching the first page frees it: it reads zero, the rest is intact.
  ASSERT_EQ(PunchHole(fd.get(), 0, ps_), 0) << std::strerror(errno);
  for (uint64_t off : offs)
    EXPECT_TRUE(ReadsAs(m.at(off), off < ps_ ? 0 : val)) << "offset " << off;
  if (!huge_) {
    for (uint64_t i = 0; i < ps_; i++) ASSERT_EQ(m.get()[i], 0) << "byte " << i;
    for (uint64_t i = ps_; i < total_; i++) ASSERT_EQ(m.get()[i], val) << "byte " << i;
  }

  // Writing the punched page again works.
  for (uint64_t off : offs) {
    if (off >= ps_) break;
    ASSERT_TRUE(TryWrite(m.at(off), val)) << "offset " << off;
    if (!huge_) std::memset(m.get() + off, val, PageSize());
  }
  for (uint64_t off : offs) EXPECT_TRUE(ReadsAs(m.at(off), val)) << "offset " << off;
  if (!huge_)
    for (uint64_t i = 0; i < total_; i++) ASSERT_EQ(m.get()[i], val) << "byte " << i;
}

TEST_P(GuestMemfdTest, Collapse) {
  // Both the address and the file offset must be PMD-aligned to even reach collapse.
  const uint64_t pmd = k2M;
  const uint64_t len = huge_ ? ps_ : pmd;
  std::string why;
  Fd fd = CreateShared(len, &why);
  if (!fd.ok()) GTEST_SKIP() << why;
  const uint64_t align = len > pmd ? len : pmd;
  Mapping reserved(2 * align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_TRUE(reserved.ok()) << std::strerror(errno);
  const uintptr_t base = reinterpret_cast<uintptr_t>(reserved.get());
  char* aligned = reinterpret_cast<char*>((base + align - 1) & ~(align - 1));
  void* p = ccm_mmap(aligned, len, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_SHARED, fd.get(), 0);
  ASSERT_NE(p, MAP_FAILED) << std::strerror(errno);
  char* mem = static_cast<char*>(p);
  EXPECT_EQ(mem, aligned);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(mem) % pmd, 0u);

  // Populate the page tables with reads (no dirtying), touching every page.
  for (uint64_t off : TouchOffsets(len, huge_ ? ps_ : PageSize()))
    EXPECT_TRUE(ReadsAs(mem + off, 0)) << "offset " << off;

  // Advising huge pages is fine, collapsing is not: it would map beyond shared ranges.
  EXPECT_EQ(ccm_madvise(mem, pmd, MADV_HUGEPAGE), 0) << std::strerror(errno);
  TEST_ASSERT_ERRNO(ccm_madvise(mem, pmd, MADV_COLLAPSE), EINVAL);

  // Zapping and re-faulting works, and the data is the file's.
  ASSERT_TRUE(TryWrite(mem, 'x'));
  EXPECT_EQ(ccm_madvise(mem, pmd, MADV_DONTNEED), 0) << std::strerror(errno);
  EXPECT_TRUE(ReadsAs(mem, 'x'));
  EXPECT_TRUE(ReadsAs(mem + PageSize(), 0));
  EXPECT_EQ(ccm_munmap(mem, len), 0);
}

// Access beyond i_size in a mapping larger than the file: SIGBUS (BUS_ADRERR); the file's
// own pages keep their data.
TEST_P(GuestMemfdTest, FaultOverflow) {
  std::string why;
  Fd fd = CreateShared(total_, &why);
  if (!fd.ok()) GTEST_SKIP() << why;
  const uint64_t map_size = 4 * total_;
  Mapping m(map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  ASSERT_TRUE(m.ok()) << std::strerror(errno);
  const auto offs = TouchOffsets(total_, ps_);
  for (uint64_t off : offs) ASSERT_TRUE(TryWrite(m.at(off), PatternByte(off, 0))) << off;

  for (uint64_t off :
       {total_, total_ + PageSize(), total_ + ps_, 2 * total_ + ps_ / 2, map_size - PageSize()}) {
    SCOPED_TRACE("offset " + std::to_string(off));
    int code = 0;
    EXPECT_TRUE(ExpectSigbus(m.at(off), &code));
    EXPECT_EQ(code, BUS_ADRERR);
    code = 0;
    EXPECT_TRUE(ExpectSigbusOnWrite(m.at(off), static_cast<char>(0xaa), &code));
    EXPECT_EQ(code, BUS_ADRERR);
  }
  for (uint64_t off : offs) EXPECT_TRUE(ReadsAs(m.at(off), PatternByte(off, 0))) << off;
}

// MMAP without INIT_SHARED: every page is private, so any host access SIGBUSes.
TEST_P(GuestMemfdTest, FaultPrivate) {
  if (!(valid_flags_ & kMmap))
    GTEST_SKIP() << "no GUEST_MEMFD_FLAG_MMAP for " << VmName() << " VMs on the " << Backend()
                 << " backend";
  const uint64_t flags = (huge_ ? kHugetlb : 0) | kMmap;
  SCOPED_TRACE(FlagsName(flags));
  Fd fd(Create(total_, flags));
  ASSERT_TRUE(fd.ok()) << std::strerror(errno);
  Mapping m(total_, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  ASSERT_TRUE(m.ok()) << std::strerror(errno);
  for (uint64_t off : TouchOffsets(total_, ps_)) {
    int code = 0;
    ASSERT_TRUE(ExpectSigbusOnWrite(m.at(off), static_cast<char>(0xaa), &code)) << off;
    EXPECT_EQ(code, BUS_ADRERR) << off;
    code = 0;
    ASSERT_TRUE(ExpectSigbus(m.at(off), &code)) << off;
    EXPECT_EQ(code, BUS_ADRERR) << off;
  }
  // Allocating the pages does not make them accessible.
  ASSERT_EQ(Allocate(fd.get(), 0, total_), 0) << std::strerror(errno);
  EXPECT_TRUE(IsInaccessible(m.at(0)));
  EXPECT_TRUE(IsInaccessible(m.at(total_ - PageSize())));
}

TEST_P(GuestMemfdTest, MmapNotSupported) {
  const uint64_t flags = huge_ ? kHugetlb : 0;
  SCOPED_TRACE(FlagsName(flags));
  Fd fd(Create(total_, flags));
  ASSERT_TRUE(fd.ok()) << std::strerror(errno);
  for (uint64_t len : {ps_, total_}) {
    errno = 0;
    void* p = ccm_mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    EXPECT_EQ(p, MAP_FAILED) << "len " << len;
    EXPECT_EQ(errno, ENODEV) << "len " << len << ": " << std::strerror(errno);
    if (p != MAP_FAILED) ccm_munmap(p, len);
  }
}

// mmap at offset == i_size succeeds; the access SIGBUSes.
TEST_P(GuestMemfdTest, MmapAtEndOfFile) {
  if (!(valid_flags_ & kMmap))
    GTEST_SKIP() << "no GUEST_MEMFD_FLAG_MMAP for " << VmName() << " VMs on the " << Backend()
                 << " backend";
  std::string why;
  Fd fd = CreateShared(total_, &why);
  if (!fd.ok()) fd = Fd(Create(total_, (huge_ ? kHugetlb : 0) | kMmap));
  ASSERT_TRUE(fd.ok()) << std::strerror(errno);
  Mapping m(ps_, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), static_cast<off_t>(total_));
  ASSERT_TRUE(m.ok()) << "mmap at offset == size: " << std::strerror(errno);
  int code = 0;
  EXPECT_TRUE(ExpectSigbus(m.at(0), &code));
  EXPECT_EQ(code, BUS_ADRERR);
  EXPECT_TRUE(ExpectSigbusOnWrite(m.at(ps_ - PageSize())));
}

TEST_P(GuestMemfdTest, FileSize) {
  for (const uint64_t flags : FlagSets()) {
    SCOPED_TRACE(FlagsName(flags));
    Fd fd(Create(total_, flags));
    ASSERT_TRUE(fd.ok()) << std::strerror(errno);
    struct stat st {};
    ASSERT_EQ(ccm_fstat(fd.get(), &st), 0) << std::strerror(errno);
    EXPECT_EQ(static_cast<uint64_t>(st.st_size), total_);
    // i_blkbits is the page shift: PAGE_SHIFT, or order + PAGE_SHIFT for hugetlb.
    EXPECT_EQ(static_cast<uint64_t>(st.st_blksize), ps_);
    EXPECT_EQ(st.st_mode, static_cast<mode_t>(S_IFREG | 0600));
  }
}

TEST_P(GuestMemfdTest, Fallocate) {
  const off_t ps = static_cast<off_t>(ps_);
  const off_t total = static_cast<off_t>(total_);
  const int keep = FALLOC_FL_KEEP_SIZE;
  const int punch = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE;
  for (const uint64_t flags : FlagSets()) {
    SCOPED_TRACE(FlagsName(flags));
    Fd fd(Create(total_, flags));
    ASSERT_TRUE(fd.ok()) << std::strerror(errno);
    const int f = fd.get();

    // The selftest's sequence.
    EXPECT_EQ(ccm_fallocate(f, keep, 0, total), 0) << std::strerror(errno);
    TEST_ASSERT_ERRNO(ccm_fallocate(f, punch, ps - 1, ps), EINVAL);            // unaligned offset
    TEST_ASSERT_ERRNO(ccm_fallocate(f, keep, total, ps), EINVAL);              // allocate at EOF
    TEST_ASSERT_ERRNO(ccm_fallocate(f, keep, total + ps, ps), EINVAL);         // ... and after it
    EXPECT_EQ(ccm_fallocate(f, punch, total, ps), 0) << std::strerror(errno);  // no-op
    EXPECT_EQ(ccm_fallocate(f, punch, total + ps, ps), 0) << std::strerror(errno);  // no-op
    TEST_ASSERT_ERRNO(ccm_fallocate(f, punch, ps, ps - 1), EINVAL);  // unaligned length
    EXPECT_EQ(ccm_fallocate(f, punch, ps, ps), 0) << std::strerror(errno);
    EXPECT_EQ(ccm_fallocate(f, keep, ps, ps), 0) << std::strerror(errno);  // refill the hole

    // Allocation that straddles EOF fails too; punching across it is fine.
    TEST_ASSERT_ERRNO(ccm_fallocate(f, keep, total - ps, 2 * ps), EINVAL);
    EXPECT_EQ(ccm_fallocate(f, punch, total - ps, 2 * ps), 0) << std::strerror(errno);

    // The VFS checks come first: len 0 / negative offset are EINVAL whatever the mode.
    TEST_ASSERT_ERRNO(ccm_fallocate(f, keep, 0, 0), EINVAL);
    TEST_ASSERT_ERRNO(ccm_fallocate(f, punch, 0, 0), EINVAL);
    TEST_ASSERT_ERRNO(ccm_fallocate(f, 0, 0, 0), EINVAL);
    TEST_ASSERT_ERRNO(ccm_fallocate(f, keep, -ps, ps), EINVAL);
    TEST_ASSERT_ERRNO(ccm_fallocate(f, 0, -ps, ps), EINVAL);

    // KEEP_SIZE is mandatory and nothing but KEEP_SIZE|PUNCH_HOLE is supported.
    TEST_ASSERT_ERRNO(ccm_fallocate(f, 0, 0, ps), EOPNOTSUPP);
    TEST_ASSERT_ERRNO(ccm_fallocate(f, FALLOC_FL_PUNCH_HOLE, 0, ps), EOPNOTSUPP);
    TEST_ASSERT_ERRNO(ccm_fallocate(f, FALLOC_FL_ZERO_RANGE, 0, ps), EOPNOTSUPP);
    TEST_ASSERT_ERRNO(ccm_fallocate(f, FALLOC_FL_ZERO_RANGE | keep, 0, ps), EOPNOTSUPP);

    if (huge_) {
      // Offsets and lengths must be multiples of the huge page size.
      const off_t b = static_cast<off_t>(PageSize());
      TEST_ASSERT_ERRNO(ccm_fallocate(f, keep, b, ps), EINVAL);
      TEST_ASSERT_ERRNO(ccm_fallocate(f, keep, 0, b), EINVAL);
      TEST_ASSERT_ERRNO(ccm_fallocate(f, keep, 0, ps + b), EINVAL);
      TEST_ASSERT_ERRNO(ccm_fallocate(f, keep, ps / 2, ps / 2), EINVAL);
      TEST_ASSERT_ERRNO(ccm_fallocate(f, punch, b, ps), EINVAL);
      TEST_ASSERT_ERRNO(ccm_fallocate(f, punch, 0, b), EINVAL);
      TEST_ASSERT_ERRNO(ccm_fallocate(f, punch, ps - b, b), EINVAL);
      EXPECT_EQ(ccm_fallocate(f, punch, 0, ps), 0) << std::strerror(errno);
      EXPECT_EQ(ccm_fallocate(f, keep, 0, ps), 0) << std::strerror(errno);
    }

    struct stat st {};
    ASSERT_EQ(ccm_fstat(f, &st), 0);
    EXPECT_EQ(static_cast<uint64_t>(st.st_size), total_) << "fallocate never resizes";
  }
}

TEST_P(GuestMemfdTest, InvalidPunchHole) {
  const off_t ps = static_cast<off_t>(ps_);
  struct {
    off_t offset, len;
  } cases[] = {
      {0, 1},  {0, ps - 1},  {0, ps + 1},                //
      {1, 1},  {1, ps - 1},  {1, ps},      {1, ps + 1},  //
      {ps, 1}, {ps, ps - 1}, {ps, ps + 1},               //
  };
  std::vector<std::pair<off_t, off_t>> all;
  for (const auto& c : cases) all.emplace_back(c.offset, c.len);
  if (huge_) {
    // Base-page aligned is not enough for a hugetlb file.
    const off_t b = static_cast<off_t>(PageSize());
    for (auto c :
         {std::pair<off_t, off_t>{0, b}, {b, b}, {b, ps}, {0, ps + b}, {ps - b, b}, {ps / 2, ps}})
      all.push_back(c);
  }
  for (const uint64_t flags : FlagSets()) {
    SCOPED_TRACE(FlagsName(flags));
    Fd fd(Create(total_, flags));
    ASSERT_TRUE(fd.ok()) << std::strerror(errno);
    for (const auto& [offset, len] : all) {
      errno = 0;
      EXPECT_EQ(PunchHole(fd.get(), static_cast<uint64_t>(offset), static_cast<uint64_t>(len)), -1)
          << "PUNCH_HOLE(" << offset << ", " << len << ") should fail";
      EXPECT_EQ(errno, EINVAL) << "PUNCH_HOLE(" << offset << ", " << len
                               << "): " << std::strerror(errno);
    }
  }
}

TEST_P(GuestMemfdTest, CreateInvalidSizes) {
  std::vector<uint64_t> sizes;
  if (!huge_) {
    for (uint64_t s = 1; s < ps_; s++) sizes.push_back(s);
  } else {
    const uint64_t b = PageSize();
    sizes = {1, b - 1, b, 2 * b, ps_ / 2, ps_ - b, ps_ - 1, ps_ + 1, ps_ + b, 2 * ps_ - b};
  }
  // size is a signed loff_t in the kernel: 0 and "negative" sizes are EINVAL too.
  for (uint64_t s : {uint64_t{0}, 0 - ps_, 0 - PageSize(), uint64_t{1} << 63, ~uint64_t{0}})
    sizes.push_back(s);
  for (const uint64_t flags : FlagSets()) {
    SCOPED_TRACE(FlagsName(flags));
    for (uint64_t s : sizes) {
      errno = 0;
      const int fd = Create(s, flags);
      EXPECT_EQ(fd, -1) << "size 0x" << std::hex << s << " should be refused";
      EXPECT_EQ(errno, EINVAL) << "size 0x" << std::hex << s << ": " << std::strerror(errno);
      if (fd >= 0) ccm_close(fd);
    }
    Fd ok(Create(ps_, flags));
    EXPECT_TRUE(ok.ok()) << "one page: " << std::strerror(errno);
  }
}

TEST_P(GuestMemfdTest, CreateMultiple) {
  const uint64_t flags = huge_ ? kHugetlb : 0;
  Fd fd1(Create(ps_, flags));
  ASSERT_TRUE(fd1.ok()) << std::strerror(errno);
  struct stat st1 {
  }, st2{};
  ASSERT_EQ(ccm_fstat(fd1.get(), &st1), 0);
  EXPECT_EQ(static_cast<uint64_t>(st1.st_size), ps_);

  Fd fd2(Create(2 * ps_, flags));
  ASSERT_TRUE(fd2.ok()) << std::strerror(errno);
  EXPECT_NE(fd1.get(), fd2.get());
  ASSERT_EQ(ccm_fstat(fd2.get(), &st2), 0);
  EXPECT_EQ(static_cast<uint64_t>(st2.st_size), 2 * ps_);

  ASSERT_EQ(ccm_fstat(fd1.get(), &st1), 0);
  EXPECT_EQ(static_cast<uint64_t>(st1.st_size), ps_) << "the first file kept its size";
  EXPECT_NE(st1.st_ino, st2.st_ino) << "each guest_memfd is its own inode";
}

// The argument struct: EFAULT when unreadable; the reserved words are not validated.
TEST_P(GuestMemfdTest, CreateArguments) {
  TEST_ASSERT_ERRNO(ccm_ioctl(vm_.get(), KVM_CREATE_GUEST_MEMFD, nullptr), EFAULT);
  const uint64_t flags = huge_ ? kHugetlb : 0;
  for (size_t i = 0; i < sizeof(kvm_create_guest_memfd::reserved) / sizeof(uint64_t); i++) {
    SCOPED_TRACE("reserved[" + std::to_string(i) + "]");
    kvm_create_guest_memfd args{};
    args.size = ps_;
    args.flags = flags;
    args.page_order = (flags & kHugetlb) ? order_ : 0;
    args.reserved[i] = 0xdeadbeefcafeULL;
    Fd fd(ccm_ioctl(vm_.get(), KVM_CREATE_GUEST_MEMFD, &args));
    EXPECT_TRUE(fd.ok()) << std::strerror(errno);
    if (!fd.ok()) continue;
    struct stat st {};
    ASSERT_EQ(ccm_fstat(fd.get(), &st), 0);
    EXPECT_EQ(static_cast<uint64_t>(st.st_size), ps_);
  }
}

// Every one of the 64 flag bits: accepted iff KVM_CAP_GUEST_MEMFD_FLAGS has it.
TEST_P(GuestMemfdTest, Flags) {
  EXPECT_TRUE(valid_flags_ & kMmap) << "MMAP is always offered: 0x" << std::hex << valid_flags_;
  if (valid_flags_ & kInitShared) EXPECT_TRUE(valid_flags_ & kMmap);
  const uint64_t base = huge_ ? kHugetlb : 0;
  for (uint64_t flag = 1; flag; flag <<= 1) {
    const uint64_t flags = base | flag;
    SCOPED_TRACE(FlagsName(flags));
    if (huge_ && flag == kNoDirectMap) continue;  // hugetlb+NO_DIRECT_MAP: no rule in the spec
    bool want;
    if (!(flag & valid_flags_)) {
      want = false;
    } else if (!huge_) {
      want = flag != kHugetlb;  // HUGETLB needs a page_order: order 0 is EINVAL
    } else {
      want = flag != kInitShared;  // hugetlb files cannot be INIT_SHARED
    }
    errno = 0;
    Fd fd(Create(ps_, flags));
    if (want) {
      EXPECT_TRUE(fd.ok()) << std::strerror(errno);
    } else {
      EXPECT_FALSE(fd.ok());
      EXPECT_EQ(errno, EINVAL) << std::strerror(errno);
    }
  }
}

// The file holds a reference on the VM: it stays usable after the VM fd is closed.
TEST_P(GuestMemfdTest, CloseVmFirst) {
  std::string why;
  Fd fd = CreateShared(total_, &why);
  const bool shared = fd.ok();
  if (!fd.ok()) fd = Fd(Create(total_, huge_ ? kHugetlb : 0));
  ASSERT_TRUE(fd.ok()) << std::strerror(errno);
  Mapping m;
  if (shared) {
    m = Mapping(total_, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    ASSERT_TRUE(m.ok()) << std::strerror(errno);
    ASSERT_TRUE(TryWrite(m.at(ps_), 'v'));
  }
  vm_.reset();
  kvm_.reset();
  EXPECT_EQ(Allocate(fd.get(), 0, total_), 0) << std::strerror(errno);
  EXPECT_EQ(PunchHole(fd.get(), 0, ps_), 0) << std::strerror(errno);
  EXPECT_EQ(Allocate(fd.get(), 0, ps_), 0) << std::strerror(errno);
  struct stat st {};
  ASSERT_EQ(ccm_fstat(fd.get(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), total_);
  if (shared) {
    EXPECT_TRUE(ReadsAs(m.at(ps_), 'v'));
    EXPECT_TRUE(ReadsAs(m.at(0), 0));
    EXPECT_TRUE(TryWrite(m.at(0), 'w'));
    EXPECT_TRUE(ReadsAs(m.at(0), 'w'));
  }
}

// KVM_CREATE_GUEST_MEMFD uses get_unused_fd_flags(0): the fd is not close-on-exec.
TEST_P(GuestMemfdTest, NotCloseOnExec) {
  for (const uint64_t flags : FlagSets()) {
    SCOPED_TRACE(FlagsName(flags));
    Fd fd(Create(total_, flags));
    ASSERT_TRUE(fd.ok()) << std::strerror(errno);
    const int fdflags = fcntl(fd.get(), F_GETFD);
    ASSERT_GE(fdflags, 0) << std::strerror(errno);
    EXPECT_EQ(fdflags & FD_CLOEXEC, 0);
    if (kvm_util::OnHost()) {
      // The host's anon inode name (the emulator's fds are memfds, so host only).
      char link[64] = {};
      const std::string path = "/proc/self/fd/" + std::to_string(fd.get());
      const ssize_t n = readlink(path.c_str(), link, sizeof link - 1);
      ASSERT_GT(n, 0) << std::strerror(errno);
      EXPECT_STREQ(link, "anon_inode:[kvm-gmem]");
    }
  }
}

TEST_P(GuestMemfdTest, UnknownIoctls) {
  const uint64_t flags = huge_ ? kHugetlb : 0;
  Fd fd(Create(total_, flags));
  ASSERT_TRUE(fd.ok()) << std::strerror(errno);
  TEST_ASSERT_ERRNO(ccm_ioctl(fd.get(), _IO(KVMIO, 0x7f), 0), ENOTTY);
  TEST_ASSERT_ERRNO(ccm_ioctl(fd.get(), KVM_GET_API_VERSION, 0), ENOTTY);
  TEST_ASSERT_ERRNO(ccm_ioctl(fd.get(), KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD), ENOTTY);
  kvm_create_guest_memfd args{};
  args.size = PageSize();
  TEST_ASSERT_ERRNO(ccm_ioctl(fd.get(), KVM_CREATE_GUEST_MEMFD, &args), ENOTTY);
  // The VM ioctl that shares nr 0xd2 with KVM_SET_MEMORY_ATTRIBUTES2 is not a gmem ioctl.
  kvm_memory_attributes attrs{};
  attrs.size = PageSize();
  TEST_ASSERT_ERRNO(ccm_ioctl(fd.get(), KVM_SET_MEMORY_ATTRIBUTES, &attrs), ENOTTY);
  if (CheckCap(kvm_.get(), KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES) <= 0) {
    // No in-place conversion anywhere: the gmem ioctl does not exist.
    kvm_memory_attributes2 a2{};
    a2.size = PageSize();
    TEST_ASSERT_ERRNO(ccm_ioctl(fd.get(), KVM_SET_MEMORY_ATTRIBUTES2, &a2), ENOTTY);
  }
}

std::vector<GmemParam> AllParams() {
  std::vector<GmemParam> v;
  for (unsigned long t : kVmTypes)
    for (uint64_t ps : {k4K, k2M, k1G}) v.push_back({t, ps});
  return v;
}

INSTANTIATE_TEST_SUITE_P(VmTypeAndPageSize, GuestMemfdTest, ::testing::ValuesIn(AllParams()),
                         [](const ::testing::TestParamInfo<GmemParam>& info) {
                           return std::string(gmem_util::VmTypeName(info.param.vm_type)) + "_" +
                                  gmem_util::SizeName(info.param.page_size);
                         });

// ---- the SIGBUS helper itself --------------------------------------------------------------

// ExpectSigbus is thread-safe: several threads fault beyond EOF and read in-file pages at
// once, each catching exactly its own SIGBUSes.
TEST(GuestMemfdSigbus, ThreadSafe) {
  OPEN_KVM_OR_SKIP(kvm_fd);
  Fd kvm(kvm_fd);
  TEST_REQUIRE(CheckCap(kvm.get(), KVM_CAP_GUEST_MEMFD) > 0);
  Fd vm(ccm_ioctl(kvm.get(), KVM_CREATE_VM, KVM_X86_DEFAULT_VM));
  ASSERT_TRUE(vm.ok()) << std::strerror(errno);
  if ((GmemFlags(vm.get()) & (kMmap | kInitShared)) != (kMmap | kInitShared))
    GTEST_SKIP() << "no GUEST_MEMFD_FLAG_MMAP|INIT_SHARED for default VMs on the "
                 << ccm_backend_name() << " backend";
  const uint64_t ps = PageSize();
  Fd fd(CreateGuestMemfd(vm.get(), 2 * ps, kMmap | kInitShared));
  ASSERT_TRUE(fd.ok()) << std::strerror(errno);
  gmem_util::SigbusScope sigbus;
  Mapping m(4 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  ASSERT_TRUE(m.ok()) << std::strerror(errno);
  ASSERT_TRUE(TryWrite(m.at(0), 'a'));
  ASSERT_TRUE(TryWrite(m.at(ps), 'b'));

  constexpr int kThreads = 4, kRounds = 500;
  std::atomic<int> sigbuses{0}, good_reads{0}, bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; r++) {
        int code = 0;
        if (ExpectSigbus(m.at((2 + static_cast<uint64_t>((t + r) % 2)) * ps), &code) &&
            code == BUS_ADRERR)
          sigbuses++;
        else
          bad++;
        char c = 0;
        if (TryRead(m.at(static_cast<uint64_t>(r % 2) * ps), &c) && c == (r % 2 ? 'b' : 'a'))
          good_reads++;
        else
          bad++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(sigbuses.load(), kThreads * kRounds);
  EXPECT_EQ(good_reads.load(), kThreads * kRounds);
  EXPECT_EQ(bad.load(), 0);
}

// ---- hugetlb creation rules (§1.4 item 6) ---------------------------------------------------

struct VmWithFlags {
  unsigned long type;
  Fd vm;
  uint64_t flags;
};

// A VM of every type the backend offers, with its KVM_CAP_GUEST_MEMFD_FLAGS.
std::vector<VmWithFlags> AllVms(int kvm) {
  std::vector<VmWithFlags> vms;
  for (unsigned long t : kVmTypes) {
    if (!VmTypeSupported(kvm, t)) continue;
    Fd vm(ccm_ioctl(kvm, KVM_CREATE_VM, t));
    if (!vm.ok()) {
      ADD_FAILURE() << "KVM_CREATE_VM(" << gmem_util::VmTypeName(t)
                    << "), a type in KVM_CAP_VM_TYPES: " << std::strerror(errno);
      continue;
    }
    const uint64_t flags = GmemFlags(vm.get());
    vms.push_back({t, std::move(vm), flags});
  }
  return vms;
}

TEST(GuestMemfdHugetlb, CreationRules) {
  OPEN_KVM_OR_SKIP(kvm_fd);
  Fd kvm(kvm_fd);
  TEST_REQUIRE(CheckCap(kvm.get(), KVM_CAP_GUEST_MEMFD) > 0);
  int ran = 0;
  for (auto& v : AllVms(kvm.get())) {
    if (!(v.flags & kHugetlb)) continue;
    SCOPED_TRACE(std::string(gmem_util::VmTypeName(v.type)) + " VM");
    ran++;
    const int vm = v.vm.get();
    auto expect_einval = [&](uint64_t size, uint64_t flags, uint8_t order) {
      errno = 0;
      Fd fd(CreateGuestMemfd(vm, size, flags, order));
      EXPECT_FALSE(fd.ok()) << "size 0x" << std::hex << size << " " << FlagsName(flags) << " order "
                            << std::dec << int{order};
      EXPECT_EQ(errno, EINVAL) << "size 0x" << std::hex << size << " " << FlagsName(flags)
                               << " order " << std::dec << int{order} << ": "
                               << std::strerror(errno);
    };
    auto expect_ok = [&](uint64_t size, uint64_t flags, uint8_t order) {
      Fd fd(CreateGuestMemfd(vm, size, flags, order));
      EXPECT_TRUE(fd.ok()) << "size 0x" << std::hex << size << " " << FlagsName(flags) << " order "
                           << std::dec << int{order} << ": " << std::strerror(errno);
      if (!fd.ok()) return;
      struct stat st {};
      ASSERT_EQ(ccm_fstat(fd.get(), &st), 0);
      EXPECT_EQ(static_cast<uint64_t>(st.st_size), size);
      EXPECT_EQ(static_cast<uint64_t>(st.st_blksize), PageSize() << order);
    };

    // page_order without HUGETLB.
    expect_einval(k2M, 0, 9);
    expect_einval(k1G, 0, 18);
    if (v.flags & kMmap) expect_einval(k2M, kMmap, 9);
    expect_einval(k2M, 0, 1);
    // HUGETLB with INIT_SHARED.
    expect_einval(k2M, kHugetlb | kInitShared, 9);
    if (v.flags & kMmap) expect_einval(k2M, kHugetlb | kMmap | kInitShared, 9);
    // HUGETLB with order 0 or an order without a huge page size.
    expect_einval(k2M, kHugetlb, 0);
    for (int order = 1; order <= 255; order++) {
      if (order == 9 || order == 18) continue;
      expect_einval(k1G, kHugetlb, static_cast<uint8_t>(order));
    }
    // Sizes not aligned to the huge page size.
    for (uint64_t size : {PageSize(), k2M / 2, k2M - PageSize(), k2M + PageSize(), 3 * k2M / 2})
      expect_einval(size, kHugetlb, 9);
    for (uint64_t size : {k2M, k1G / 2, k1G + k2M, k1G - PageSize()})
      expect_einval(size, kHugetlb, 18);
    // The valid ones.
    expect_ok(k2M, kHugetlb, 9);
    expect_ok(2 * k2M, kHugetlb, 9);
    expect_ok(k1G, kHugetlb, 18);
    if (v.flags & kMmap) expect_ok(k2M, kHugetlb | kMmap, 9);
  }
  if (!ran)
    GTEST_SKIP() << "no VM type on the " << ccm_backend_name()
                 << " backend offers GUEST_MEMFD_FLAG_HUGETLB";
}

// Mainline does not validate the reserved words, and page_order sits in the first one: a
// kernel without hugetlb guest_memfd silently ignores it (§6 item 11).
TEST(GuestMemfdHugetlb, PageOrderIgnoredWithoutHugetlbSupport) {
  OPEN_KVM_OR_SKIP(kvm_fd);
  Fd kvm(kvm_fd);
  TEST_REQUIRE(CheckCap(kvm.get(), KVM_CAP_GUEST_MEMFD) > 0);
  int ran = 0;
  for (auto& v : AllVms(kvm.get())) {
    if (v.flags & kHugetlb) continue;
    if (GmemFlags(kvm.get()) & kHugetlb) continue;  // a hugetlb-aware kernel validates it
    SCOPED_TRACE(std::string(gmem_util::VmTypeName(v.type)) + " VM");
    ran++;
    Fd fd(CreateGuestMemfd(v.vm.get(), PageSize(), 0, 9));
    EXPECT_TRUE(fd.ok()) << std::strerror(errno);
    if (!fd.ok()) continue;
    struct stat st {};
    ASSERT_EQ(ccm_fstat(fd.get(), &st), 0);
    EXPECT_EQ(static_cast<uint64_t>(st.st_blksize), PageSize()) << "page_order was ignored";
  }
  if (!ran)
    GTEST_SKIP() << "the " << ccm_backend_name()
                 << " backend supports GUEST_MEMFD_FLAG_HUGETLB and so validates page_order";
}

// ---- GUEST_MEMFD_FLAG_NO_DIRECT_MAP (§4) -------------------------------------------------

TEST(GuestMemfdNoDirectMap, MappableButNotPinnable) {
  OPEN_KVM_OR_SKIP(kvm_fd);
  Fd kvm(kvm_fd);
  TEST_REQUIRE(CheckCap(kvm.get(), KVM_CAP_GUEST_MEMFD) > 0);
  gmem_util::SigbusScope sigbus;
  const uint64_t ps = PageSize();
  const uint64_t size = 4 * ps;
  int ran = 0;
  for (auto& v : AllVms(kvm.get())) {
    if (!(v.flags & kNoDirectMap)) continue;
    SCOPED_TRACE(std::string(gmem_util::VmTypeName(v.type)) + " VM");
    ran++;
    const int vm = v.vm.get();
    {
      Fd alone(CreateGuestMemfd(vm, size, kNoDirectMap));
      EXPECT_TRUE(alone.ok()) << "NO_DIRECT_MAP alone: " << std::strerror(errno);
    }
    if ((v.flags & (kMmap | kInitShared)) != (kMmap | kInitShared)) {
      ADD_FAILURE() << "NO_DIRECT_MAP is only usable with MMAP|INIT_SHARED, flags 0x" << std::hex
                    << v.flags;
      continue;
    }
    Fd fd(CreateGuestMemfd(vm, size, kMmap | kInitShared | kNoDirectMap));
    ASSERT_TRUE(fd.ok()) << std::strerror(errno);
    Mapping m(size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    ASSERT_TRUE(m.ok()) << std::strerror(errno);
    for (uint64_t off = 0; off < size; off += ps) {
      ASSERT_TRUE(TryWrite(m.at(off), PatternByte(off, 1))) << off;
      std::memset(m.get() + off + 1, PatternByte(off, 2), ps - 1);
    }
    for (uint64_t off = 0; off < size; off += ps) {
      EXPECT_TRUE(ReadsAs(m.at(off), PatternByte(off, 1))) << off;
      EXPECT_TRUE(ReadsAs(m.at(off + ps - 1), PatternByte(off, 2))) << off;
    }
    // GUP refuses AS_NO_DIRECT_MAP mappings.
    TEST_ASSERT_ERRNO(ccm_pin_user_pages(m.get(), 1), EFAULT);
    TEST_ASSERT_ERRNO(ccm_pin_user_pages(m.get() + 2 * ps, 2), EFAULT);
    for (uint64_t off = 0; off < size; off += ps)
      EXPECT_TRUE(ReadsAs(m.at(off), PatternByte(off, 1))) << off;
    // Freed pages come back (direct map restored on free) and re-fault as zero.
    ASSERT_EQ(PunchHole(fd.get(), 0, ps), 0) << std::strerror(errno);
    EXPECT_TRUE(ReadsAs(m.at(0), 0));
    EXPECT_TRUE(TryWrite(m.at(0), 'n'));
    EXPECT_TRUE(ReadsAs(m.at(0), 'n'));

    // Without the flag the same mapping pins (where the backend can pin at all).
    Fd plain(CreateGuestMemfd(vm, size, kMmap | kInitShared));
    ASSERT_TRUE(plain.ok()) << std::strerror(errno);
    Mapping pm(size, PROT_READ | PROT_WRITE, MAP_SHARED, plain.get(), 0);
    ASSERT_TRUE(pm.ok());
    ASSERT_TRUE(TryWrite(pm.at(0), 'p'));
    errno = 0;
    const int r = ccm_pin_user_pages(pm.get(), 1);
    if (r == 0) {
      EXPECT_EQ(ccm_unpin_user_pages(pm.get(), 1), 0) << std::strerror(errno);
    } else {
      EXPECT_EQ(errno, ENOSYS) << "pinning a normal guest_memfd mapping: " << std::strerror(errno);
    }
  }
  if (!ran)
    GTEST_SKIP() << "no VM type on the " << ccm_backend_name()
                 << " backend offers GUEST_MEMFD_FLAG_NO_DIRECT_MAP";
}

// x86 excludes TDX (and SNP) from direct-map removal.
TEST(GuestMemfdNoDirectMap, NotOfferedForTdxVms) {
  OPEN_KVM_OR_SKIP(kvm_fd);
  Fd kvm(kvm_fd);
  TEST_REQUIRE(CheckCap(kvm.get(), KVM_CAP_GUEST_MEMFD) > 0);
  if (!VmTypeSupported(kvm.get(), KVM_X86_TDX_VM))
    GTEST_SKIP() << "the " << ccm_backend_name() << " backend has no KVM_X86_TDX_VM";
  Fd vm(ccm_ioctl(kvm.get(), KVM_CREATE_VM, KVM_X86_TDX_VM));
  ASSERT_TRUE(vm.ok()) << std::strerror(errno);
  const uint64_t flags = GmemFlags(vm.get());
  EXPECT_TRUE(flags & kMmap) << std::hex << flags;
  EXPECT_FALSE(flags & kNoDirectMap) << std::hex << flags;
  for (uint64_t f : {kNoDirectMap, kNoDirectMap | kMmap}) {
    errno = 0;
    Fd fd(CreateGuestMemfd(vm.get(), PageSize(), f));
    EXPECT_FALSE(fd.ok()) << FlagsName(f);
    EXPECT_EQ(errno, EINVAL) << FlagsName(f) << ": " << std::strerror(errno);
  }
  Fd ok(CreateGuestMemfd(vm.get(), PageSize(), 0));
  EXPECT_TRUE(ok.ok()) << std::strerror(errno);
}

}  // namespace
