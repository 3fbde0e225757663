#include "base/user_copy.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/process.h"

namespace cocomem {
namespace {

uintptr_t Addr(const void* p) {
  return reinterpret_cast<uintptr_t>(p);
}

struct Args {
  uint64_t a;
  uint32_t b;
  uint32_t c;
};

// Two pages: the first read/write, the second PROT_NONE (a guard page).
class GuardedPages {
 public:
  GuardedPages() {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* p = mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    base_ = static_cast<char*>(p);
    if (mprotect(base_ + page_, page_, PROT_NONE) != 0) {
      munmap(base_, 2 * page_);
      base_ = nullptr;
    }
  }
  ~GuardedPages() {
    if (base_ != nullptr) munmap(base_, 2 * page_);
  }
  GuardedPages(const GuardedPages&) = delete;
  GuardedPages& operator=(const GuardedPages&) = delete;

  bool ok() const { return base_ != nullptr; }
  size_t page() const { return page_; }
  char* valid() const { return base_; }
  char* guard() const { return base_ + page_; }

 private:
  size_t page_ = 0;
  char* base_ = nullptr;
};

TEST(UserCopyTest, CopyFromUserValid) {
  const Args src{0x1122334455667788, 7, 9};
  Args dst{};
  ASSERT_TRUE(CopyFromUser(&dst, Addr(&src)).ok());
  EXPECT_EQ(dst.a, src.a);
  EXPECT_EQ(dst.b, 7u);
  EXPECT_EQ(dst.c, 9u);

  std::array<char, 100> bytes{};
  const char text[] = "hello, user";
  ASSERT_TRUE(CopyFromUser(bytes.data(), Addr(text), sizeof(text)).ok());
  EXPECT_STREQ(bytes.data(), "hello, user");
}

TEST(UserCopyTest, CopyToUserValid) {
  const Args src{42, 1, 2};
  Args dst{};
  ASSERT_TRUE(CopyToUser(Addr(&dst), src).ok());
  EXPECT_EQ(dst.a, 42u);
  EXPECT_EQ(dst.b, 1u);
  EXPECT_EQ(dst.c, 2u);

  std::array<char, 8> out{};
  ASSERT_TRUE(CopyToUser(Addr(out.data()), "abcdefg", 8).ok());
  EXPECT_STREQ(out.data(), "abcdefg");
}

TEST(UserCopyTest, LargeCopyAcrossPages) {
  GuardedPages pages;
  ASSERT_TRUE(pages.ok());
  for (size_t i = 0; i < pages.page(); ++i) pages.valid()[i] = static_cast<char>(i * 7);
  std::vector<char> buf(pages.page());
  ASSERT_TRUE(CopyFromUser(buf.data(), Addr(pages.valid()), buf.size()).ok());
  EXPECT_EQ(std::memcmp(buf.data(), pages.valid(), buf.size()), 0);
  // The last byte before the guard page is still fine.
  char last = 0;
  ASSERT_TRUE(CopyFromUser(&last, Addr(pages.guard() - 1), 1).ok());
  EXPECT_EQ(last, pages.valid()[pages.page() - 1]);
  ASSERT_TRUE(CopyToUser(Addr(pages.guard() - 1), "z", 1).ok());
  EXPECT_EQ(pages.guard()[-1], 'z');
}

TEST(UserCopyTest, ZeroLengthIsOkEvenForBadPointers) {
  char c = 'x';
  EXPECT_TRUE(CopyFromUser(&c, 0, 0).ok());
  EXPECT_TRUE(CopyToUser(0, &c, 0).ok());
  EXPECT_EQ(c, 'x');
}

TEST(UserCopyTest, NullIsEfault) {
  Args a{};
  EXPECT_EQ(CopyFromUser(&a, 0).error(), EFAULT);
  EXPECT_EQ(CopyToUser(0, a).error(), EFAULT);
  EXPECT_EQ(CopyFromUser(&a, 0, 1).error(), EFAULT);
  EXPECT_EQ(CopyToUser(0, &a, 1).error(), EFAULT);
}

TEST(UserCopyTest, LowAddressIsEfault) {
  // Page 0 is never mapped (mmap_min_addr).
  Args a{};
  EXPECT_EQ(CopyFromUser(&a, 16).error(), EFAULT);
  EXPECT_EQ(CopyToUser(16, a).error(), EFAULT);
}

TEST(UserCopyTest, ProtNoneIsEfault) {
  GuardedPages pages;
  ASSERT_TRUE(pages.ok());
  Args a{1, 2, 3};
  EXPECT_EQ(CopyFromUser(&a, Addr(pages.guard())).error(), EFAULT);
  EXPECT_EQ(CopyToUser(Addr(pages.guard()), a).error(), EFAULT);
  EXPECT_EQ(CopyFromUser(&a, Addr(pages.guard() + 100), 1).error(), EFAULT);
}

TEST(UserCopyTest, RangeCrossingIntoProtNoneIsEfault) {
  GuardedPages pages;
  ASSERT_TRUE(pages.ok());
  std::array<char, 16> buf{};
  // 8 bytes valid, 8 bytes in the guard page: a short copy is still a fault.
  const uintptr_t straddle = Addr(pages.guard() - 8);
  EXPECT_EQ(CopyFromUser(buf.data(), straddle, buf.size()).error(), EFAULT);
  EXPECT_EQ(CopyToUser(straddle, buf.data(), buf.size()).error(), EFAULT);
  // One byte over is enough.
  EXPECT_EQ(CopyFromUser(buf.data(), Addr(pages.guard() - 1), 2).error(), EFAULT);
  EXPECT_EQ(CopyToUser(Addr(pages.guard() - 1), buf.data(), 2).error(), EFAULT);
}

TEST(UserCopyTest, UnmappedIsEfault) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* p = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  ASSERT_EQ(munmap(p, page), 0);
  Args a{};
  EXPECT_EQ(CopyFromUser(&a, Addr(p)).error(), EFAULT);
  EXPECT_EQ(CopyToUser(Addr(p), a).error(), EFAULT);
}

TEST(UserCopyTest, CopyToReadOnlyIsEfault) {
  GuardedPages pages;
  ASSERT_TRUE(pages.ok());
  pages.valid()[0] = 'r';
  ASSERT_EQ(mprotect(pages.valid(), pages.page(), PROT_READ), 0);
  Args a{};
  EXPECT_EQ(CopyToUser(Addr(pages.valid()), a).error(), EFAULT);
  char c = 0;
  EXPECT_TRUE(CopyFromUser(&c, Addr(pages.valid()), 1).ok());  // reading is fine
  EXPECT_EQ(c, 'r');
}

// --- CurrentPid ------------------------------------------------------------------------------

TEST(ProcessTest, CurrentPidIsGetpid) {
  EXPECT_EQ(CurrentPid(), getpid());
  EXPECT_EQ(CurrentPid(), getpid());  // cached value
}

// Exit codes the child uses to report.
constexpr int kChildOk = 0;
constexpr int kChildWrongPid = 1;
constexpr int kGrandchildFailed = 2;

int WaitExitCode(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ProcessTest, CurrentPidIsRefreshedAfterFork) {
  const pid_t parent = CurrentPid();  // populate the cache before forking
  ASSERT_EQ(parent, getpid());
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Child: reports through its exit code and never returns into gtest.
    if (CurrentPid() != getpid() || CurrentPid() == parent) _exit(kChildWrongPid);
    // And again one generation down.
    const pid_t grandchild = fork();
    if (grandchild < 0) _exit(kGrandchildFailed);
    if (grandchild == 0) _exit(CurrentPid() == getpid() ? kChildOk : kChildWrongPid);
    _exit(WaitExitCode(grandchild) == kChildOk ? kChildOk : kGrandchildFailed);
  }
  EXPECT_EQ(WaitExitCode(child), kChildOk);
  EXPECT_EQ(CurrentPid(), parent);  // the parent's cache is untouched
}

}  // namespace
}  // namespace cocomem
