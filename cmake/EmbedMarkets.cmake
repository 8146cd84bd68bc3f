# Generates markets_embedded.{h,cc}: the market packs under markets/ as string constants, so the
# binary carries them. Run as a script: cmake -DSRC_DIR=... -DOUT_DIR=... -P EmbedMarkets.cmake
file(GLOB packs "${SRC_DIR}/markets/*.yaml")
list(SORT packs)
set(entries "")
foreach(p ${packs})
  get_filename_component(name "${p}" NAME_WE)
  file(READ "${p}" text)
  string(APPEND entries "    {\"${name}\", R\"qraftpack(${text})qraftpack\"},\n")
endforeach()
file(WRITE "${OUT_DIR}/markets_embedded.cc.tmp"
"// Generated from markets/*.yaml by cmake/EmbedMarkets.cmake. Do not edit.
#include \"qraft/data/markets_embedded.h\"

namespace qraft::data {
std::span<const EmbeddedMarket> EmbeddedMarkets() {
  static const EmbeddedMarket kPacks[] = {
${entries}  };
  return kPacks;
}
}  // namespace qraft::data
")
file(COPY_FILE "${OUT_DIR}/markets_embedded.cc.tmp" "${OUT_DIR}/markets_embedded.cc" ONLY_IF_DIFFERENT)
