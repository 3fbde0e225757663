// Guest-side flows after the kernel's private_mem_conversions_test,
// private_mem_kvm_exits_test, guest_memfd_test's guest case, the in-place conversion
// selftest and pre_fault_memory_test.
#include <linux/falloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "conformance/vm_util.h"

namespace {

using vm_util::TestVm;

constexpr uint64_t kGpa = 4ull << 30;  // BASE_DATA_GPA
constexpr uint64_t k2M = 2 << 20;
constexpr uint64_t kPs = 4096;

// ---- guest code -----------------------------------------------------------------------

struct PatternArgs {
  uint64_t gpa, size;
  uint8_t expect, write;
};

// Checks every page holds `expect`, writes `write`, reports 1 (or 0xbad + page).
void GuestCheckAndWrite(ccm_guest* g, void* p) {
  const auto* a = static_cast<const PatternArgs*>(p);
  for (uint64_t off = 0; off < a->size; off += kPs) {
    uint8_t b = 0;
    ccm_guest_read(g, a->gpa + off, &b, 1);
    if (b != a->expect) ccm_guest_sync(g, 0xbad0000 + off / kPs);
    ccm_guest_write(g, a->gpa + off, &a->write, 1);
  }
  ccm_guest_sync(g, 1);
}

TEST(GuestMemfdGuest, HostAndGuestShareAGuestMemfdOnlySlot) {
  REQUIRE_GUEST_CODE();
  TestVm vm(KVM_X86_DEFAULT_VM);
  const int gmem = vm.CreateGmem(k2M, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
  ASSERT_GE(gmem, 0);
  ASSERT_EQ(vm.AddSlot(0, kGpa, k2M, gmem, 0), 0) << std::strerror(errno);
  auto* mem = static_cast<uint8_t*>(ccm_mmap(nullptr, k2M, PROT_READ | PROT_WRITE, MAP_SHARED, gmem, 0));
  std::memset(mem, 0xaa, k2M);
  PatternArgs args{kGpa, k2M, 0xaa, 0xff};
  const size_t v = vm.AddVcpu(0, GuestCheckAndWrite, &args);
  auto r = vm.Run(v);
  ASSERT_EQ(r.rc, 0) << std::strerror(r.error);
  ASSERT_EQ(r.exit_reason, KVM_EXIT_IO);
  EXPECT_EQ(vm.run(v)->io.port, CCM_SYNC_PORT);
  EXPECT_EQ(vm.run(v)->io.size, 8);
  EXPECT_EQ(vm.run(v)->io.direction, KVM_EXIT_IO_OUT);
  EXPECT_EQ(TestVm::SyncValue(vm.run(v)), 1u);
  for (uint64_t off = 0; off < k2M; off += kPs) ASSERT_EQ(mem[off], 0xff) << off;
  // Returning from the guest function halts.
  r = vm.Run(v);
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.exit_reason, KVM_EXIT_HLT);
  ccm_munmap(mem, k2M);
}

// private_mem_conversions_test with in-place conversion: the guest asks for conversions
// with KVM_HC_MAP_GPA_RANGE; contents survive both ways; several vCPUs and memslots.
struct ConversionArgs {
  uint64_t base;
  std::atomic<int>* failures;
};

void GuestConversions(ccm_guest* g, void* p) {
  const auto* a = static_cast<const ConversionArgs*>(p);
  struct Stage {
    uint64_t offset, size;
  };
  const Stage stages[] = {{0, kPs}, {0, k2M}, {kPs, kPs}, {kPs, k2M}, {k2M, kPs}};
  uint8_t pattern = 1;
  for (const Stage& s : stages) {
    const uint64_t gpa = a->base + s.offset;
    // Shared: write, ask for private, check the bytes came along, write private data.
    for (uint64_t o = 0; o < s.size; o += kPs) ccm_guest_write(g, gpa + o, &pattern, 1);
    if (ccm_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, gpa, s.size / kPs, KVM_MAP_GPA_RANGE_ENCRYPTED) != 0)
      a->failures->fetch_add(1);
    for (uint64_t o = 0; o < s.size; o += kPs) {
      uint8_t b = 0;
      ccm_guest_read(g, gpa + o, &b, 1);
      if (b != pattern) a->failures->fetch_add(1);
    }
    const uint8_t priv = pattern + 100;
    for (uint64_t o = 0; o < s.size; o += kPs) ccm_guest_write(g, gpa + o, &priv, 1);
    if (ccm_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, gpa, s.size / kPs, KVM_MAP_GPA_RANGE_DECRYPTED) != 0)
      a->failures->fetch_add(1);
    ccm_guest_sync(g, gpa);  // the host checks priv is visible through its mapping
    ++pattern;
  }
  ccm_guest_sync(g, 0);
}

TEST(PrivateMemConversions, InPlaceWithSeveralVcpusAndMemslots) {
  REQUIRE_GUEST_CODE();
  TestVm vm(KVM_X86_SW_PROTECTED_VM);
  ASSERT_EQ(vm.EnableMapGpaExits(), 0);
  constexpr int kVcpus = 2;
  constexpr uint64_t kPerVcpu = 2 * k2M;  // PER_CPU_DATA_SIZE rounded to whole slots
  std::atomic<int> failures{0};
  std::vector<int> gmems;
  std::vector<uint8_t*> maps;
  std::vector<ConversionArgs> args(kVcpus);
  for (int i = 0; i < kVcpus; ++i) {  // one guest_memfd + memslot per vCPU
    const int gmem = vm.CreateGmem(kPerVcpu, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
    ASSERT_GE(gmem, 0);
    ASSERT_EQ(vm.AddSlot(10 + i, kGpa + i * kPerVcpu, kPerVcpu, gmem, 0), 0);
    gmems.push_back(gmem);
    maps.push_back(static_cast<uint8_t*>(
        ccm_mmap(nullptr, kPerVcpu, PROT_READ | PROT_WRITE, MAP_SHARED, gmem, 0)));
    args[i] = ConversionArgs{kGpa + i * kPerVcpu, &failures};
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < kVcpus; ++i) {
    const size_t v = vm.AddVcpu(i, GuestConversions, &args[i]);
    threads.emplace_back([&, i, v] {
      for (;;) {
        auto r = vm.Run(v);
        if (r.rc != 0) {
          failures++;
          return;
        }
        kvm_run* run = vm.run(v);
        if (r.exit_reason == KVM_EXIT_HYPERCALL) {
          const uint64_t gpa = run->hypercall.args[0], n = run->hypercall.args[1];
          const bool to_private = run->hypercall.args[2] & KVM_MAP_GPA_RANGE_ENCRYPTED;
          run->hypercall.ret = vm.SetGmemAttributes(gmems[i], gpa - (kGpa + i * kPerVcpu),
                                                    n * kPs, to_private) == 0 ? 0 : 1;
          continue;
        }
        ASSERT_EQ(r.exit_reason, KVM_EXIT_IO);
        const uint64_t value = TestVm::SyncValue(run);
        if (value == 0) return;
        const uint64_t off = value - (kGpa + i * kPerVcpu);
        if (maps[i][off] < 101) failures++;  // the private write, now shared, visible
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

// The same with VM-level attributes and separate shared backing: private and shared
// views are different memory.
void GuestSeparateBacking(ccm_guest* g, void* p) {
  const uint64_t gpa = *static_cast<uint64_t*>(p);
  ccm_guest_write64(g, gpa, 0x5a5a);  // shared write
  ccm_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, gpa, 1, KVM_MAP_GPA_RANGE_ENCRYPTED);
  ccm_guest_sync(g, ccm_guest_read64(g, gpa));  // private view: a fresh zero page
  ccm_guest_write64(g, gpa, 0x1234);
  ccm_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, gpa, 1, KVM_MAP_GPA_RANGE_DECRYPTED);
  ccm_guest_sync(g, ccm_guest_read64(g, gpa));  // shared view again: the old value
}

TEST(PrivateMemConversions, VmAttributesWithSeparateBacking) {
  REQUIRE_GUEST_CODE();
  TestVm vm(KVM_X86_SW_PROTECTED_VM, "0");
  ASSERT_EQ(vm.EnableMapGpaExits(), 0);
  const int gmem = vm.CreateGmem(k2M, 0);
  ASSERT_GE(gmem, 0);
  auto* shared = static_cast<uint64_t*>(mmap(nullptr, k2M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_EQ(vm.AddSlot(0, kGpa, k2M, gmem, 0, reinterpret_cast<uint64_t>(shared)), 0);
  uint64_t gpa = kGpa;
  const size_t v = vm.AddVcpu(0, GuestSeparateBacking, &gpa);
  std::vector<uint64_t> syncs;
  for (int i = 0; i < 8 && syncs.size() < 2; ++i) {
    auto r = vm.Run(v);
    ASSERT_EQ(r.rc, 0) << std::strerror(r.error);
    if (r.exit_reason == KVM_EXIT_HYPERCALL) {
      kvm_run* run = vm.run(v);
      const bool to_private = run->hypercall.args[2] & KVM_MAP_GPA_RANGE_ENCRYPTED;
      run->hypercall.ret = vm.SetVmAttributes(run->hypercall.args[0], run->hypercall.args[1] * kPs, to_private);
      continue;
    }
    ASSERT_EQ(r.exit_reason, KVM_EXIT_IO);
    syncs.push_back(TestVm::SyncValue(vm.run(v)));
  }
  EXPECT_EQ(syncs, (std::vector<uint64_t>{0, 0x5a5a}));
  EXPECT_EQ(shared[0], 0x5a5au);  // the private write never reached the shared backing
  munmap(shared, k2M);
}

// ---- private_mem_kvm_exits_test ---------------------------------------------------------

void GuestReadOnce(ccm_guest* g, void* p) {
  ccm_guest_sync(g, ccm_guest_read64(g, *static_cast<uint64_t*>(p)));
}

TEST(PrivateMemKvmExits, PrivateAccessToASlotWithoutGuestMemfd) {
  REQUIRE_GUEST_CODE();
  TestVm vm(KVM_X86_SW_PROTECTED_VM, "0");
  auto* mem = mmap(nullptr, k2M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_EQ(vm.AddSlot(0, kGpa, k2M, -1, 0, reinterpret_cast<uint64_t>(mem)), 0);
  ASSERT_EQ(vm.SetVmAttributes(kGpa, kPs, true), 0);
  uint64_t gpa = kGpa;
  const size_t v = vm.AddVcpu(0, GuestReadOnce, &gpa);
  auto r = vm.Run(v);
  EXPECT_EQ(r.rc, -1);
  EXPECT_EQ(r.error, EFAULT);
  EXPECT_EQ(r.exit_reason, KVM_EXIT_MEMORY_FAULT);
  EXPECT_EQ(vm.run(v)->memory_fault.flags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
  EXPECT_EQ(vm.run(v)->memory_fault.gpa, kGpa);
  EXPECT_EQ(vm.run(v)->memory_fault.size, kPs);
  // Userspace resolves the "implicit conversion request" and the access completes.
  ASSERT_EQ(vm.SetVmAttributes(kGpa, kPs, false), 0);
  r = vm.Run(v);
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.exit_reason, KVM_EXIT_IO);
  munmap(mem, k2M);
}

TEST(PrivateMemKvmExits, PrivateAccessAfterTheMemslotIsDeleted) {
  REQUIRE_GUEST_CODE();
  TestVm vm(KVM_X86_SW_PROTECTED_VM, "0");
  const int gmem = vm.CreateGmem(k2M, 0);
  ASSERT_EQ(vm.AddSlot(0, kGpa, k2M, gmem, 0, 0), 0);
  ASSERT_EQ(vm.SetVmAttributes(kGpa, k2M, true), 0);
  ASSERT_EQ(vm.AddSlot(0, kGpa, 0, gmem, 0, 0), 0);  // delete
  uint64_t gpa = kGpa;
  const size_t v = vm.AddVcpu(0, GuestReadOnce, &gpa);
  auto r = vm.Run(v);
  EXPECT_EQ(r.rc, -1);
  EXPECT_EQ(r.error, EFAULT);
  EXPECT_EQ(r.exit_reason, KVM_EXIT_MEMORY_FAULT);
  EXPECT_EQ(vm.run(v)->memory_fault.flags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
}

TEST(PrivateMemKvmExits, DeletedSlotWithInPlaceConversionIsMmio) {
  REQUIRE_GUEST_CODE();
  TestVm vm(KVM_X86_SW_PROTECTED_VM);
  uint64_t gpa = kGpa;  // no memslot: with per-guest_memfd attributes that is shared
  const size_t v = vm.AddVcpu(0, GuestReadOnce, &gpa);
  auto r = vm.Run(v);
  EXPECT_EQ(r.rc, 0);
  ASSERT_EQ(r.exit_reason, KVM_EXIT_MMIO);
  EXPECT_EQ(vm.run(v)->mmio.phys_addr, kGpa);
  EXPECT_EQ(vm.run(v)->mmio.len, 8u);
  EXPECT_EQ(vm.run(v)->mmio.is_write, 0);
  const uint64_t value = 0x77;
  std::memcpy(vm.run(v)->mmio.data, &value, 8);  // the "device" answers
  r = vm.Run(v);
  ASSERT_EQ(r.exit_reason, KVM_EXIT_IO);
  EXPECT_EQ(TestVm::SyncValue(vm.run(v)), 0x77u);
}

TEST(PrivateMemKvmExits, PoisonedAndClosedGuestMemfd) {
  REQUIRE_GUEST_CODE();
  TestVm vm(KVM_X86_SW_PROTECTED_VM);
  const int gmem = vm.CreateGmem(k2M, GUEST_MEMFD_FLAG_MMAP);  // private
  ASSERT_EQ(vm.AddSlot(0, kGpa, k2M, gmem, 0), 0);
  ASSERT_EQ(ccm_inject_memory_failure(gmem, 0), 0);
  uint64_t gpa = kGpa;
  const size_t v = vm.AddVcpu(0, GuestReadOnce, &gpa);
  auto r = vm.Run(v);
  EXPECT_EQ(r.rc, -1);
  EXPECT_EQ(r.error, EHWPOISON);
  EXPECT_EQ(r.exit_reason, KVM_EXIT_MEMORY_FAULT);
  EXPECT_EQ(vm.run(v)->memory_fault.gpa, kGpa);
  // Punching clears the poison; the retried access then reads the fresh zero page.
  ASSERT_EQ(ccm_fallocate(gmem, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, kPs), 0);
  r = vm.Run(v);
  ASSERT_EQ(r.exit_reason, KVM_EXIT_IO);
  EXPECT_EQ(TestVm::SyncValue(vm.run(v)), 0u);
  // Closing the guest_memfd: later guest use exits with EFAULT.
  TestVm vm2(KVM_X86_SW_PROTECTED_VM);
  const int gmem2 = vm2.CreateGmem(k2M, GUEST_MEMFD_FLAG_MMAP);
  ASSERT_EQ(vm2.AddSlot(0, kGpa, k2M, gmem2, 0), 0);
  vm2.CloseGmem(gmem2);
  const size_t v2 = vm2.AddVcpu(0, GuestReadOnce, &gpa);
  r = vm2.Run(v2);
  EXPECT_EQ(r.rc, -1);
  EXPECT_EQ(r.error, EFAULT);
  EXPECT_EQ(r.exit_reason, KVM_EXIT_MEMORY_FAULT);
}

// ---- vCPU plumbing ----------------------------------------------------------------------

void GuestHalts(ccm_guest* g, void*) { ccm_guest_halt(g); }

TEST(KvmRun, VcpuBasics) {
  REQUIRE_GUEST_CODE();
  TestVm vm(KVM_X86_DEFAULT_VM);
  OPEN_KVM_OR_SKIP(kvm);
  EXPECT_EQ(ccm_ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), 3 * 4096);
  ccm_close(kvm);
  const int fd = ccm_ioctl(vm.vm(), KVM_CREATE_VCPU, 0);
  ASSERT_GE(fd, 0);
  TEST_ASSERT_ERRNO(ccm_ioctl(vm.vm(), KVM_CREATE_VCPU, 0), EEXIST);
  TEST_ASSERT_ERRNO(ccm_ioctl(vm.vm(), KVM_CREATE_VCPU, 4096), EINVAL);
  TEST_ASSERT_ERRNO(ccm_ioctl(fd, KVM_RUN, 0), EINVAL);  // no guest attached
  TEST_ASSERT_ERRNO(ccm_ioctl(fd, _IO(KVMIO, 0x7f), 0), EINVAL);
  ccm_close(fd);
  const size_t v = vm.AddVcpu(1, GuestHalts, nullptr);
  vm.run(v)->immediate_exit = 1;
  auto r = vm.Run(v);
  EXPECT_EQ(r.rc, -1);
  EXPECT_EQ(r.error, EINTR);
  vm.run(v)->immediate_exit = 0;
  r = vm.Run(v);
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.exit_reason, KVM_EXIT_HLT);
  ccm_vcpu_guest g{GuestHalts, nullptr};
  TEST_ASSERT_ERRNO(ccm_ioctl(vm.vcpu_fd(v), CCM_VCPU_SET_GUEST, &g), EBUSY);  // started
  pid_t pid = fork();
  if (pid == 0) _exit(ccm_ioctl(vm.vcpu_fd(v), KVM_RUN, 0) == -1 && errno == EIO ? 0 : 1);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

void GuestNeverReturns(ccm_guest* g, void* p) {
  for (;;) ccm_guest_read64(g, *static_cast<uint64_t*>(p));  // parks on the MMIO exit
}

TEST(KvmRun, ClosingAVmWithAParkedGuestTearsItDown) {
  REQUIRE_GUEST_CODE();
  uint64_t gpa = kGpa;
  {
    TestVm vm(KVM_X86_DEFAULT_VM);
    const size_t v = vm.AddVcpu(0, GuestNeverReturns, &gpa);
    auto r = vm.Run(v);
    EXPECT_EQ(r.exit_reason, KVM_EXIT_MMIO);
  }  // all fds closed with the guest parked: must not hang or leak the thread
  SUCCEED();
}

void GuestTouches(ccm_guest* g, void* p) {
  ccm_guest_sync(g, ccm_guest_read64(g, *static_cast<uint64_t*>(p)));
}

TEST(PreFaultMemory, MapsAheadAndReportsProgress) {
  REQUIRE_GUEST_CODE();
  TestVm vm(KVM_X86_SW_PROTECTED_VM);
  OPEN_KVM_OR_SKIP(kvm);
  EXPECT_EQ(kvm_util::CheckCap(kvm, KVM_CAP_PRE_FAULT_MEMORY), 1);
  ccm_close(kvm);
  const int gmem = vm.CreateGmem(k2M, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
  ASSERT_EQ(vm.AddSlot(0, kGpa, k2M, gmem, 0), 0);
  uint64_t gpa = kGpa;
  const size_t v = vm.AddVcpu(0, GuestTouches, &gpa);
  kvm_pre_fault_memory range{};
  range.gpa = kGpa;
  range.size = 16 * kPs;
  ASSERT_EQ(ccm_ioctl(vm.vcpu_fd(v), KVM_PRE_FAULT_MEMORY, &range), 0) << std::strerror(errno);
  EXPECT_EQ(range.gpa, kGpa + 16 * kPs);
  EXPECT_EQ(range.size, 0u);
  // Partly past the slot: progress up to its end, then success (some pages were mapped).
  range.gpa = kGpa + k2M - kPs;
  range.size = 2 * kPs;
  ASSERT_EQ(ccm_ioctl(vm.vcpu_fd(v), KVM_PRE_FAULT_MEMORY, &range), 0);
  EXPECT_EQ(range.gpa, kGpa + k2M);
  EXPECT_EQ(range.size, kPs);
  // Nothing mappable at all: ENOENT.
  TEST_ASSERT_ERRNO(ccm_ioctl(vm.vcpu_fd(v), KVM_PRE_FAULT_MEMORY, &range), ENOENT);
  range.gpa = kGpa + 1;
  TEST_ASSERT_ERRNO(ccm_ioctl(vm.vcpu_fd(v), KVM_PRE_FAULT_MEMORY, &range), EINVAL);
  range.gpa = kGpa;
  range.flags = 1;
  TEST_ASSERT_ERRNO(ccm_ioctl(vm.vcpu_fd(v), KVM_PRE_FAULT_MEMORY, &range), EINVAL);
  auto r = vm.Run(v);
  EXPECT_EQ(r.exit_reason, KVM_EXIT_IO);
}

}  // namespace
