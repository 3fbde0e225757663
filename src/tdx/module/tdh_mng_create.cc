// TDH.MNG.CREATE (leaf 9): make a page the TDR of a new TD with a private HKID.
#include <cstring>

#include "tdx/module/hpa_checks.h"
#include "tdx/module/leaves.h"

namespace cocomem::tdx::leaf {

TdxStatus MngCreate(ModuleState& m, Regs& r) {
  const uint64_t hkid = r.rdx;
  PamtHold page;
  if (TdxStatus s = CheckHpaOperand(m, r.rcx, 0, kOpRcx); s != TDX_SUCCESS) return s;
  if (hkid < m.config.first_private_hkid || hkid >= (uint64_t{1} << m.config.keyid_bits))
    return WithOperand(TDX_OPERAND_INVALID, kOpRdx);
  if (TdxStatus s = CheckAndLockFreeHpa(m, r.rcx, 0, kOpRcx, &page); s != TDX_SUCCESS) return s;
  {
    MutexLock l(&m.mu);
    if (m.hkid_in_use[hkid]) return WithOperand(TDX_OPERAND_INVALID, kOpRdx);
    m.hkid_in_use[hkid] = true;
  }
  auto td = std::make_unique<Td>();
  td->tdr = Hpa(r.rcx);
  td->hkid = static_cast<uint16_t>(hkid);
  Td* raw = td.get();
  uint32_t slot = 0;
  CHECK_MSG(m.tds.Add(std::move(td), &slot) >= 0, "too many TDs created");
  raw->slot = slot;
  const Pfn pfn = PfnOf(Hpa(r.rcx));
  std::memset(m.arena.HardwareView(pfn), 0, kPageSize);
  page.entry()->Set(PageType::kTdr, static_cast<uint32_t>(pfn.value()), slot);
  m.tds_created.Add();
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
