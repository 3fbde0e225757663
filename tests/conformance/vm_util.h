// A small kvm_util for tests that run guest code: a VM, guest_memfd memslots and vCPUs
// whose guests are C functions (cocomem's CCM_VCPU_SET_GUEST). Guest code needs the
// emulator; on the host backend these tests skip.
#pragma once

#include <cocomem/guest.h>
#include <cocomem/kvm.h>
#include <cocomem/sys.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "conformance/kvm_util.h"

namespace vm_util {

#define REQUIRE_GUEST_CODE()                                                          \
  do {                                                                                \
    if (kvm_util::OnHost())                                                           \
      GTEST_SKIP() << "running guest code (CCM_VCPU_SET_GUEST) needs the emulator; " \
                      "the host kernel runs real vCPUs only";                         \
  } while (0)

struct RunResult {
  int rc;
  int error;
  uint32_t exit_reason;
};

class TestVm {
 public:
  TestVm(unsigned long type, const char* in_place = "1") {
    ccm_set_param("gmem_in_place_conversion", in_place);
    kvm_ = ccm_open("/dev/kvm", O_RDWR | O_CLOEXEC);
    vm_ = ccm_ioctl(kvm_, KVM_CREATE_VM, type);
    ccm_set_param("gmem_in_place_conversion", "1");
    run_size_ = static_cast<size_t>(ccm_ioctl(kvm_, KVM_GET_VCPU_MMAP_SIZE, 0));
  }
  ~TestVm() {
    for (auto& v : vcpus_) {
      ccm_munmap(v.run, run_size_);
      ccm_close(v.fd);
    }
    for (int fd : gmems_) {
      if (fd >= 0) ccm_close(fd);
    }
    ccm_close(vm_);
    ccm_close(kvm_);
  }
  int vm() const { return vm_; }

  int CreateGmem(uint64_t size, uint64_t flags, uint8_t order = 0) {
    kvm_create_guest_memfd g{};
    g.size = size;
    g.flags = flags;
    g.page_order = order;
    const int fd = ccm_ioctl(vm_, KVM_CREATE_GUEST_MEMFD, &g);
    gmems_.push_back(fd);
    return fd;
  }
  void CloseGmem(int fd) {
    for (int& g : gmems_) {
      if (g == fd) g = -1;
    }
    ccm_close(fd);
  }
  int AddSlot(uint32_t slot, uint64_t gpa, uint64_t size, int gmem, uint64_t offset,
              uint64_t uaddr = 0) {
    kvm_userspace_memory_region2 r{};
    r.slot = slot;
    r.flags = gmem >= 0 ? KVM_MEM_GUEST_MEMFD : 0;
    r.guest_phys_addr = gpa;
    r.memory_size = size;
    r.userspace_addr = uaddr;
    r.guest_memfd = static_cast<uint32_t>(gmem);
    r.guest_memfd_offset = offset;
    return ccm_ioctl(vm_, KVM_SET_USER_MEMORY_REGION2, &r);
  }
  int EnableMapGpaExits() {
    kvm_enable_cap cap{};
    cap.cap = KVM_CAP_EXIT_HYPERCALL;
    cap.args[0] = 1ull << KVM_HC_MAP_GPA_RANGE;
    return ccm_ioctl(vm_, KVM_ENABLE_CAP, &cap);
  }
  // Adds vCPU `id` running fn(g, arg); its index in vcpus().
  size_t AddVcpu(uint32_t id, void (*fn)(ccm_guest*, void*), void* arg) {
    Vcpu v;
    v.fd = ccm_ioctl(vm_, KVM_CREATE_VCPU, id);
    v.run = static_cast<kvm_run*>(ccm_mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, v.fd, 0));
    ccm_vcpu_guest g{fn, arg};
    EXPECT_EQ(ccm_ioctl(v.fd, CCM_VCPU_SET_GUEST, &g), 0) << std::strerror(errno);
    vcpus_.push_back(v);
    return vcpus_.size() - 1;
  }
  kvm_run* run(size_t i) const { return vcpus_[i].run; }
  int vcpu_fd(size_t i) const { return vcpus_[i].fd; }
  RunResult Run(size_t i) {
    errno = 0;
    const int rc = ccm_ioctl(vcpus_[i].fd, KVM_RUN, 0);
    return RunResult{rc, rc < 0 ? errno : 0, vcpus_[i].run->exit_reason};
  }
  // The value of a ccm_guest_sync exit.
  static uint64_t SyncValue(const kvm_run* run) {
    uint64_t v;
    std::memcpy(&v, reinterpret_cast<const char*>(run) + run->io.data_offset, sizeof v);
    return v;
  }
  int SetGmemAttributes(int gmem, uint64_t offset, uint64_t size, bool to_private) {
    kvm_memory_attributes2 a{};
    a.offset = offset;
    a.size = size;
    a.attributes = to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
    return ccm_ioctl(gmem, KVM_SET_MEMORY_ATTRIBUTES2, &a);
  }
  int SetVmAttributes(uint64_t gpa, uint64_t size, bool to_private) {
    kvm_memory_attributes a{};
    a.address = gpa;
    a.size = size;
    a.attributes = to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
    return ccm_ioctl(vm_, KVM_SET_MEMORY_ATTRIBUTES, &a);
  }

 private:
  struct Vcpu {
    int fd;
    kvm_run* run;
  };
  int kvm_ = -1, vm_ = -1;
  size_t run_size_ = 0;
  std::vector<int> gmems_;
  std::vector<Vcpu> vcpus_;
};

}  // namespace vm_util
