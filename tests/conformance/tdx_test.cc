// TDX VM flows through the uAPI (KVM_X86_TDX_VM, KVM_MEMORY_ENCRYPT_OP), written like the
// kernel's TDX selftests: build a TD (INIT_VM, INIT_VCPU, INIT_MEM_REGION measured, not
// measured and in place), finalize, run guests that accept lazily, convert with MapGPA
// and check data, while the host converts and punches. Skips where the kernel has no TDX.
#include <linux/falloc.h>

#include <cstring>
#include <map>
#include <vector>

#include "conformance/td_util.h"

namespace {

using td_util::kPageAlreadyAccepted;
using td_util::kPageSizeMismatch;
using td_util::kSharedBit;
using td_util::MrtdCalc;
using td_util::TestTd;
using vm_util::TestVm;

constexpr uint64_t k4K = 4096, k2M = 2ull << 20, k1G = 1ull << 30;

class TdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int kvm = -1;
    if (kvm_util::OpenKvmOrSkip(&kvm) != 0) GTEST_SKIP() << "no /dev/kvm";
    const bool tdx = kvm_util::VmTypeSupported(kvm, KVM_X86_TDX_VM);
    ccm_close(kvm);
    if (!tdx) GTEST_SKIP() << "KVM_CAP_VM_TYPES lacks KVM_X86_TDX_VM (5): no TDX on this kernel";
    REQUIRE_GUEST_CODE();
  }
};

using td_util::PageBuffer;
using td_util::Pattern;

// Steps of a guest, reported with ccm_guest_sync; the host acts on each.
enum Step : uint64_t { kDone = 100, kFail = 999 };

#define GUEST_CHECK(g, cond)                      \
  do {                                            \
    if (!(cond)) {                                \
      ccm_guest_sync(g, kFail + __LINE__ * 1000); \
      return;                                     \
    }                                             \
  } while (0)

// Runs vCPU i until its next sync; the sync value (kFail + line*1000 for a failed check).
uint64_t RunToSync(TestVm& vm, size_t i) {
  const vm_util::RunResult r = vm.Run(i);
  EXPECT_EQ(r.rc, 0) << std::strerror(r.error);
  EXPECT_EQ(r.exit_reason, static_cast<uint32_t>(KVM_EXIT_IO));
  if (r.rc != 0 || r.exit_reason != KVM_EXIT_IO) return 0;
  const uint64_t v = TestVm::SyncValue(vm.run(i));
  EXPECT_LT(v, static_cast<uint64_t>(kFail)) << "guest check failed at line " << (v - kFail) / 1000;
  return v;
}

// Handles MapGPA exits (converting the guest_memfd range) until the next sync.
uint64_t RunServingMapGpa(TestTd& td, size_t i, int gmem, uint64_t gmem_base_gpa,
                          int* conversions = nullptr) {
  for (;;) {
    const vm_util::RunResult r = td.Run(i);
    EXPECT_EQ(r.rc, 0) << std::strerror(r.error);
    if (r.rc != 0) return 0;
    kvm_run* run = td.run(i);
    if (r.exit_reason == KVM_EXIT_HYPERCALL) {
      EXPECT_EQ(run->hypercall.nr, static_cast<uint64_t>(KVM_HC_MAP_GPA_RANGE));
      const uint64_t gpa = run->hypercall.args[0], npages = run->hypercall.args[1];
      const bool to_private = run->hypercall.args[2] & KVM_MAP_GPA_RANGE_ENCRYPTED;
      EXPECT_EQ(gpa & kSharedBit, 0u) << "args[0] carries the GPA without the shared bit";
      const int rc = td.SetGmemAttributes(gmem, gpa - gmem_base_gpa, npages * k4K, to_private);
      run->hypercall.ret = rc == 0 ? 0 : static_cast<uint64_t>(-errno);
      if (conversions) ++*conversions;
      continue;
    }
    EXPECT_EQ(r.exit_reason, static_cast<uint32_t>(KVM_EXIT_IO));
    const uint64_t v = TestVm::SyncValue(run);
    EXPECT_LT(v, static_cast<uint64_t>(kFail)) << "guest check failed at line " << (v - kFail) / 1000;
    return v;
  }
}

// ---- building a TD --------------------------------------------------------------------------

TEST_F(TdxTest, CapabilitiesAndPreconditions) {
  TestTd td;
  ASSERT_GE(td.vm(), 0);
  std::vector<uint8_t> caps_buf(sizeof(kvm_tdx_capabilities), 0);
  auto* caps = reinterpret_cast<kvm_tdx_capabilities*>(caps_buf.data());
  ASSERT_EQ(td.TdxCmd(td.vm(), KVM_TDX_CAPABILITIES, 0, reinterpret_cast<uint64_t>(caps)), 0);
  EXPECT_TRUE(caps->supported_attrs & td_util::kSeptVeDisable);
  EXPECT_EQ(td.TdxCmd(td.vm(), KVM_TDX_CAPABILITIES, 1, reinterpret_cast<uint64_t>(caps)), -1);
  EXPECT_EQ(errno, EINVAL);

  // vCPUs come after KVM_TDX_INIT_VM.
  EXPECT_EQ(ccm_ioctl(td.vm(), KVM_CREATE_VCPU, 0), -1);
  EXPECT_EQ(errno, EIO);
  // hw_error is an output; an unknown command is EINVAL; so is FINALIZE before INIT_VM.
  kvm_tdx_cmd cmd{};
  cmd.id = KVM_TDX_INIT_VM;
  cmd.hw_error = 1;
  EXPECT_EQ(ccm_ioctl(td.vm(), KVM_MEMORY_ENCRYPT_OP, &cmd), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(td.TdxCmd(td.vm(), 77, 0, 0), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(td.Finalize(), -1);
  EXPECT_EQ(errno, EINVAL);
  // Unsupported attributes.
  EXPECT_EQ(td.InitVm(1ull << 40), -1);
  EXPECT_EQ(errno, EINVAL);

  ASSERT_EQ(td.InitVm(), 0) << std::strerror(errno);
  EXPECT_EQ(td.InitVm(), -1);
  EXPECT_EQ(errno, EINVAL);

  const int gmem = td.CreateGmem(4 * k2M, 0);
  ASSERT_GE(gmem, 0);
  ASSERT_EQ(td.AddSlot(0, 0, 4 * k2M, gmem, 0), 0);
  const size_t v = td.AddVcpu(0, [](ccm_guest*, void*) {}, nullptr);
  PageBuffer page = Pattern(k4K, 1);
  // INIT_MEM_REGION before INIT_VCPU.
  EXPECT_EQ(td.InitMemRegion(v, 0, page.data(), 1, false), -1);
  EXPECT_EQ(errno, EINVAL);
  ASSERT_EQ(td.TdxCmd(td.vcpu_fd(v), KVM_TDX_INIT_VCPU, 0, 0), 0);
  EXPECT_EQ(td.TdxCmd(td.vcpu_fd(v), KVM_TDX_INIT_VCPU, 0, 0), -1);
  EXPECT_EQ(errno, EINVAL);
  // Misaligned source or GPA, no pages, a shared GPA, unknown flags.
  EXPECT_EQ(td.InitMemRegion(v, 0, page.data() + 1, 1, false), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(td.InitMemRegion(v, 0x10, page.data(), 1, false), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(td.InitMemRegion(v, 0, page.data(), 0, false), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(td.InitMemRegion(v, kSharedBit, page.data(), 1, false), -1);
  EXPECT_EQ(errno, EINVAL);
  kvm_tdx_init_mem_region r{reinterpret_cast<uint64_t>(page.data()), 0, 1};
  EXPECT_EQ(td.TdxCmd(td.vcpu_fd(v), KVM_TDX_INIT_MEM_REGION, 2, reinterpret_cast<uint64_t>(&r)), -1);
  EXPECT_EQ(errno, EINVAL);
  // A bad source pointer.
  EXPECT_EQ(td.InitMemRegion(v, 0, reinterpret_cast<void*>(4096), 1, false), -1);
  EXPECT_EQ(errno, EFAULT);
  // A GPA outside every memslot, and a shared range.
  EXPECT_EQ(td.InitMemRegion(v, 64 * k2M, page.data(), 1, false), -1);
  EXPECT_EQ(errno, EINVAL);
  ASSERT_EQ(td.SetGmemAttributes(gmem, k2M, k4K, false), 0);
  EXPECT_EQ(td.InitMemRegion(v, k2M, page.data(), 1, false), -1);
  EXPECT_EQ(errno, EINVAL);

  // Before finalize: no KVM_RUN, no pre-fault.
  EXPECT_EQ(td.Run(v).error, EINVAL);
  kvm_pre_fault_memory pf{};
  pf.gpa = 0;
  pf.size = k4K;
  EXPECT_EQ(ccm_ioctl(td.vcpu_fd(v), KVM_PRE_FAULT_MEMORY, &pf), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);

  // One page, then the same GPA again: EIO, and the region shows no progress.
  ASSERT_EQ(td.InitMemRegion(v, 0, page.data(), 1, true), 0) << std::strerror(errno);
  kvm_tdx_init_mem_region out{};
  EXPECT_EQ(td.InitMemRegion(v, 0, page.data(), 1, true, &out), -1);
  EXPECT_EQ(errno, EIO);
  EXPECT_EQ(out.nr_pages, 1u);
  EXPECT_EQ(out.gpa, 0u);

  ASSERT_EQ(td.Finalize(), 0) << std::strerror(errno);
  EXPECT_EQ(td.Finalize(), -1);
  EXPECT_EQ(errno, EINVAL);
  // Once finalized, the initial memory is fixed and vCPU commands are refused.
  EXPECT_EQ(td.InitMemRegion(v, k4K, page.data(), 1, false), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(ccm_ioctl(td.vcpu_fd(v), KVM_PRE_FAULT_MEMORY, &pf), 0) << std::strerror(errno);
}

TEST_F(TdxTest, MemoryEncryptOpOnOtherVmTypes) {
  TestVm vm(KVM_X86_DEFAULT_VM);
  kvm_tdx_cmd cmd{};
  EXPECT_EQ(ccm_ioctl(vm.vm(), KVM_MEMORY_ENCRYPT_OP, &cmd), -1);
  EXPECT_EQ(errno, ENOTTY);
}

TEST_F(TdxTest, NoDirectMapRejected) {
  TestTd td;
  ASSERT_EQ(td.InitVm(), 0);
  int kvm = ccm_open("/dev/kvm", O_RDWR);
  const long flags = ccm_ioctl(td.vm(), KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS);
  ccm_close(kvm);
  EXPECT_FALSE(flags & GUEST_MEMFD_FLAG_NO_DIRECT_MAP);
  EXPECT_EQ(td.CreateGmem(k2M, GUEST_MEMFD_FLAG_NO_DIRECT_MAP), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(TdxTest, SourceZeroNeedsInPlaceConversion) {
  TestTd td("0");  // attributes live in the VM
  ASSERT_EQ(td.InitVm(), 0);
  const int gmem = td.CreateGmem(k2M, 0);
  ASSERT_EQ(td.AddSlot(0, 0, k2M, gmem, 0), 0);
  ASSERT_EQ(td.SetVmAttributes(0, k2M, true), 0);
  const size_t v = td.AddTdVcpu(0, [](ccm_guest*, void*) {}, nullptr);
  EXPECT_EQ(td.InitMemRegion(v, 0, nullptr, 1, false), -1);
  EXPECT_EQ(errno, EINVAL);
  PageBuffer page = Pattern(k4K, 3);
  EXPECT_EQ(td.InitMemRegion(v, 0, page.data(), 1, false), 0) << std::strerror(errno);
}

// ---- the whole lifecycle -----------------------------------------------------------------

constexpr uint64_t kFwGpa = 0, kFwPages = 16;           // measured firmware
constexpr uint64_t kDataGpa = 0x10000, kDataPages = 16;  // unmeasured data
constexpr uint64_t kInPlaceGpa = 0x20000, kInPlacePages = 8;
constexpr uint64_t kLazyGpa = 0x100000, kLazyPages = 32;   // accepted by the guest
constexpr uint64_t kBounceGpa = 0x200000, kBouncePages = 4;  // shared with the host

struct BootArgs {
  PageBuffer fw, data, inplace;
  uint8_t mrtd[48];
};

enum BootStep : uint64_t {
  kImageOk = 1,
  kLazyAccepted,
  kSharedWritten,
  kBackPrivate,
  kAfterPunch,
};

void BootGuest(ccm_guest* g, void* arg) {
  auto* a = static_cast<BootArgs*>(arg);
  // The image: already mapped (PAGE.ADD), so accepting says "already accepted".
  GUEST_CHECK(g, ccm_guest_tdx_accept(g, kFwGpa, 0) == (kPageAlreadyAccepted | 0));
  std::vector<uint8_t> buf(k4K);
  for (uint64_t i = 0; i < kFwPages; ++i) {
    ccm_guest_read(g, kFwGpa + i * k4K, buf.data(), k4K);
    GUEST_CHECK(g, std::memcmp(buf.data(), a->fw.data() + i * k4K, k4K) == 0);
  }
  for (uint64_t i = 0; i < kDataPages; ++i) {
    ccm_guest_read(g, kDataGpa + i * k4K, buf.data(), k4K);
    GUEST_CHECK(g, std::memcmp(buf.data(), a->data.data() + i * k4K, k4K) == 0);
  }
  for (uint64_t i = 0; i < kInPlacePages; ++i) {
    ccm_guest_read(g, kInPlaceGpa + i * k4K, buf.data(), k4K);
    GUEST_CHECK(g, std::memcmp(buf.data(), a->inplace.data() + i * k4K, k4K) == 0);
  }
  GUEST_CHECK(g, ccm_guest_tdx_get_mrtd(g, a->mrtd) == 0);
  ccm_guest_sync(g, kImageOk);

  // Lazy acceptance: AUG on the EPT violation, then ACCEPT zeroes.
  for (uint64_t i = 0; i < kLazyPages; ++i) {
    const uint64_t gpa = kLazyGpa + i * k4K;
    GUEST_CHECK(g, ccm_guest_tdx_accept(g, gpa, 0) == 0);
    GUEST_CHECK(g, ccm_guest_tdx_accept(g, gpa, 0) == (kPageAlreadyAccepted | 0));
    GUEST_CHECK(g, ccm_guest_read64(g, gpa + 8) == 0);
    ccm_guest_write64(g, gpa, gpa ^ 0x5a5a);
  }
  ccm_guest_sync(g, kLazyAccepted);

  // Share a bounce buffer with the host (MapGPA to shared) and write it through the shared alias.
  GUEST_CHECK(g, ccm_guest_tdx_map_gpa(g, kBounceGpa | kSharedBit, kBouncePages * k4K) == 0);
  for (uint64_t i = 0; i < kBouncePages; ++i) {
    ccm_guest_write64(g, (kBounceGpa + i * k4K) | kSharedBit, 0xb0b0 + i);
  }
  ccm_guest_sync(g, kSharedWritten);
  // The host wrote back; read, then take the buffer private again.
  for (uint64_t i = 0; i < kBouncePages; ++i) {
    GUEST_CHECK(g, ccm_guest_read64(g, ((kBounceGpa + i * k4K) | kSharedBit) + 8) == 0xcafe + i);
  }
  GUEST_CHECK(g, ccm_guest_tdx_map_gpa(g, kBounceGpa, kBouncePages * k4K) == 0);
  for (uint64_t i = 0; i < kBouncePages; ++i) {
    const uint64_t gpa = kBounceGpa + i * k4K;
    GUEST_CHECK(g, ccm_guest_tdx_accept(g, gpa, 0) == 0);
    GUEST_CHECK(g, ccm_guest_read64(g, gpa) == 0);  // ACCEPT zeroed it
  }
  // Lazily accepted pages kept their data through all of it.
  for (uint64_t i = 0; i < kLazyPages; ++i) {
    const uint64_t gpa = kLazyGpa + i * k4K;
    GUEST_CHECK(g, ccm_guest_read64(g, gpa) == (gpa ^ 0x5a5a));
  }
  ccm_guest_sync(g, kBackPrivate);

  // The host punched the first lazy page: it must be accepted again and reads zero.
  GUEST_CHECK(g, ccm_guest_tdx_accept(g, kLazyGpa, 0) == 0);
  GUEST_CHECK(g, ccm_guest_read64(g, kLazyGpa) == 0);
  GUEST_CHECK(g, ccm_guest_read64(g, kLazyGpa + k4K) == ((kLazyGpa + k4K) ^ 0x5a5a));
  ccm_guest_sync(g, kAfterPunch);
  ccm_guest_sync(g, kDone);
}

TEST_F(TdxTest, BootAcceptConvertPunch) {
  TestTd td;
  ASSERT_EQ(td.InitVm(), 0) << std::strerror(errno);
  ASSERT_EQ(td.EnableMapGpaExits(), 0);
  const uint64_t size = 4 * k2M;
  const int gmem = td.CreateGmem(size, GUEST_MEMFD_FLAG_MMAP);
  ASSERT_GE(gmem, 0) << std::strerror(errno);
  ASSERT_EQ(td.AddSlot(0, 0, size, gmem, 0), 0) << std::strerror(errno);
  auto* host = static_cast<uint8_t*>(ccm_mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, gmem, 0));
  ASSERT_NE(host, MAP_FAILED);

  BootArgs args;
  args.fw = Pattern(kFwPages * k4K, 0x11);
  args.data = Pattern(kDataPages * k4K, 0x22);
  args.inplace = Pattern(kInPlacePages * k4K, 0x33);
  const size_t v = td.AddTdVcpu(0, BootGuest, &args);

  MrtdCalc expect;
  ASSERT_EQ(td.InitMemRegion(v, kFwGpa, args.fw.data(), kFwPages, true), 0) << std::strerror(errno);
  for (uint64_t i = 0; i < kFwPages; ++i) expect.Page(kFwGpa + i * k4K, args.fw.data() + i * k4K, true);
  kvm_tdx_init_mem_region out{};
  ASSERT_EQ(td.InitMemRegion(v, kDataGpa, args.data.data(), kDataPages, false, &out), 0);
  EXPECT_EQ(out.nr_pages, 0u);
  EXPECT_EQ(out.gpa, kDataGpa + kDataPages * k4K);
  EXPECT_EQ(out.source_addr, reinterpret_cast<uint64_t>(args.data.data()) + kDataPages * k4K);
  for (uint64_t i = 0; i < kDataPages; ++i) expect.Page(kDataGpa + i * k4K, args.data.data() + i * k4K, false);
  // In place: written through the shared mmap, converted, added with no source.
  ASSERT_EQ(td.SetGmemAttributes(gmem, kInPlaceGpa, kInPlacePages * k4K, false), 0);
  std::memcpy(host + kInPlaceGpa, args.inplace.data(), args.inplace.size());
  ASSERT_EQ(td.SetGmemAttributes(gmem, kInPlaceGpa, kInPlacePages * k4K, true), 0);
  ASSERT_EQ(td.InitMemRegion(v, kInPlaceGpa, nullptr, kInPlacePages, true, &out), 0) << std::strerror(errno);
  EXPECT_EQ(out.source_addr, 0u);
  for (uint64_t i = 0; i < kInPlacePages; ++i) {
    expect.Page(kInPlaceGpa + i * k4K, args.inplace.data() + i * k4K, true);
  }
  ASSERT_EQ(td.Finalize(), 0) << std::strerror(errno);

  ASSERT_EQ(RunToSync(td, v), kImageOk);
  const std::array<uint8_t, 48> mrtd = expect.Final();
  EXPECT_EQ(std::memcmp(args.mrtd, mrtd.data(), 48), 0) << "MRTD differs from the block-layout computation";

  ASSERT_EQ(RunToSync(td, v), kLazyAccepted);
  int conversions = 0;
  ASSERT_EQ(RunServingMapGpa(td, v, gmem, 0, &conversions), kSharedWritten);
  EXPECT_GE(conversions, 1);
  for (uint64_t i = 0; i < kBouncePages; ++i) {
    uint64_t val;
    std::memcpy(&val, host + kBounceGpa + i * k4K, 8);
    EXPECT_EQ(val, 0xb0b0 + i) << "the host sees what the guest wrote through the shared alias";
    const uint64_t reply = 0xcafe + i;
    std::memcpy(host + kBounceGpa + i * k4K + 8, &reply, 8);
  }
  ASSERT_EQ(RunServingMapGpa(td, v, gmem, 0), kBackPrivate);
  // The host punches a private page; the guest finds it must accept again.
  ASSERT_EQ(ccm_fallocate(gmem, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, kLazyGpa, k4K), 0)
      << std::strerror(errno);
  ASSERT_EQ(RunToSync(td, v), kAfterPunch);
  ASSERT_EQ(RunToSync(td, v), kDone);
  ccm_munmap(host, size);
}

// ---- huge pages -------------------------------------------------------------------------------

enum HugeStep : uint64_t { kAccepted2M = 1, kAcceptedInPending = 2, kSplitChecked = 3 };

struct HugeArgs {
  uint64_t base;  // a 2M-aligned GPA
};

void Accept2MGuest(ccm_guest* g, void* arg) {
  const uint64_t base = static_cast<HugeArgs*>(arg)->base;
  // 2M accept of a fresh range: one 2M AUG.
  GUEST_CHECK(g, ccm_guest_tdx_accept(g, base, 1) == 0);
  GUEST_CHECK(g, ccm_guest_tdx_accept(g, base + 5 * k4K, 0) == (kPageAlreadyAccepted | 1));
  GUEST_CHECK(g, ccm_guest_read64(g, base + k2M - 8) == 0);
  ccm_guest_write64(g, base + 3 * k4K, 42);
  ccm_guest_sync(g, kAccepted2M);
  // The next 2M range was pre-faulted by the host at 2M (PENDING): a 4K accept splits it.
  const uint64_t next = base + k2M;
  GUEST_CHECK(g, ccm_guest_tdx_accept(g, next + 7 * k4K, 0) == 0);
  GUEST_CHECK(g, ccm_guest_tdx_accept(g, next, 1) == (kPageSizeMismatch | 1));
  GUEST_CHECK(g, ccm_guest_tdx_accept(g, next + 8 * k4K, 0) == 0);
  GUEST_CHECK(g, ccm_guest_read64(g, next + 7 * k4K) == 0);
  GUEST_CHECK(g, ccm_guest_read64(g, base + 3 * k4K) == 42);
  ccm_guest_sync(g, kAcceptedInPending);
}

TEST_F(TdxTest, HugeAugAndAcceptLevels) {
  TestTd td;
  ASSERT_EQ(td.InitVm(), 0);
  const uint64_t size = 4 * k2M;
  const int gmem = td.CreateGmem(size, GUEST_MEMFD_FLAG_HUGETLB, 9);
  ASSERT_GE(gmem, 0) << std::strerror(errno);
  ASSERT_EQ(td.AddSlot(0, 0, size, gmem, 0), 0);
  HugeArgs args{k2M};
  const size_t v = td.AddTdVcpu(0, Accept2MGuest, &args);
  ASSERT_EQ(td.Finalize(), 0) << std::strerror(errno);
  ASSERT_EQ(RunToSync(td, v), kAccepted2M);
  kvm_pre_fault_memory pf{};
  pf.gpa = 2 * k2M;
  pf.size = k2M;
  ASSERT_EQ(ccm_ioctl(td.vcpu_fd(v), KVM_PRE_FAULT_MEMORY, &pf), 0) << std::strerror(errno);
  EXPECT_EQ(pf.size, 0u) << "one 2M leaf covers the whole range";
  ASSERT_EQ(RunToSync(td, v), kAcceptedInPending);
}

void SplitGuest(ccm_guest* g, void* arg) {
  (void)arg;
  for (uint64_t off = 0; off < 2 * k2M; off += k2M) GUEST_CHECK(g, ccm_guest_tdx_accept(g, off, 1) == 0);
  for (uint64_t off = 0; off < 2 * k2M; off += k4K) ccm_guest_write64(g, off, off + 1);
  ccm_guest_sync(g, kAccepted2M);
  // One page of the first 2M goes shared: the 1G folio is split in guest_memfd, the
  // 2M S-EPT leaf is demoted, and only that page is removed.
  GUEST_CHECK(g, ccm_guest_tdx_map_gpa(g, k4K | kSharedBit, k4K) == 0);
  ccm_guest_write64(g, k4K | kSharedBit, 0x77);
  for (uint64_t off = 0; off < 2 * k2M; off += k4K) {
    if (off == k4K) continue;
    GUEST_CHECK(g, ccm_guest_read64(g, off) == off + 1);  // still mapped and intact
  }
  // Its neighbours are now 4K leaves (demoted), the second 2M is untouched.
  GUEST_CHECK(g, ccm_guest_tdx_accept(g, 2 * k4K, 0) == (kPageAlreadyAccepted | 0));
  GUEST_CHECK(g, ccm_guest_tdx_accept(g, k2M + k4K, 0) == (kPageAlreadyAccepted | 1));
  ccm_guest_sync(g, kSplitChecked);
}

TEST_F(TdxTest, Hugetlb1GSingleShared4KDemotes) {
  TestTd td;
  ASSERT_EQ(td.InitVm(), 0);
  ASSERT_EQ(td.EnableMapGpaExits(), 0);
  const int gmem = td.CreateGmem(k1G, GUEST_MEMFD_FLAG_HUGETLB | GUEST_MEMFD_FLAG_MMAP, 18);
  ASSERT_GE(gmem, 0) << std::strerror(errno);
  ASSERT_EQ(td.AddSlot(0, 0, k1G, gmem, 0), 0);
  const size_t v = td.AddTdVcpu(0, SplitGuest, nullptr);
  ASSERT_EQ(td.Finalize(), 0);
  ASSERT_EQ(RunToSync(td, v), kAccepted2M);
  ASSERT_EQ(RunServingMapGpa(td, v, gmem, 0), kSplitChecked);
  auto* host = static_cast<uint8_t*>(ccm_mmap(nullptr, k2M, PROT_READ, MAP_SHARED, gmem, 0));
  ASSERT_NE(host, MAP_FAILED);
  uint64_t val;
  std::memcpy(&val, host + k4K, 8);
  EXPECT_EQ(val, 0x77u);
  ccm_munmap(host, k2M);
}

// ---- failures ---------------------------------------------------------------------------------

void TouchUnacceptedGuest(ccm_guest* g, void*) {
  ccm_guest_sync(g, 1);
  (void)ccm_guest_read64(g, 0);  // pre-faulted (PENDING) but never accepted
  ccm_guest_sync(g, kDone);
}

TEST_F(TdxTest, AccessBeforeAcceptKillsTheVm) {
  TestTd td;
  ASSERT_EQ(td.InitVm(td_util::kSeptVeDisable), 0);
  const int gmem = td.CreateGmem(k2M, 0);
  ASSERT_EQ(td.AddSlot(0, 0, k2M, gmem, 0), 0);
  const size_t v = td.AddTdVcpu(0, TouchUnacceptedGuest, nullptr);
  ASSERT_EQ(td.Finalize(), 0);
  ASSERT_EQ(RunToSync(td, v), 1u);
  kvm_pre_fault_memory pf{};
  pf.size = k4K;
  ASSERT_EQ(ccm_ioctl(td.vcpu_fd(v), KVM_PRE_FAULT_MEMORY, &pf), 0);
  const vm_util::RunResult r = td.Run(v);
  EXPECT_EQ(r.rc, -1);
  EXPECT_EQ(r.error, EIO);
  // The VM is dead: everything fails with EIO.
  EXPECT_EQ(td.Run(v).error, EIO);
  EXPECT_EQ(td.CreateGmem(k2M, 0), -1);
  EXPECT_EQ(errno, EIO);
}

TEST_F(TdxTest, AccessBeforeAcceptWithoutSeptVeDisableShutsDown) {
  TestTd td;
  ASSERT_EQ(td.InitVm(0), 0);
  const int gmem = td.CreateGmem(k2M, 0);
  ASSERT_EQ(td.AddSlot(0, 0, k2M, gmem, 0), 0);
  const size_t v = td.AddTdVcpu(0, TouchUnacceptedGuest, nullptr);
  ASSERT_EQ(td.Finalize(), 0);
  ASSERT_EQ(RunToSync(td, v), 1u);
  kvm_pre_fault_memory pf{};
  pf.size = k4K;
  ASSERT_EQ(ccm_ioctl(td.vcpu_fd(v), KVM_PRE_FAULT_MEMORY, &pf), 0);
  const vm_util::RunResult r = td.Run(v);
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.exit_reason, static_cast<uint32_t>(KVM_EXIT_SHUTDOWN)) << "an unhandled #VE";
}

void PoisonGuest(ccm_guest* g, void*) {
  GUEST_CHECK(g, ccm_guest_tdx_accept(g, 0, 0) == 0);
  ccm_guest_write64(g, 0, 1);
  ccm_guest_sync(g, 1);
  (void)ccm_guest_read64(g, 0);
  ccm_guest_sync(g, kDone);
}

TEST_F(TdxTest, MemoryFailureOnPrivatePage) {
  TestTd td;
  ASSERT_EQ(td.InitVm(), 0);
  const int gmem = td.CreateGmem(k2M, 0);
  ASSERT_EQ(td.AddSlot(0, 0, k2M, gmem, 0), 0);
  const size_t v = td.AddTdVcpu(0, PoisonGuest, nullptr);
  ASSERT_EQ(td.Finalize(), 0);
  ASSERT_EQ(RunToSync(td, v), 1u);
  ASSERT_EQ(ccm_inject_memory_failure(gmem, 0), 0) << std::strerror(errno);
  const vm_util::RunResult r = td.Run(v);
  EXPECT_EQ(r.rc, -1);
  EXPECT_EQ(r.error, EHWPOISON);
  EXPECT_EQ(r.exit_reason, static_cast<uint32_t>(KVM_EXIT_MEMORY_FAULT));
  EXPECT_EQ(td.run(v)->memory_fault.gpa, 0u);
  EXPECT_TRUE(td.run(v)->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_PRIVATE);
}

// A private access to a page whose attribute is shared is a memory-fault exit (the VMM
// may convert implicitly); MapGPA without KVM_CAP_EXIT_HYPERCALL is unsupported.
void ImplicitGuest(ccm_guest* g, void*) {
  GUEST_CHECK(g, ccm_guest_tdx_map_gpa(g, 0 | kSharedBit, k4K) == 0x8000000000000003ull);
  GUEST_CHECK(g, ccm_guest_tdx_accept(g, 0, 0) == 0);
  GUEST_CHECK(g, ccm_guest_read64(g, 0) == 0);
  ccm_guest_sync(g, kDone);
}

TEST_F(TdxTest, ImplicitConversionOnMemoryFault) {
  TestTd td;
  ASSERT_EQ(td.InitVm(), 0);
  const int gmem = td.CreateGmem(k2M, GUEST_MEMFD_FLAG_INIT_SHARED);
  ASSERT_GE(gmem, 0) << std::strerror(errno);
  ASSERT_EQ(td.AddSlot(0, 0, k2M, gmem, 0), 0);
  const size_t v = td.AddTdVcpu(0, ImplicitGuest, nullptr);
  ASSERT_EQ(td.Finalize(), 0);
  vm_util::RunResult r = td.Run(v);
  ASSERT_EQ(r.rc, -1);
  EXPECT_EQ(r.error, EFAULT);
  ASSERT_EQ(r.exit_reason, static_cast<uint32_t>(KVM_EXIT_MEMORY_FAULT));
  EXPECT_TRUE(td.run(v)->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_PRIVATE);
  ASSERT_EQ(td.SetGmemAttributes(gmem, 0, k4K, true), 0);
  EXPECT_EQ(RunToSync(td, v), kDone);
}

}  // namespace
