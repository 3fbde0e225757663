# cmake --install: library (static + shared), public headers, the cocomem tool, a CMake
# package (find_package(cocomem) -> cocomem::cocomem, cocomem::cocomem_static) and cocomem.pc.
include(CMakePackageConfigHelpers)

install(TARGETS cocomem_static cocomem_shared EXPORT cocomemTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS cocomem RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/cocomem DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(EXPORT cocomemTargets NAMESPACE cocomem::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cocomem)
configure_package_config_file(cmake/cocomemConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/cocomemConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cocomem)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/cocomemConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/cocomemConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/cocomemConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cocomem)

# Relocatable: the prefix is found from where the .pc file lies (cmake --install --prefix).
file(RELATIVE_PATH COCOMEM_PC_TO_PREFIX "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
configure_file(cmake/cocomem.pc.in ${CMAKE_CURRENT_BINARY_DIR}/cocomem.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/cocomem.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
