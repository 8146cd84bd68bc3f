# Writes OUT (a .cc defining qraft::CodeVersion()) from `git` in SRC; run at every build and
# rewrites OUT only when the text changes, so an unchanged version recompiles nothing.
execute_process(COMMAND git -C ${SRC} rev-parse --short=12 HEAD OUTPUT_VARIABLE _commit
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _rc)
if(_rc EQUAL 0 AND _commit)
  execute_process(COMMAND git -C ${SRC} status --porcelain --untracked-files=no
                  OUTPUT_VARIABLE _dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  set(_version "${VERSION}+g${_commit}")
  if(_dirty)
    string(APPEND _version "-dirty")
  endif()
else()
  set(_version "${VERSION}+unknown")
endif()
set(_text "#include \"qraft/core/version.h\"\nnamespace qraft {\nstd::string_view CodeVersion() { return \"${_version}\"; }\n}  // namespace qraft\n")
if(EXISTS ${OUT})
  file(READ ${OUT} _old)
endif()
if(NOT "${_old}" STREQUAL "${_text}")
  file(WRITE ${OUT} "${_text}")
endif()
