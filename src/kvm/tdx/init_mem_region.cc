// KVM_TDX_INIT_MEM_REGION (tdx_vcpu_init_mem_region, tdx_gmem_post_populate): the TD's
// initial image, one 4K page at a time: map the guest_memfd page into the mirror, whose
// hook adds it with TDH.MEM.PAGE.ADD (SEPT.ADD first where tables are missing), then
// 16 x TDH.MR.EXTEND when measured. The region struct advances as pages complete.
#include <cerrno>

#include "base/fault_injection.h"
#include "base/trace.h"
#include "base/user_copy.h"
#include "gmem/gmem_file.h"
#include "kvm/kvm.h"
#include "kvm/tdx/tdx_vm.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"

namespace cocomem::kvm::tdx {

// A signal arriving while KVM_TDX_INIT_MEM_REGION runs (the emulator cannot see real
// ones): the ioctl stops with EINTR before the next page, the region showing progress.
FaultPoint kInitMemRegionSignal{"kvm.tdx.init_mem_region.signal"};

namespace {
constexpr uint64_t kExtendChunk = 256;  // TDX_EXTENDMR_CHUNKSIZE
}

Status TdxVm::InitMemRegion(Vcpu& vcpu, kvm_tdx_cmd& cmd) {
  if (!tdvprs_.count(vcpu.id())) return Error(EINVAL);  // KVM_TDX_INIT_VCPU first
  if (cmd.flags & ~KVM_TDX_MEASURE_MEMORY_REGION) return Error(EINVAL);
  kvm_tdx_init_mem_region region;
  RETURN_IF_ERROR(CopyFromUser(&region, cmd.data));
  const uint64_t shared = shared_gpa_mask();
  const uint64_t end = region.gpa + (region.nr_pages << kPageShift);
  if (!IsPageAligned(region.source_addr) || !IsPageAligned(region.gpa) || region.nr_pages == 0 ||
      end <= region.gpa || (region.gpa & shared) || ((end - 1) & shared)) {
    return Error(EINVAL);
  }
  const bool measure = cmd.flags & KVM_TDX_MEASURE_MEMORY_REGION;
  Status result = vm_.WithSlotsLock([&]() -> Status {
    mu_.AssertHeld();  // held by our caller around this synchronous call
    while (region.nr_pages > 0) {
      if (kInitMemRegionSignal.ShouldFail()) return Error(EINTR);
      RETURN_IF_ERROR(AddOnePage(region.gpa, region.source_addr, measure, cmd));
      if (region.source_addr) region.source_addr += kPageSize;
      region.gpa += kPageSize;
      --region.nr_pages;
    }
    return Ok();
  });
  RETURN_IF_ERROR(CopyToUser(cmd.data, region));
  return result;
}

Status TdxVm::AddOnePage(uint64_t gpa, uint64_t source_addr, bool measure, kvm_tdx_cmd& cmd) {
  trace::Scope ts("tdx", "init mem page");
  ts.Arg("gpa", gpa);
  const Gfn gfn = GfnOf(Gpa(gpa));
  // kvm_gmem_populate: a guest_memfd slot, and a private page.
  {
    auto slots = vm_.memslots();
    const Memslot* slot = slots->Find(0, gfn);
    if (!slot || !slot->has_gmem_flag()) return Error(EINVAL);
  }
  if (!vm_.MemIsPrivate(0, gfn)) return Error(EINVAL);
  if (source_addr) {
    // get_user_pages of the source: its bytes, in a page the module can read.
    RETURN_IF_ERROR(CopyFromUser(vm_.kvm().arena().DirectMap(bounce_), source_addr, kPageSize));
    page_add_src_ = bounce_;
  } else {
    // Decision 6: no source means the page's own contents, which needs in-place conversion.
    if (!vm_.params().gmem_in_place_conversion) return Error(EINVAL);
    page_add_in_place_ = true;
  }
  const FaultResult r = vm_.HandleFault(
      FaultRequest{.as_id = 0, .gpa = Gpa(gpa), .is_private = true, .write = true,
                   .max_level = tdp::Level::k4K});
  page_add_src_.reset();
  page_add_in_place_ = false;
  switch (r.kind) {
    case FaultResult::Kind::kMapped:
      if (r.spurious) return Error(EIO);  // this GPA was initialized before
      break;
    case FaultResult::Kind::kMemoryFault:
      return Error(r.error);  // EHWPOISON, EBUSY (PAGE.ADD contention), ...
    case FaultResult::Kind::kError:
      return Error(r.error);
    case FaultResult::Kind::kMmio:
      return Error(EINVAL);
  }
  if (!measure) return Ok();
  for (uint64_t off = 0; off < kPageSize; off += kExtendChunk) {
    ExtErr err;
    const TdxStatus s = TdhMrExtend(td_, gpa + off, &err);
    if (s != ::cocomem::tdx::TDX_SUCCESS) {
      cmd.hw_error = s;
      return Bug("TDH.MR.EXTEND", s, err);
    }
  }
  pages_measured_.Add();
  return Ok();
}

}  // namespace cocomem::kvm::tdx
