# The TDX module emulator (src/tdx/module): one file per SEAMCALL/TDCALL leaf.
set(COCOMEM_TDX_MODULE_SOURCES
)
