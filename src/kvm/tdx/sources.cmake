# KVM's TDX glue (src/kvm/tdx).
set(COCOMEM_KVM_TDX_SOURCES
)
