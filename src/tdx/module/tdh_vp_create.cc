// TDH.VP.CREATE (leaf 10): make a page the TDVPR of a new vCPU of a TD being built.
#include <cstring>

#include "tdx/module/hpa_checks.h"
#include "tdx/module/leaves.h"
#include "tdx/module/td_access.h"

namespace cocomem::tdx::leaf {

TdxStatus VpCreate(ModuleState& m, Regs& r) {
  TdAccess access;
  if (TdxStatus s = access.Acquire(m, r.rdx, {kOpRdx, LockMode::kExclusive, false,
                                              kOpsInitializedOnly});
      s != TDX_SUCCESS)
    return s;
  Td& td = access.td();
  if (td.params.max_vcpus != 0 && td.num_vcpus.load(std::memory_order_relaxed) >= td.params.max_vcpus)
    return WithOperand(TDX_OPERAND_INVALID, kOpRdx);
  PamtHold page;
  if (TdxStatus s = CheckAndLockFreeHpa(m, r.rcx, 0, kOpRcx, &page); s != TDX_SUCCESS) return s;

  auto vcpu = std::make_unique<Vcpu>();
  vcpu->tdvpr = Hpa(r.rcx);
  vcpu->td = &td;
  Vcpu* raw = vcpu.get();
  uint32_t slot = 0;
  CHECK_MSG(m.vcpus.Add(std::move(vcpu), &slot) >= 0, "too many vCPUs created");
  raw->slot = slot;
  const Pfn pfn = PfnOf(Hpa(r.rcx));
  std::memset(m.arena.HardwareView(pfn), 0, kPageSize);
  page.entry()->Set(PageType::kTdvpr, static_cast<uint32_t>(PfnOf(td.tdr).value()), slot);
  td.chldcnt.fetch_add(1, std::memory_order_relaxed);
  td.vcpu_pages.fetch_add(1, std::memory_order_relaxed);
  td.num_vcpus.fetch_add(1, std::memory_order_release);
  return TDX_SUCCESS;
}

}  // namespace cocomem::tdx::leaf
