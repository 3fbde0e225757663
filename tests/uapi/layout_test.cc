// <cocomem/kvm.h> against the kernel's uAPI: everything the build host's 6.1 <linux/kvm.h> also
// has is compared table-against-table; the newer interfaces against hard-coded kernel values.
#include <cocomem/kvm.h>

// Must be a no-op after <cocomem/kvm.h>; any redefinition would break this TU's build.
#include <linux/kvm.h>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <span>
#include <string>

#include "layout_table.h"

namespace {

std::span<const ccm_uapi_layout_entry> CocomemTable() {
  return {ccm_uapi_cocomem_layout, ccm_uapi_cocomem_layout_count};
}
std::span<const ccm_uapi_layout_entry> SystemTable() {
  return {ccm_uapi_system_layout, ccm_uapi_system_layout_count};
}

TEST(UapiLayout, TablesComeFromTheSameList) {
  const auto ours = CocomemTable();
  const auto system = SystemTable();
  ASSERT_EQ(ours.size(), system.size());
  // Sanity: the list really covers the interface rather than a handful of items.
  EXPECT_GT(ours.size(), 900u);
  std::set<std::string> names;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    ASSERT_STREQ(ours[i].name, system[i].name) << "entry " << i;
    EXPECT_TRUE(names.insert(ours[i].name).second) << "duplicate entry " << ours[i].name;
  }
}

TEST(UapiLayout, MatchesSystemHeaderForEverythingInCommon) {
  const auto ours = CocomemTable();
  const auto system = SystemTable();
  ASSERT_EQ(ours.size(), system.size());
  for (std::size_t i = 0; i < ours.size(); ++i) {
    EXPECT_EQ(ours[i].value, system[i].value) << ours[i].name;
  }
}

// Values below are the kernel's (include/uapi/linux/kvm.h, arch/x86/include/uapi/asm/kvm.h at
// ~v7.0, plus the CONV/hugetlb series cocomem follows), written out by hand on purpose: they are
// what a real VMM binary was compiled with.
#define EXPECT_SIZE(type, bytes) EXPECT_EQ(sizeof(struct type), std::size_t{bytes}) << #type
#define EXPECT_OFFSET(type, member, off) \
  EXPECT_EQ(offsetof(struct type, member), std::size_t{off}) << #type "." #member

TEST(UapiLayout, MemslotAndGuestMemfdStructs) {
  EXPECT_SIZE(kvm_userspace_memory_region2, 160);
  EXPECT_OFFSET(kvm_userspace_memory_region2, slot, 0);
  EXPECT_OFFSET(kvm_userspace_memory_region2, flags, 4);
  EXPECT_OFFSET(kvm_userspace_memory_region2, guest_phys_addr, 8);
  EXPECT_OFFSET(kvm_userspace_memory_region2, memory_size, 16);
  EXPECT_OFFSET(kvm_userspace_memory_region2, userspace_addr, 24);
  EXPECT_OFFSET(kvm_userspace_memory_region2, guest_memfd_offset, 32);
  EXPECT_OFFSET(kvm_userspace_memory_region2, guest_memfd, 40);
  EXPECT_OFFSET(kvm_userspace_memory_region2, pad1, 44);
  EXPECT_OFFSET(kvm_userspace_memory_region2, pad2, 48);

  EXPECT_SIZE(kvm_memory_attributes, 32);
  EXPECT_OFFSET(kvm_memory_attributes, address, 0);
  EXPECT_OFFSET(kvm_memory_attributes, size, 8);
  EXPECT_OFFSET(kvm_memory_attributes, attributes, 16);
  EXPECT_OFFSET(kvm_memory_attributes, flags, 24);

  EXPECT_SIZE(kvm_memory_attributes2, 128);
  EXPECT_OFFSET(kvm_memory_attributes2, address, 0);
  EXPECT_OFFSET(kvm_memory_attributes2, offset, 0);
  EXPECT_OFFSET(kvm_memory_attributes2, size, 8);
  EXPECT_OFFSET(kvm_memory_attributes2, attributes, 16);
  EXPECT_OFFSET(kvm_memory_attributes2, flags, 24);
  EXPECT_OFFSET(kvm_memory_attributes2, error_offset, 32);
  EXPECT_OFFSET(kvm_memory_attributes2, reserved, 40);
  EXPECT_EQ(sizeof(kvm_memory_attributes2::reserved), 88u);

  EXPECT_SIZE(kvm_create_guest_memfd, 64);
  EXPECT_OFFSET(kvm_create_guest_memfd, size, 0);
  EXPECT_OFFSET(kvm_create_guest_memfd, flags, 8);
  EXPECT_OFFSET(kvm_create_guest_memfd, page_order, 16);
  EXPECT_OFFSET(kvm_create_guest_memfd, reserve8, 17);
  EXPECT_OFFSET(kvm_create_guest_memfd, reserve16, 18);
  EXPECT_OFFSET(kvm_create_guest_memfd, reserve32, 20);
  EXPECT_OFFSET(kvm_create_guest_memfd, reserved, 24);

  EXPECT_SIZE(kvm_pre_fault_memory, 64);
  EXPECT_OFFSET(kvm_pre_fault_memory, gpa, 0);
  EXPECT_OFFSET(kvm_pre_fault_memory, size, 8);
  EXPECT_OFFSET(kvm_pre_fault_memory, flags, 16);
  EXPECT_OFFSET(kvm_pre_fault_memory, padding, 24);
}

TEST(UapiLayout, KvmRunNewerMembers) {
  EXPECT_SIZE(kvm_run, 2352);
  EXPECT_SIZE(kvm_sync_regs, 520);
  EXPECT_SIZE(kvm_vcpu_events, 64);
  // hypercall: longmode (old spelling) overlays the low half of flags.
  EXPECT_OFFSET(kvm_run, hypercall.flags, 96);
  EXPECT_OFFSET(kvm_run, hypercall.longmode, 96);
  EXPECT_OFFSET(kvm_run, iocsr_io.phys_addr, 32);
  EXPECT_OFFSET(kvm_run, iocsr_io.is_write, 52);
  EXPECT_OFFSET(kvm_run, memory_fault.flags, 32);
  EXPECT_OFFSET(kvm_run, memory_fault.gpa, 40);
  EXPECT_OFFSET(kvm_run, memory_fault.size, 48);
  EXPECT_OFFSET(kvm_run, tdx.flags, 32);
  EXPECT_OFFSET(kvm_run, tdx.nr, 40);
  EXPECT_OFFSET(kvm_run, tdx.unknown.ret, 48);
  EXPECT_OFFSET(kvm_run, tdx.unknown.data, 56);
  EXPECT_OFFSET(kvm_run, tdx.get_quote.gpa, 56);
  EXPECT_OFFSET(kvm_run, tdx.get_quote.size, 64);
  EXPECT_OFFSET(kvm_run, tdx.get_tdvmcall_info.leaf, 56);
  EXPECT_OFFSET(kvm_run, tdx.get_tdvmcall_info.r14, 88);
  EXPECT_OFFSET(kvm_run, tdx.setup_event_notify.vector, 56);
  EXPECT_OFFSET(kvm_run, arm_sea.gpa, 56);
  EXPECT_OFFSET(kvm_run, snp_req_certs.ret, 48);
  EXPECT_SIZE(kvm_exit_snp_req_certs, 24);
}

TEST(UapiLayout, TdxStructs) {
  EXPECT_EQ(KVM_TDX_CAPABILITIES, 0);
  EXPECT_EQ(KVM_TDX_INIT_VM, 1);
  EXPECT_EQ(KVM_TDX_INIT_VCPU, 2);
  EXPECT_EQ(KVM_TDX_INIT_MEM_REGION, 3);
  EXPECT_EQ(KVM_TDX_FINALIZE_VM, 4);
  EXPECT_EQ(KVM_TDX_GET_CPUID, 5);
  EXPECT_EQ(KVM_TDX_CMD_NR_MAX, 6);
  EXPECT_EQ(KVM_TDX_MEASURE_MEMORY_REGION, 1u);

  EXPECT_SIZE(kvm_tdx_cmd, 24);
  EXPECT_OFFSET(kvm_tdx_cmd, id, 0);
  EXPECT_OFFSET(kvm_tdx_cmd, flags, 4);
  EXPECT_OFFSET(kvm_tdx_cmd, data, 8);
  EXPECT_OFFSET(kvm_tdx_cmd, hw_error, 16);

  EXPECT_SIZE(kvm_tdx_capabilities, 2056);
  EXPECT_OFFSET(kvm_tdx_capabilities, supported_xfam, 8);
  EXPECT_OFFSET(kvm_tdx_capabilities, user_tdvmcallinfo_1_r12, 40);
  EXPECT_OFFSET(kvm_tdx_capabilities, reserved, 48);
  EXPECT_OFFSET(kvm_tdx_capabilities, cpuid, 2048);
  EXPECT_OFFSET(kvm_tdx_capabilities, cpuid.entries, 2056);

  EXPECT_SIZE(kvm_tdx_init_vm, 264);
  EXPECT_OFFSET(kvm_tdx_init_vm, xfam, 8);
  EXPECT_OFFSET(kvm_tdx_init_vm, mrconfigid, 16);
  EXPECT_OFFSET(kvm_tdx_init_vm, mrowner, 64);
  EXPECT_OFFSET(kvm_tdx_init_vm, mrownerconfig, 112);
  EXPECT_OFFSET(kvm_tdx_init_vm, reserved, 160);
  EXPECT_OFFSET(kvm_tdx_init_vm, cpuid, 256);

  EXPECT_SIZE(kvm_tdx_init_mem_region, 24);
  EXPECT_OFFSET(kvm_tdx_init_mem_region, source_addr, 0);
  EXPECT_OFFSET(kvm_tdx_init_mem_region, gpa, 8);
  EXPECT_OFFSET(kvm_tdx_init_mem_region, nr_pages, 16);
}

TEST(UapiLayout, NewerIoctlNumbers) {
  // The reference table (guest_memfd.md §1.1).
  EXPECT_EQ(KVM_CHECK_EXTENSION, 0xAE03u);
  EXPECT_EQ(KVM_SET_USER_MEMORY_REGION, 0x4020AE46u);
  EXPECT_EQ(KVM_SET_USER_MEMORY_REGION2, 0x40A0AE49u);
  EXPECT_EQ(KVM_SET_MEMORY_ATTRIBUTES, 0x4020AED2u);
  EXPECT_EQ(KVM_SET_MEMORY_ATTRIBUTES2, 0xC080AED2u);
  EXPECT_EQ(KVM_CREATE_GUEST_MEMFD, 0xC040AED4u);
  EXPECT_EQ(KVM_PRE_FAULT_MEMORY, 0xC040AED5u);
  // Same nr, different direction/size: must stay distinct.
  EXPECT_NE(KVM_SET_MEMORY_ATTRIBUTES, KVM_SET_MEMORY_ATTRIBUTES2);
  EXPECT_EQ(KVM_MEMORY_ENCRYPT_OP, 0xC008AEBAu);
  EXPECT_EQ(CCM_VCPU_SET_GUEST, 0x4010AEF0u);
}

TEST(UapiLayout, NewerConstants) {
  EXPECT_EQ(KVM_EXIT_LOONGARCH_IOCSR, 38);
  EXPECT_EQ(KVM_EXIT_MEMORY_FAULT, 39);
  EXPECT_EQ(KVM_EXIT_TDX, 40);
  EXPECT_EQ(KVM_EXIT_ARM_SEA, 41);
  EXPECT_EQ(KVM_EXIT_ARM_LDST64B, 42);
  EXPECT_EQ(KVM_EXIT_SNP_REQ_CERTS, 43);
  EXPECT_EQ(KVM_SYSTEM_EVENT_TDX_FATAL, 7);
  EXPECT_EQ(KVM_MEMORY_EXIT_FLAG_PRIVATE, 1ULL << 3);
  EXPECT_EQ(KVM_EXIT_HYPERCALL_LONG_MODE, 1ULL << 0);

  EXPECT_EQ(KVM_MEM_GUEST_MEMFD, 1UL << 2);
  EXPECT_EQ(KVM_MEMORY_ATTRIBUTE_PRIVATE, 1ULL << 3);
  EXPECT_EQ(GUEST_MEMFD_FLAG_MMAP, 1ULL << 0);
  EXPECT_EQ(GUEST_MEMFD_FLAG_INIT_SHARED, 1ULL << 1);
  EXPECT_EQ(GUEST_MEMFD_FLAG_NO_DIRECT_MAP, 1ULL << 2);
  EXPECT_EQ(GUEST_MEMFD_FLAG_HUGETLB, 1ULL << 3);

  EXPECT_EQ(KVM_X86_DEFAULT_VM, 0);
  EXPECT_EQ(KVM_X86_SW_PROTECTED_VM, 1);
  EXPECT_EQ(KVM_X86_SEV_VM, 2);
  EXPECT_EQ(KVM_X86_SEV_ES_VM, 3);
  EXPECT_EQ(KVM_X86_SNP_VM, 4);
  EXPECT_EQ(KVM_X86_TDX_VM, 5);
  EXPECT_EQ(KVM_RUN_X86_GUEST_MODE, 1 << 2);
  EXPECT_EQ(KVM_REG_SIZE(KVM_REG_SIZE_U64), 8u);

  EXPECT_EQ(KVM_CAP_S390_PROTECTED_ASYNC_DISABLE, 224);
  EXPECT_EQ(KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP, 225);
  EXPECT_EQ(KVM_CAP_PMU_EVENT_MASKED_EVENTS, 226);
  EXPECT_EQ(KVM_CAP_COUNTER_OFFSET, 227);
  EXPECT_EQ(KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE, 228);
  EXPECT_EQ(KVM_CAP_ARM_SUPPORTED_BLOCK_SIZES, 229);
  EXPECT_EQ(KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES, 230);
  EXPECT_EQ(KVM_CAP_USER_MEMORY2, 231);
  EXPECT_EQ(KVM_CAP_MEMORY_FAULT_INFO, 232);
  EXPECT_EQ(KVM_CAP_MEMORY_ATTRIBUTES, 233);
  EXPECT_EQ(KVM_CAP_GUEST_MEMFD, 234);
  EXPECT_EQ(KVM_CAP_VM_TYPES, 235);
  EXPECT_EQ(KVM_CAP_PRE_FAULT_MEMORY, 236);
  EXPECT_EQ(KVM_CAP_X86_APIC_BUS_CYCLES_NS, 237);
  EXPECT_EQ(KVM_CAP_X86_GUEST_MODE, 238);
  EXPECT_EQ(KVM_CAP_ARM_WRITABLE_IMP_ID_REGS, 239);
  EXPECT_EQ(KVM_CAP_ARM_EL2, 240);
  EXPECT_EQ(KVM_CAP_ARM_EL2_E2H0, 241);
  EXPECT_EQ(KVM_CAP_RISCV_MP_STATE_RESET, 242);
  EXPECT_EQ(KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED, 243);
  EXPECT_EQ(KVM_CAP_GUEST_MEMFD_FLAGS, 244);
  EXPECT_EQ(KVM_CAP_ARM_SEA_TO_USER, 245);
  EXPECT_EQ(KVM_CAP_S390_USER_OPEREXEC, 246);
  EXPECT_EQ(KVM_CAP_S390_KEYOP, 247);
  EXPECT_EQ(KVM_CAP_S390_VSIE_ESAMODE, 248);
  EXPECT_EQ(KVM_CAP_S390_HPAGE_2G, 249);
  EXPECT_EQ(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES, 250);

  EXPECT_EQ(KVM_HC_MAP_GPA_RANGE, 12);
  EXPECT_EQ(KVM_MAP_GPA_RANGE_PAGE_SZ_4K, 0);
  EXPECT_EQ(KVM_MAP_GPA_RANGE_PAGE_SZ_2M, 1);
  EXPECT_EQ(KVM_MAP_GPA_RANGE_PAGE_SZ_1G, 2);
  EXPECT_EQ(KVM_MAP_GPA_RANGE_ENCRYPTED, 1 << 4);
  EXPECT_EQ(KVM_MAP_GPA_RANGE_DECRYPTED, 0);

  EXPECT_EQ(CCM_SYNC_PORT, 0x1000);
  EXPECT_SIZE(ccm_vcpu_guest, 16);
}

}  // namespace
