#include "kvm/tdx/seamcall.h"


namespace cocomem::kvm::tdx {
namespace {

using ::cocomem::tdx::Leaf;
using ::cocomem::tdx::Regs;

uint64_t Pa(Pfn pfn) { return pfn.value() << kPageShift; }

TdxStatus Call(TdxModule& module, Leaf leaf, Regs regs, ExtErr* err = nullptr) {
  regs.rax = static_cast<uint64_t>(leaf);
  const TdxStatus s = module.Seamcall(regs);
  if (err) *err = ExtErr{regs.rcx, regs.rdx};
  return s;
}

}  // namespace

void ClflushPfn(const host::Arena& arena, Pfn pfn, uint64_t npages) {
  // The kernel flushes through the direct map, so a page without one faults there: that
  // is the flush's only observable effect here (the emulated machine's caches are
  // coherent). Executing CLFLUSHOPT on every line measured as a third of the cost of a
  // TD page add (it writes back the lines the host kernel just zeroed), for nothing.
  if (arena.IsDirectMapped(host::PfnRange{pfn, npages})) return;
  for (uint64_t i = 0; i < npages; ++i) {
    // Faults for real on the first page without a direct map: the arena reports the oops.
    (void)*static_cast<const volatile std::byte*>(arena.DirectMap(pfn + i));
  }
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
