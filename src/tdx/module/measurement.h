// Measurement: the MRTD of a TD, SHA-384 (OpenSSL) over 128-byte blocks in SEAMCALL order
// (tdx.md §3). TDH.MEM.PAGE.ADD appends one block, TDH.MR.EXTEND three, TDH.MR.FINALIZE
// pads and finishes. Usable on its own to predict an image's MRTD (`cocomem measure`).
#pragma once

#include <array>
#include <cstdint>
#include <memory>

namespace cocomem::tdx {

using Sha384Digest = std::array<uint8_t, 48>;

class Measurement {
 public:
  Measurement();
  ~Measurement();
  Measurement(Measurement&&) noexcept;
  Measurement& operator=(Measurement&&) noexcept;

  // TDH.MEM.PAGE.ADD of the 4K page at `gpa`: "MEM.PAGE.ADD", GPA, zeros.
  void PageAdd(uint64_t gpa);
  // TDH.MR.EXTEND of the 256 bytes at `gpa` (256-aligned): "MR.EXTEND", GPA, then the data.
  void Extend(uint64_t gpa, const uint8_t data[256]);
  // KVM's order for one page of KVM_TDX_INIT_MEM_REGION: PAGE.ADD, then 16 x MR.EXTEND
  // when `measure` is set.
  void AddPage(uint64_t gpa, const uint8_t page[4096], bool measure);
  // TDH.MR.FINALIZE. Further updates are a programming error.
  Sha384Digest Finalize();

  // The 128-byte blocks themselves, so tests can recompute the hash independently.
  static std::array<uint8_t, 128> PageAddBlock(uint64_t gpa);
  static std::array<uint8_t, 128> ExtendHeaderBlock(uint64_t gpa);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace cocomem::tdx
