// The SEAMCALL leaf handlers, one per file (tdh_*.cc). Each checks its operands in the
// spec's order (tdx.md §2), returns the first failing check's status (with details in
// RCX/RDX where the spec has them), and only then commits, in a step that cannot fail.
#pragma once

#include "tdx/module/module_state.h"
#include "tdx/module/tdx_module.h"

namespace cocomem::tdx::leaf {

TdxStatus MngCreate(ModuleState& m, Regs& r);
TdxStatus MngKeyConfig(ModuleState& m, Regs& r);
TdxStatus MngAddcx(ModuleState& m, Regs& r);
TdxStatus MngInit(ModuleState& m, Regs& r);
TdxStatus MngVpflushdone(ModuleState& m, Regs& r);
TdxStatus MngKeyFreeid(ModuleState& m, Regs& r);
TdxStatus VpCreate(ModuleState& m, Regs& r);
TdxStatus VpAddcx(ModuleState& m, Regs& r);
TdxStatus VpInit(ModuleState& m, Regs& r);
TdxStatus VpFlush(ModuleState& m, Regs& r);
TdxStatus MemPageAdd(ModuleState& m, Regs& r);
TdxStatus MemPageAug(ModuleState& m, Regs& r);
TdxStatus MemSeptAdd(ModuleState& m, Regs& r, unsigned version);
TdxStatus MemSeptRemove(ModuleState& m, Regs& r);
TdxStatus MemSeptRd(ModuleState& m, Regs& r);
TdxStatus MemRangeBlock(ModuleState& m, Regs& r);
TdxStatus MemRangeUnblock(ModuleState& m, Regs& r);
TdxStatus MemTrack(ModuleState& m, Regs& r);
TdxStatus MemPageRemove(ModuleState& m, Regs& r);
TdxStatus MemPageDemote(ModuleState& m, Regs& r);
TdxStatus MemPagePromote(ModuleState& m, Regs& r);
TdxStatus MrExtend(ModuleState& m, Regs& r);
TdxStatus MrFinalize(ModuleState& m, Regs& r);
TdxStatus PhymemPageReclaim(ModuleState& m, Regs& r);
TdxStatus PhymemPageWbinvd(ModuleState& m, Regs& r);

// The guest side (TDCALLs) lives next to them.
TdcallResult TdgMemPageAccept(ModuleState& m, Vcpu& vcpu, uint64_t rcx);

// DEMOTE/PROMOTE: consumes one injected "host interrupt pending" if there is one.
bool ConsumePendingInterrupt(ModuleState& m);

}  // namespace cocomem::tdx::leaf
