#include "kvm/tdx/seamcall.h"

#include <cpuid.h>
#include <immintrin.h>

#include <atomic>

namespace cocomem::kvm::tdx {
namespace {

using ::cocomem::tdx::Leaf;
using ::cocomem::tdx::Regs;

uint64_t Pa(Pfn pfn) { return pfn.value() << kPageShift; }

TdxStatus Call(TdxModule& module, Leaf leaf, Regs regs, ExtErr* err = nullptr,
               Regs* out = nullptr) {
  regs.rax = static_cast<uint64_t>(leaf);
  const TdxStatus s = module.Seamcall(regs);
  if (err) *err = ExtErr{regs.rcx, regs.rdx};
  if (out) *out = regs;
  return s;
}

bool HaveClflushopt() {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return b & (1u << 23);
}

__attribute__((target("clflushopt"))) void FlushLinesOpt(const std::byte* p, size_t bytes) {
  for (size_t i = 0; i < bytes; i += 64) _mm_clflushopt(const_cast<std::byte*>(p + i));
}

void FlushLines(const std::byte* p, size_t bytes) {
  for (size_t i = 0; i < bytes; i += 64) _mm_clflush(p + i);
}

}  // namespace

void ClflushPfn(const host::Arena& arena, Pfn pfn, uint64_t npages) {
  static const bool opt = HaveClflushopt();
  // Like clflush_cache_range(): fenced on both sides so the flushes are ordered with the
  // SEAMCALL that follows.
  _mm_mfence();
  const std::byte* p = arena.DirectMap(pfn);
  if (opt) {
    FlushLinesOpt(p, npages << kPageShift);
  } else {
    FlushLines(p, npages << kPageShift);
  }
  _mm_mfence();
}

TdxStatus TdhMemPageAdd(const TdRef& td, uint64_t gpa, Pfn pfn, Pfn source, ExtErr* err) {
  return Call(*td.module, Leaf::kMemPageAdd,
              Regs{.rcx = gpa, .rdx = Pa(td.tdr), .r8 = Pa(pfn), .r9 = Pa(source)}, err);
}

TdxStatus TdhMemPageAug(const TdRef& td, uint64_t gpa, SeptLevel level, Pfn pfn, ExtErr* err) {
  return Call(*td.module, Leaf::kMemPageAug,
              Regs{.rcx = gpa | level, .rdx = Pa(td.tdr), .r8 = Pa(pfn)}, err);
}

TdxStatus TdhMemSeptAdd(const TdRef& td, uint64_t gpa, SeptLevel level, Pfn table, ExtErr* err) {
  return Call(*td.module, Leaf::kMemSeptAdd,
              Regs{.rcx = gpa | level, .rdx = Pa(td.tdr), .r8 = Pa(table)}, err);
}

TdxStatus TdhMemRangeBlock(const TdRef& td, uint64_t gpa, SeptLevel level, ExtErr* err) {
  return Call(*td.module, Leaf::kMemRangeBlock, Regs{.rcx = gpa | level, .rdx = Pa(td.tdr)}, err);
}

TdxStatus TdhMemTrack(const TdRef& td) {
  return Call(*td.module, Leaf::kMemTrack, Regs{.rcx = Pa(td.tdr)});
}

TdxStatus TdhMemPageRemove(const TdRef& td, uint64_t gpa, SeptLevel level, ExtErr* err) {
  return Call(*td.module, Leaf::kMemPageRemove, Regs{.rcx = gpa | level, .rdx = Pa(td.tdr)}, err);
}

TdxStatus TdhMemPageDemote(const TdRef& td, uint64_t gpa, SeptLevel level, Pfn new_table,
                           ExtErr* err) {
  return Call(*td.module, Leaf::kMemPageDemote,
              Regs{.rcx = gpa | level, .rdx = Pa(td.tdr), .r8 = Pa(new_table),
                   .r9 = ::cocomem::tdx::kNullPa, .r10 = ::cocomem::tdx::kNullPa,
                   .r11 = ::cocomem::tdx::kNullPa},
              err);
}

TdxStatus TdhMrExtend(const TdRef& td, uint64_t gpa, ExtErr* err) {
  return Call(*td.module, Leaf::kMrExtend, Regs{.rcx = gpa, .rdx = Pa(td.tdr)}, err);
}

TdxStatus TdhMrFinalize(const TdRef& td) {
  return Call(*td.module, Leaf::kMrFinalize, Regs{.rcx = Pa(td.tdr)});
}

TdxStatus TdhPhymemPageWbinvd(const TdRef& td, Pfn pfn) {
  // mk_keyed_paddr(): the TD's HKID above the physical address bits.
  const uint64_t keyed = Pa(pfn) | (uint64_t{td.hkid} << td.module->config().phys_bits);
  return Call(*td.module, Leaf::kPhymemPageWbinvd, Regs{.rcx = keyed});
}

TdxStatus TdhPhymemPageWbinvdGlobal(TdxModule& module, Pfn pfn) {
  return Call(module, Leaf::kPhymemPageWbinvd, Regs{.rcx = Pa(pfn)});
}

TdxStatus TdhPhymemPageReclaim(TdxModule& module, Pfn pfn) {
  return Call(module, Leaf::kPhymemPageReclaim, Regs{.rcx = Pa(pfn)});
}

TdxStatus TdhMngCreate(TdxModule& module, Pfn tdr, uint16_t hkid) {
  return Call(module, Leaf::kMngCreate, Regs{.rcx = Pa(tdr), .rdx = hkid});
}

TdxStatus TdhMngKeyConfig(const TdRef& td) {
  return Call(*td.module, Leaf::kMngKeyConfig, Regs{.rcx = Pa(td.tdr)});
}

TdxStatus TdhMngAddcx(const TdRef& td, Pfn page) {
  return Call(*td.module, Leaf::kMngAddcx, Regs{.rcx = Pa(page), .rdx = Pa(td.tdr)});
}

TdxStatus TdhMngInit(const TdRef& td) {
  return Call(*td.module, Leaf::kMngInit, Regs{.rcx = Pa(td.tdr)});
}

TdxStatus TdhVpCreate(const TdRef& td, Pfn tdvpr) {
  return Call(*td.module, Leaf::kVpCreate, Regs{.rcx = Pa(tdvpr), .rdx = Pa(td.tdr)});
}

TdxStatus TdhVpAddcx(const TdRef& td, Pfn tdvpr, Pfn page) {
  return Call(*td.module, Leaf::kVpAddcx, Regs{.rcx = Pa(page), .rdx = Pa(tdvpr)});
}

TdxStatus TdhVpInit(const TdRef& td, Pfn tdvpr, uint64_t rcx) {
  return Call(*td.module, Leaf::kVpInit, Regs{.rcx = Pa(tdvpr), .rdx = rcx});
}

TdxStatus TdhVpFlush(const TdRef& td, Pfn tdvpr) {
  return Call(*td.module, Leaf::kVpFlush, Regs{.rcx = Pa(tdvpr)});
}

TdxStatus TdhMngVpflushdone(const TdRef& td) {
  return Call(*td.module, Leaf::kMngVpflushdone, Regs{.rcx = Pa(td.tdr)});
}

TdxStatus TdhMngKeyFreeid(const TdRef& td) {
  return Call(*td.module, Leaf::kMngKeyFreeid, Regs{.rcx = Pa(td.tdr)});
}

}  // namespace cocomem::kvm::tdx
