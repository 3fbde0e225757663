// ExternalTableHooks: how a mirror TDP table tells a private page table it does not own
// (the TDX module's Secure EPT) about every change, as KVM's mirror root does through
// kvm_x86_ops.{link,free}_external_spt / set_external_spte / remove_external_spte /
// split_external_spte. All by GFN, level and PFN — never a folio (decision 1).
//
// A hook that fails makes the table operation fail with nothing changed in the mirror.
// EINPROGRESS means contention (TDX_OPERAND_BUSY): the fault should simply be retried.
// EIO means the external table is broken and the VM has been marked bugged.
#pragma once

#include "base/memory_types.h"
#include "base/result.h"
#include "kvm/tdp/spte.h"

namespace cocomem::kvm::tdp {

class ExternalTableHooks {
 public:
  virtual ~ExternalTableHooks() = default;
  // A new non-leaf entry at `level` covering `gfn` (SEPT.ADD of the child table).
  virtual Status LinkTable(Gfn gfn, Level level) = 0;
  // A new leaf (PAGE.ADD before the TD runs, PAGE.AUG after).
  virtual Status SetLeaf(Gfn gfn, Level level, Pfn pfn) = 0;
  // A leaf goes away (BLOCK, TRACK, REMOVE, WBINVD).
  virtual Status RemoveLeaf(Gfn gfn, Level level, Pfn pfn) = 0;
  // A huge leaf becomes a table of smaller leaves (BLOCK, TRACK, DEMOTE).
  virtual Status SplitLeaf(Gfn gfn, Level level, Pfn pfn) = 0;
};

}  // namespace cocomem::kvm::tdp
