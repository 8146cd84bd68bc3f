// The code version every result records beside its data and DSL fingerprints.
#pragma once

#include <string_view>

namespace qraft {

/// "<project version>+g<12-digit commit>", with "-dirty" when the build's sources differed from
/// that commit, or "<project version>+unknown" outside a git checkout. Refreshed on every build
/// (cmake/Version.cmake), so a binary never reports a commit it was not built from.
std::string_view CodeVersion();

}  // namespace qraft
