# KVM's TDX glue (src/kvm/tdx).
set(COCOMEM_KVM_TDX_SOURCES
  kvm/tdx/init_mem_region.cc
  kvm/tdx/seamcall.cc
  kvm/tdx/sept_hooks.cc
  kvm/tdx/tdx_host.cc
  kvm/tdx/tdx_vm.cc
)
