# Generates a .cc that embeds text files as string constants, so the binary carries them
# (market packs, built-in factor libraries). Run as a script:
#   cmake -DGLOB=<dir>/*.yaml -DOUT=<file.cc> -DHEADER=<include path> -DNAMESPACE=<ns>
#         -DFUNC=<function> -DTYPE=<struct with {name, text}> -P EmbedFiles.cmake
file(GLOB files "${GLOB}")
list(SORT files)
set(entries "")
foreach(p ${files})
  get_filename_component(name "${p}" NAME_WE)
  file(READ "${p}" text)
  string(APPEND entries "    {\"${name}\", R\"qraftfile(${text})qraftfile\"},\n")
endforeach()
file(WRITE "${OUT}.tmp"
"// Generated from ${GLOB} by cmake/EmbedFiles.cmake. Do not edit.
#include \"${HEADER}\"

namespace ${NAMESPACE} {
std::span<const ${TYPE}> ${FUNC}() {
  static const ${TYPE} kFiles[] = {
${entries}  };
  return kFiles;
}
}  // namespace ${NAMESPACE}
")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
