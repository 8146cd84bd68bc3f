// Market packs: what Qraft knows about a market (time zone, sessions, asset class, and the
// trading rules the fast engine applies: lot size and daily price limit).
//
// Packs are YAML files under markets/ in the source tree, compiled into the binary so a bare
// `qraft` needs no data files; `--market-file` loads one from elsewhere. Dated rule schedules,
// per-board limits and cost models will join the same files (issue 5).
#pragma once

#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "qraft/core/calendar.h"
#include "qraft/core/status.h"

namespace qraft::data {

struct MarketSpec {
  std::string name;
  std::string description;
  std::string asset_class;
  std::string timezone = "UTC";
  std::vector<Session> sessions;  // empty: the whole day
  /// `trading:` section. Shares per lot (orders are whole lots); NaN = fractional quantities.
  double lot_size = std::numeric_limits<double>::quiet_NaN();
  /// Daily price limit as a fraction of the previous close (0.1 = ±10%); NaN = none.
  double price_limit = std::numeric_limits<double>::quiet_NaN();
  /// Found in a pack (false: an ad-hoc market name with UTC defaults).
  bool from_pack = false;
};

/// Parses a pack. `source` names it in errors (file:line:column).
Result<MarketSpec> ParseMarketYaml(std::string_view text, std::string_view source);
Result<MarketSpec> LoadMarketFile(const std::filesystem::path& path);

/// The built-in pack named `name`, or an ad-hoc spec (UTC, whole-day sessions) for other names.
MarketSpec FindMarket(std::string_view name);

/// Names of the built-in packs, sorted.
std::vector<std::string> BuiltinMarkets();

}  // namespace qraft::data
