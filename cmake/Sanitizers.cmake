# COCOMEM_SANITIZE applies to everything built in this tree (library, tests, tools), so
# every translation unit agrees on the runtime.
if(COCOMEM_SANITIZE)
  set(COCOMEM_SANITIZER_FLAGS -fsanitize=${COCOMEM_SANITIZE} -fno-omit-frame-pointer)
  if(COCOMEM_SANITIZE MATCHES "undefined")
    # vptr and function checks need the C++ half of the UBSan runtime, which a plain C program linking
    # libcocomem does not pull in (see tests/install); nothing here relies on RTTI.
    list(APPEND COCOMEM_SANITIZER_FLAGS -fno-sanitize=vptr,function -fno-sanitize-recover=all)
  endif()
  add_compile_options(${COCOMEM_SANITIZER_FLAGS})
  add_link_options(${COCOMEM_SANITIZER_FLAGS})
endif()
