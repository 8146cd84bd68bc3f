// Market packs: what Qraft knows about a market (time zone, sessions, asset class, and the
// trading rules the fast engine applies: lot size and daily price limits, per board and dated).
//
// Packs are YAML files under markets/ in the source tree, compiled into the binary so a bare
// `qraft` needs no data files; `--market-file` loads one from elsewhere. Cost models and the
// remaining dated rules (stamp duty, ST limits, no-limit days after listing) will join the same
// files (issue 5).
#pragma once

#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "qraft/core/calendar.h"
#include "qraft/core/status.h"

namespace qraft::data {

/// One value of a rule that changed on known dates: it applies from `from` (the UTC midnight
/// of the exchange date it took effect; kNoTimestamp: always) until the next entry's date.
struct DatedValue {
  Timestamp from = 0;
  double value = 0.0;
  bool operator==(const DatedValue&) const = default;
};
/// Entries in ascending date order; empty = the rule does not exist.
using Schedule = std::vector<DatedValue>;

/// The value of `schedule` on the bar at `t` (compared with its UTC time: an A-share or US
/// session falls on the same UTC date as its exchange date); NaN before its first entry.
double ValueOn(const Schedule& schedule, Timestamp t);

/// A board of a market: the symbols whose exchange code (SymbolCode) has six digits and starts
/// with one of `codes` (the A-share form; other symbols belong to no board).
struct Board {
  std::string name;
  std::vector<std::string> codes;
  Schedule price_limit;  ///< its daily limit, a fraction of the previous close
};

struct MarketSpec {
  std::string name;
  std::string description;
  std::string asset_class;
  std::string timezone = "UTC";
  std::vector<Session> sessions;  // empty: the whole day
  /// `trading:` section. Shares per lot (orders are whole lots); NaN = fractional quantities.
  double lot_size = std::numeric_limits<double>::quiet_NaN();
  /// Daily price limit as a fraction of the previous close (0.1 = ±10%) for symbols of no
  /// board; empty = none.
  Schedule price_limit;
  /// Boards with their own limits, tried in order.
  std::vector<Board> boards;
  /// Found in a pack (false: an ad-hoc market name with UTC defaults).
  bool from_pack = false;
};

/// The digits that identify `symbol` on its exchange: its first run of digits ("SH600000" and
/// "600000.SH" give "600000"); empty when it has none ("AAPL").
std::string_view SymbolCode(std::string_view symbol);

/// The price-limit schedule of `symbol`: its board's, else the market's default one.
const Schedule& PriceLimitSchedule(const MarketSpec& market, std::string_view symbol);

/// Whether any symbol of the market can have a price limit.
bool HasPriceLimits(const MarketSpec& market);

/// Parses a pack. `source` names it in errors (file:line:column).
Result<MarketSpec> ParseMarketYaml(std::string_view text, std::string_view source);
Result<MarketSpec> LoadMarketFile(const std::filesystem::path& path);

/// The built-in pack named `name`, or an ad-hoc spec (UTC, whole-day sessions) for other names.
MarketSpec FindMarket(std::string_view name);

/// Names of the built-in packs, sorted.
std::vector<std::string> BuiltinMarkets();

}  // namespace qraft::data
