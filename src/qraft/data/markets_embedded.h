// The built-in market packs (generated from markets/*.yaml at build time).
#pragma once

#include <span>
#include <string_view>

namespace qraft::data {

struct EmbeddedMarket {
  std::string_view name;
  std::string_view yaml;
};

std::span<const EmbeddedMarket> EmbeddedMarkets();

}  // namespace qraft::data
