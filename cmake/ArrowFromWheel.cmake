# Apache Arrow / Parquet C++ from the pyarrow wheel in the project's .venv.
#
# Debian 12 does not package Arrow C++. pyarrow (>= 13) publishes manylinux_2_28 wheels built with
# the C++11 ABI, whose libarrow/libparquet and headers link with Debian's g++. scripts/setup.sh
# installs the pinned wheel and creates the unversioned libarrow.so/libparquet.so symlinks.
# Only the I/O part of the data layer links these targets.

set(QRAFT_PYTHON "${PROJECT_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH
    "Python interpreter whose pyarrow provides Arrow C++")
if(NOT EXISTS "${QRAFT_PYTHON}")
  message(FATAL_ERROR "No ${QRAFT_PYTHON}: run `make setup` (scripts/setup.sh) first")
endif()
execute_process(
  COMMAND "${QRAFT_PYTHON}" -c
          "import pyarrow as pa; print(pa.get_include()); print(pa.get_library_dirs()[0]); print(pa.__version__)"
  OUTPUT_VARIABLE _pa_out RESULT_VARIABLE _pa_rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _pa_rc EQUAL 0)
  message(FATAL_ERROR "pyarrow is not importable from ${QRAFT_PYTHON}: run `make setup`")
endif()
string(REPLACE "\n" ";" _pa_lines "${_pa_out}")
list(GET _pa_lines 0 ARROW_INCLUDE_DIR)
list(GET _pa_lines 1 ARROW_LIB_DIR)
list(GET _pa_lines 2 ARROW_VERSION)
message(STATUS "Arrow C++ ${ARROW_VERSION} from the pyarrow wheel: ${ARROW_LIB_DIR}")

foreach(_lib arrow parquet)
  find_library(_path_${_lib} NAMES ${_lib} PATHS "${ARROW_LIB_DIR}" NO_DEFAULT_PATH REQUIRED)
  add_library(Arrow::${_lib} SHARED IMPORTED)
  # SYSTEM: Arrow's headers are not ours to keep warning-free.
  set_target_properties(Arrow::${_lib} PROPERTIES
    IMPORTED_LOCATION "${_path_${_lib}}"
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${ARROW_INCLUDE_DIR}"
    INTERFACE_INCLUDE_DIRECTORIES "${ARROW_INCLUDE_DIR}")
endforeach()
set_target_properties(Arrow::parquet PROPERTIES INTERFACE_LINK_LIBRARIES Arrow::arrow)
# Binaries find the wheel's libraries where setup put them.
list(APPEND CMAKE_BUILD_RPATH "${ARROW_LIB_DIR}")
