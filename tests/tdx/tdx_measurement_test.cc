// MRTD (tdx.md §3): recomputed independently here with OpenSSL from the 128-byte block
// layout, built byte by byte in the test.
#include <openssl/evp.h>

#include <array>
#include <cstring>
#include <vector>

#include "tdx/module/measurement.h"
#include "tdx_test_util.h"

namespace cocomem::tdx::testing {
namespace {

using Digest = std::array<uint8_t, 48>;

Digest Sha384(const std::vector<uint8_t>& msg) {
  Digest d{};
  unsigned len = 0;
  EVP_MD_CTX* c = EVP_MD_CTX_new();
  EVP_DigestInit_ex(c, EVP_sha384(), nullptr);
  EVP_DigestUpdate(c, msg.data(), msg.size());
  EVP_DigestFinal_ex(c, d.data(), &len);
  EVP_MD_CTX_free(c);
  return d;
}

void AppendHeader(std::vector<uint8_t>& msg, const char* tag, uint64_t gpa) {
  uint8_t block[128] = {};
  std::memcpy(block, tag, std::strlen(tag));
  for (int i = 0; i < 8; ++i) block[16 + i] = static_cast<uint8_t>(gpa >> (8 * i));
  msg.insert(msg.end(), block, block + 128);
}

class MeasurementTest : public TdxTest {
 protected:
  // KVM's INIT_MEM_REGION for one page: ADD, then 16 x EXTEND if measured.
  void AddPage(uint64_t gpa, uint8_t fill, bool measure, std::vector<uint8_t>& expected) {
    EnsureTables(gpa, 0);
    uint64_t src = Page();
    auto* s = reinterpret_cast<uint8_t*>(arena_->HardwareView(PfnOf(Hpa(src))));
    for (int i = 0; i < 4096; ++i) s[i] = static_cast<uint8_t>(fill + i * 7);
    ASSERT_EQ(Call(Leaf::kMemPageAdd, gpa, tdr_, Page(), src), TDX_SUCCESS);
    AppendHeader(expected, "MEM.PAGE.ADD", gpa);
    if (!measure) return;
    for (uint64_t off = 0; off < 4096; off += 256) {
      ASSERT_EQ(Call(Leaf::kMrExtend, gpa + off, tdr_), TDX_SUCCESS);
      AppendHeader(expected, "MR.EXTEND", gpa + off);
      expected.insert(expected.end(), s + off, s + off + 256);
    }
  }
  Digest Report() {
    Digest d{};
    EXPECT_FALSE(module_->TdgMrReport(Hpa(tdvprs_[0]), d.data()).td_exit);
    return d;
  }
};

TEST_F(MeasurementTest, EmptyTdIsSha384OfNothing) {
  CreateTd();
  EXPECT_FALSE(module_->Mrtd(Hpa(tdr_)).has_value());
  EXPECT_EQ(Report(), Digest{});
  Finalize();
  ASSERT_TRUE(module_->Mrtd(Hpa(tdr_)).has_value());
  EXPECT_EQ(*module_->Mrtd(Hpa(tdr_)), Sha384({}));
  EXPECT_EQ(Report(), Sha384({}));
}

TEST_F(MeasurementTest, UnmeasuredPages) {
  CreateTd();
  std::vector<uint8_t> expected;
  AddPage(0x1000, 1, false, expected);
  AddPage(0x200000, 2, false, expected);
  Finalize();
  EXPECT_EQ(expected.size(), 256u);
  EXPECT_EQ(*module_->Mrtd(Hpa(tdr_)), Sha384(expected));
}

TEST_F(MeasurementTest, MeasuredAndUnmeasuredPagesInOrder) {
  CreateTd();
  std::vector<uint8_t> expected;
  AddPage(0xFFFF0000, 3, true, expected);
  AddPage(0x1000, 4, false, expected);
  AddPage(0x2000, 5, true, expected);
  AddPage(0x7F000, 6, true, expected);
  Finalize();
  EXPECT_EQ(expected.size(), (49u * 3 + 1) * 128);
  EXPECT_EQ(*module_->Mrtd(Hpa(tdr_)), Sha384(expected));
  EXPECT_EQ(Report(), Sha384(expected));
  // Another order gives another MRTD.
  std::vector<uint8_t> other;
  AppendHeader(other, "MEM.PAGE.ADD", 0x1000);
  EXPECT_NE(Sha384(other), Sha384(expected));
}

TEST_F(MeasurementTest, StandaloneMeasurementMatches) {
  std::vector<uint8_t> page(4096);
  for (int i = 0; i < 4096; ++i) page[i] = static_cast<uint8_t>(i);
  Measurement m;
  m.AddPage(0x5000, page.data(), true);
  m.AddPage(0x6000, page.data(), false);
  std::vector<uint8_t> expected;
  AppendHeader(expected, "MEM.PAGE.ADD", 0x5000);
  for (uint64_t off = 0; off < 4096; off += 256) {
    AppendHeader(expected, "MR.EXTEND", 0x5000 + off);
    expected.insert(expected.end(), page.begin() + off, page.begin() + off + 256);
  }
  AppendHeader(expected, "MEM.PAGE.ADD", 0x6000);
  EXPECT_EQ(m.Finalize(), Sha384(expected));
  auto b = Measurement::PageAddBlock(0x0102030405060708);
  EXPECT_EQ(b[0], 'M');
  EXPECT_EQ(b[11], 'D');
  EXPECT_EQ(b[12], 0);
  EXPECT_EQ(b[16], 0x08);
  EXPECT_EQ(b[23], 0x01);
}

// Large images are hashed in batches by a worker thread; the digest must still be that of
// the sequential stream, whatever the batch boundaries (not multiples of a page's blocks).
TEST_F(MeasurementTest, ManyPagesHashedInBackgroundBatchesMatch) {
  std::vector<uint8_t> page(4096);
  std::vector<uint8_t> expected;
  Measurement m;
  for (uint64_t p = 0; p < 300; ++p) {
    for (int i = 0; i < 4096; ++i) page[i] = static_cast<uint8_t>(p * 31 + i);
    const bool measure = p % 3 != 0;
    m.AddPage(p << 12, page.data(), measure);
    AppendHeader(expected, "MEM.PAGE.ADD", p << 12);
    if (!measure) continue;
    for (uint64_t off = 0; off < 4096; off += 256) {
      AppendHeader(expected, "MR.EXTEND", (p << 12) + off);
      expected.insert(expected.end(), page.begin() + off, page.begin() + off + 256);
    }
  }
  EXPECT_GT(expected.size(), 1u << 20);
  EXPECT_EQ(m.Finalize(), Sha384(expected));
}

TEST_F(MeasurementTest, AbandonedMeasurementStopsItsWorker) {
  std::vector<uint8_t> page(4096, 0x5a);
  for (int round = 0; round < 3; ++round) {
    Measurement m;
    for (uint64_t p = 0; p < 64; ++p) m.AddPage(p << 12, page.data(), true);
  }  // destroyed with batches in flight, never finalized: no hang, no leak
}

}  // namespace
}  // namespace cocomem::tdx::testing
