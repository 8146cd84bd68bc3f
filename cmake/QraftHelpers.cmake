# Helpers so that adding a module, a test or a benchmark is a few lines.

# qraft_library(NAME SRCS ... DEPS ...)
#   A layer library `qraft_<NAME>`, alias `qraft::<NAME>`. Sources include headers as
#   "qraft/<layer>/<file>.h" from src/.
function(qraft_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(qraft_${name} STATIC ${ARG_SRCS})
  add_library(qraft::${name} ALIAS qraft_${name})
  target_include_directories(qraft_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_BINARY_DIR}/generated)
  target_link_libraries(qraft_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  set_target_properties(qraft_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()

# qraft_test(NAME SRCS ... DEPS ... [LABELS unit|integration])
#   One GoogleTest binary per test file group; registered with CTest under its labels.
#   Tests run from the source tree so that fixtures resolve as "testdata/..." and "../shared/data".
function(qraft_test name)
  if(NOT QRAFT_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}"
    ENVIRONMENT "QRAFT_SOURCE_DIR=${PROJECT_SOURCE_DIR};QRAFT_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()

# qraft_bench(NAME SRCS ... DEPS ...)
function(qraft_bench name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} benchmark::benchmark)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
endfunction()

# qraft_embed_files(OUT_VAR DIR <dir> HEADER <include> NAMESPACE <ns> FUNC <fn> TYPE <struct>)
#   Generates a .cc that carries every <dir>/*.yaml as a string constant (cmake/EmbedFiles.cmake),
#   regenerated when a file changes; sets OUT_VAR to its path for the library's SRCS.
function(qraft_embed_files out_var)
  cmake_parse_arguments(ARG "" "DIR;HEADER;NAMESPACE;FUNC;TYPE" "" ${ARGN})
  file(GLOB _files CONFIGURE_DEPENDS ${ARG_DIR}/*.yaml)
  set(_out ${PROJECT_BINARY_DIR}/generated/${ARG_FUNC}.cc)
  add_custom_command(
    OUTPUT ${_out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/generated
    COMMAND ${CMAKE_COMMAND} "-DGLOB=${ARG_DIR}/*.yaml" -DOUT=${_out} -DHEADER=${ARG_HEADER}
            -DNAMESPACE=${ARG_NAMESPACE} -DFUNC=${ARG_FUNC} -DTYPE=${ARG_TYPE}
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedFiles.cmake
    DEPENDS ${_files} ${PROJECT_SOURCE_DIR}/cmake/EmbedFiles.cmake
    COMMENT "Embedding ${ARG_DIR}/*.yaml")
  set(${out_var} ${_out} PARENT_SCOPE)
endfunction()
