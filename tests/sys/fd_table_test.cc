#include "sys/fd_table.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace cocomem::sys {
namespace {

class NamedFile : public File {
 public:
  explicit NamedFile(bool* destroyed = nullptr) : destroyed_(destroyed) {}
  ~NamedFile() override {
    if (destroyed_) *destroyed_ = true;
  }
  std::string_view name() const override { return "test-object"; }
  Result<long> Ioctl(unsigned long, uintptr_t) override { return 0L; }

 private:
  bool* destroyed_;
};

TEST(FdTable, InstallGivesARealFdNamedAfterTheObject) {
  FdTable t;
  auto fd = t.Install(std::make_shared<NamedFile>(), FdTable::CloseOnExec::kYes);
  ASSERT_TRUE(fd.ok());
  EXPECT_GE(fcntl(*fd, F_GETFD), 0);  // a real descriptor
  EXPECT_NE(fcntl(*fd, F_GETFD) & FD_CLOEXEC, 0);
  char link[256] = {};
  const std::string path = "/proc/self/fd/" + std::to_string(*fd);
  ASSERT_GT(readlink(path.c_str(), link, sizeof link - 1), 0);
  EXPECT_NE(std::string(link).find("test-object"), std::string::npos) << link;
  EXPECT_NE(t.Get(*fd), nullptr);
  EXPECT_EQ(t.count(), 1u);
  EXPECT_NE(t.Close(*fd), nullptr);
  EXPECT_EQ(t.count(), 0u);
}

TEST(FdTable, CloseOnExecIsOptional) {
  FdTable t;
  auto fd = t.Install(std::make_shared<NamedFile>(), FdTable::CloseOnExec::kNo);
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(fcntl(*fd, F_GETFD) & FD_CLOEXEC, 0);
  t.Close(*fd);
}

TEST(FdTable, UnknownFdsAreNotOurs) {
  FdTable t;
  EXPECT_EQ(t.Get(-1), nullptr);
  EXPECT_EQ(t.Get(0), nullptr);
  EXPECT_EQ(t.Get(1 << 20), nullptr);
  EXPECT_EQ(t.Close(12345), nullptr);
}

TEST(FdTable, CloseClosesTheRealFdAndReleasesLast) {
  FdTable t;
  bool destroyed = false;
  auto fd = t.Install(std::make_shared<NamedFile>(&destroyed), FdTable::CloseOnExec::kYes);
  ASSERT_TRUE(fd.ok());
  std::shared_ptr<File> in_flight = t.Get(*fd);  // like an ioctl running on another thread
  EXPECT_NE(t.Close(*fd), nullptr);
  EXPECT_EQ(fcntl(*fd, F_GETFD), -1);  // the number is free again
  EXPECT_EQ(t.Get(*fd), nullptr);
  EXPECT_FALSE(destroyed);  // still referenced
  in_flight.reset();
  EXPECT_TRUE(destroyed);
}

TEST(FdTable, TypedLookup) {
  FdTable t;
  auto fd = t.Install(std::make_shared<NamedFile>(), FdTable::CloseOnExec::kYes);
  ASSERT_TRUE(fd.ok());
  EXPECT_NE(t.GetAs<NamedFile>(*fd), nullptr);
  t.Close(*fd);
}

}  // namespace
}  // namespace cocomem::sys
