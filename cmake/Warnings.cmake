# Warnings for cocomem's own targets. Thread-safety analysis needs clang.
add_library(cocomem_warnings INTERFACE)
target_compile_options(cocomem_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  $<$<CXX_COMPILER_ID:Clang>:-Wthread-safety -Wthread-safety-beta -Wno-gnu-zero-variadic-macro-arguments>)
if(COCOMEM_WERROR)
  target_compile_options(cocomem_warnings INTERFACE -Werror)
endif()
