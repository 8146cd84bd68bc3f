// The built-in factor libraries (generated from factors/*.yaml at build time).
#pragma once

#include <span>
#include <string_view>

namespace qraft::factor {

struct EmbeddedLibrary {
  std::string_view name;
  std::string_view yaml;
};

std::span<const EmbeddedLibrary> EmbeddedLibraries();

}  // namespace qraft::factor
