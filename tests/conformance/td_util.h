// TD helpers for conformance tests (like the kernel selftests' tdx_util): create a TDX VM,
// KVM_TDX_INIT_VM, vCPUs with KVM_TDX_INIT_VCPU, the initial image with
// KVM_TDX_INIT_MEM_REGION, KVM_TDX_FINALIZE_VM; and an independent MRTD calculator built
// from the block layout of the TDX module spec (OpenSSL SHA-384).
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "conformance/vm_util.h"

namespace td_util {

inline constexpr uint64_t kSeptVeDisable = 1ull << 28;
inline constexpr uint64_t kSharedBit = 1ull << 47;  // GPAW 48
inline constexpr uint64_t kTdxSuccess = 0;
inline constexpr uint64_t kPageAlreadyAccepted = 0x00000B0A00000000ull;
inline constexpr uint64_t kPageSizeMismatch = 0xC0000B0B00000000ull;

#define REQUIRE_TDX(kvm_fd)                                                                 \
  do {                                                                                       \
    if (!kvm_util::VmTypeSupported(kvm_fd, KVM_X86_TDX_VM))                                  \
      GTEST_SKIP() << "KVM_CAP_VM_TYPES lacks KVM_X86_TDX_VM (5): no TDX on this kernel/CPU"; \
  } while (0)

// Page-aligned bytes (INIT_MEM_REGION sources must be page aligned).
class PageBuffer {
 public:
  PageBuffer() = default;
  explicit PageBuffer(size_t bytes) : n_(bytes), p_(static_cast<uint8_t*>(std::aligned_alloc(4096, bytes))) {
    std::memset(p_, 0, bytes);
  }
  PageBuffer(PageBuffer&& o) noexcept : n_(o.n_), p_(o.p_) { o.p_ = nullptr; }
  PageBuffer& operator=(PageBuffer&& o) noexcept {
    std::swap(n_, o.n_);
    std::swap(p_, o.p_);
    return *this;
  }
  ~PageBuffer() { std::free(p_); }
  uint8_t* data() const { return p_; }
  size_t size() const { return n_; }

 private:
  size_t n_ = 0;
  uint8_t* p_ = nullptr;
};

// Deterministic bytes for images and checks.
inline PageBuffer Pattern(size_t bytes, uint8_t seed) {
  PageBuffer b(bytes);
  for (size_t i = 0; i < bytes; ++i) b.data()[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 12));
  return b;
}

class TestTd : public vm_util::TestVm {
 public:
  explicit TestTd(const char* in_place = "1") : TestVm(KVM_X86_TDX_VM, in_place) {}

  int TdxCmd(int fd, uint32_t id, uint32_t flags, uint64_t data, uint64_t* hw_error = nullptr) {
    kvm_tdx_cmd cmd{};
    cmd.id = id;
    cmd.flags = flags;
    cmd.data = data;
    const int rc = ccm_ioctl(fd, KVM_MEMORY_ENCRYPT_OP, &cmd);
    if (hw_error) *hw_error = cmd.hw_error;
    return rc;
  }
  int InitVm(uint64_t attributes = kSeptVeDisable) {
    std::vector<uint8_t> buf(sizeof(kvm_tdx_init_vm), 0);
    auto* init = reinterpret_cast<kvm_tdx_init_vm*>(buf.data());
    init->attributes = attributes;
    return TdxCmd(vm(), KVM_TDX_INIT_VM, 0, reinterpret_cast<uint64_t>(init));
  }
  // Creates vCPU `id` running fn and initializes it for the TD.
  size_t AddTdVcpu(uint32_t id, void (*fn)(ccm_guest*, void*), void* arg) {
    const size_t i = AddVcpu(id, fn, arg);
    EXPECT_EQ(TdxCmd(vcpu_fd(i), KVM_TDX_INIT_VCPU, 0, 0), 0) << std::strerror(errno);
    return i;
  }
  int InitMemRegion(size_t vcpu, uint64_t gpa, const void* src, uint64_t npages, bool measure,
                    kvm_tdx_init_mem_region* out = nullptr) {
    kvm_tdx_init_mem_region r{reinterpret_cast<uint64_t>(src), gpa, npages};
    const int rc = TdxCmd(vcpu_fd(vcpu), KVM_TDX_INIT_MEM_REGION,
                          measure ? KVM_TDX_MEASURE_MEMORY_REGION : 0, reinterpret_cast<uint64_t>(&r));
    if (out) *out = r;
    return rc;
  }
  int Finalize() { return TdxCmd(vm(), KVM_TDX_FINALIZE_VM, 0, 0); }
};

// The MRTD a sequence of INIT_MEM_REGION pages produces, computed from the block layout:
// PAGE.ADD = "MEM.PAGE.ADD" + GPA; MR.EXTEND = "MR.EXTEND" + GPA, then 256 bytes of data.
class MrtdCalc {
 public:
  MrtdCalc() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha384(), nullptr); }
  ~MrtdCalc() { EVP_MD_CTX_free(ctx_); }
  void Page(uint64_t gpa, const uint8_t* page, bool measure) {
    uint8_t block[128] = {};
    std::memcpy(block, "MEM.PAGE.ADD", 12);
    std::memcpy(block + 16, &gpa, 8);
    EVP_DigestUpdate(ctx_, block, 128);
    if (!measure) return;
    for (uint64_t off = 0; off < 4096; off += 256) {
      uint8_t hdr[128] = {};
      std::memcpy(hdr, "MR.EXTEND", 9);
      const uint64_t g = gpa + off;
      std::memcpy(hdr + 16, &g, 8);
      EVP_DigestUpdate(ctx_, hdr, 128);
      EVP_DigestUpdate(ctx_, page + off, 256);
    }
  }
  std::array<uint8_t, 48> Final() {
    std::array<uint8_t, 48> d{};
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx_, d.data(), &len);
    return d;
  }

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace td_util
