#include "tdx/module/measurement.h"

#include <openssl/evp.h>

#include <cstring>

#include "base/check.h"

namespace cocomem::tdx {

// One EVP context per TD, made once: an update hashes in place without allocating.
struct Measurement::Ctx {
  EVP_MD_CTX* md = nullptr;
  bool finalized = false;
  Ctx() {
    md = EVP_MD_CTX_new();
    CHECK(md != nullptr);
    CHECK(EVP_DigestInit_ex(md, EVP_sha384(), nullptr) == 1);
  }
  ~Ctx() { EVP_MD_CTX_free(md); }
  void Update(const void* p, size_t n) {
    CHECK_MSG(!finalized, "MRTD update after finalize");
    CHECK(EVP_DigestUpdate(md, p, n) == 1);
  }
};

namespace {
std::array<uint8_t, 128> HeaderBlock(const char* tag, uint64_t gpa) {
  std::array<uint8_t, 128> b{};
  std::memcpy(b.data(), tag, std::strlen(tag));  // no NUL; the rest of 0..15 stays zero
  for (int i = 0; i < 8; ++i) b[16 + i] = static_cast<uint8_t>(gpa >> (8 * i));  // LE
  return b;
}
}  // namespace

Measurement::Measurement() : ctx_(std::make_unique<Ctx>()) {}
Measurement::~Measurement() = default;
Measurement::Measurement(Measurement&&) noexcept = default;
Measurement& Measurement::operator=(Measurement&&) noexcept = default;

std::array<uint8_t, 128> Measurement::PageAddBlock(uint64_t gpa) {
  return HeaderBlock("MEM.PAGE.ADD", gpa);
}
std::array<uint8_t, 128> Measurement::ExtendHeaderBlock(uint64_t gpa) {
  return HeaderBlock("MR.EXTEND", gpa);
}

void Measurement::PageAdd(uint64_t gpa) {
  auto b = PageAddBlock(gpa);
  ctx_->Update(b.data(), b.size());
}

void Measurement::Extend(uint64_t gpa, const uint8_t data[256]) {
  auto b = ExtendHeaderBlock(gpa);
  ctx_->Update(b.data(), b.size());
  ctx_->Update(data, 256);
}

void Measurement::AddPage(uint64_t gpa, const uint8_t page[4096], bool measure) {
  PageAdd(gpa);
  if (!measure) return;
  for (uint64_t off = 0; off < 4096; off += 256) Extend(gpa + off, page + off);
}

Sha384Digest Measurement::Finalize() {
  Sha384Digest d{};
  unsigned len = 0;
  CHECK(!ctx_->finalized);
  CHECK(EVP_DigestFinal_ex(ctx_->md, d.data(), &len) == 1);
  CHECK(len == d.size());
  ctx_->finalized = true;
  return d;
}

}  // namespace cocomem::tdx
