// Market packs: what Qraft knows about a market (time zone, sessions, asset class), the trading
// rules the engines apply (lots, ticks, size increments, T+1, daily price limits per board, ST
// limits and no-limit days after a listing, contract multiplier, margin, funding interval), and
// its cost model (commission with a per-order minimum and cap, maker/taker rates, stamp duty,
// transfer, exchange and sell-side fees). docs/markets.md describes every field.
//
// Packs are YAML files under markets/ in the source tree, compiled into the binary so a bare
// `qraft` needs no data files; `--market-file` loads one from elsewhere. Rules that changed on
// known dates (price limits, stamp duty, ...) are dated schedules: `0.1` always, or
// `{1996-12-16: 0.1, 2020-08-24: 0.2}` from each date on. A pack is a market's default: real
// ticks, multipliers and margins are per instrument, and commissions per broker. The MarketSpec
// mirrors the YAML (rates in basis points, as written); precise::FeesFromPack turns the costs
// into fractions.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
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
  /// The limit of its ST / *ST symbols, when it has its own (non-empty: replaces the market's
  /// st_price_limit; NaN on a date: no ST-specific limit, price_limit applies).
  Schedule st_price_limit;
  /// Trading days after a listing without a price limit, when it has its own (non-empty:
  /// replaces the market's; 5 = the listing day and the four after it).
  Schedule no_limit_days_after_listing;
};

/// `costs:` section. Rates are in basis points of the traded value, money in the account
/// currency, as written in the pack; unset optional rates are NaN. A fill's fees are the
/// broker commission, clamp(commission_bps x value + per share / per contract x quantity,
/// min_commission, max_commission_bps x value) per order, plus levies proportional to the value
/// of each fill (precise/fees.h has the exact rules).
struct PackCosts {
  double commission_bps = 0;           ///< per side, on value
  double commission_per_share = 0;     ///< money per share (a unit of quantity), per side
  double commission_per_contract = 0;  ///< money per contract (a unit of quantity), per side
  double min_commission = 0;           ///< money per order (0 = none)
  double max_commission_bps = std::numeric_limits<double>::quiet_NaN();  ///< cap; NaN = none
  /// Maker / taker commission by the fill's liquidity (both or neither; negative = a rebate).
  /// When set they replace commission_bps.
  double maker_bps = std::numeric_limits<double>::quiet_NaN();
  double taker_bps = std::numeric_limits<double>::quiet_NaN();
  Schedule stamp_duty_bps;      ///< sells only
  Schedule buy_stamp_duty_bps;  ///< buys only (A-shares before 2008-09-19)
  Schedule transfer_fee_bps;    ///< both sides (ChinaClear transfer fee)
  Schedule exchange_fee_bps;    ///< both sides (exchange handling fees not in the commission)
  Schedule sell_fee_bps;        ///< sells only (US SEC Section 31 fee)
  /// Default full bid-ask spread (half paid per side), for the DSL's costs.spread_bps to
  /// override; NaN = none.
  double spread_bps = std::numeric_limits<double>::quiet_NaN();
};

/// Whether a pack's cost model charges anything: a commission term or a levy with a non-zero
/// rate on some date.
bool ChargesFees(const PackCosts& costs);

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
  /// Daily limit of ST / *ST symbols of no board, or of a board without its own; empty = none
  /// (the normal limit applies).
  Schedule st_price_limit;
  /// Trading days after a listing without a price limit for symbols of no board, or of a board
  /// without its own; empty = none.
  Schedule no_limit_days_after_listing;
  /// Price increment (0.01 = one fen / cent); NaN = continuous prices.
  double tick_size = std::numeric_limits<double>::quiet_NaN();
  /// Quantity increment (1 share; 0.00001 BTC); NaN = continuous quantities. Orders are whole
  /// lots of lot_size when that is set.
  double size_increment = std::numeric_limits<double>::quiet_NaN();
  /// Trading days before a purchase may be sold: 1 = T+1 (A-shares), 0 = the same day.
  int sell_after_days = 0;
  /// Money per unit of price x quantity (a futures contract's multiplier).
  double multiplier = 1.0;
  /// Initial margin as a fraction of the notional (futures, perpetuals); NaN = a cash account.
  double margin = std::numeric_limits<double>::quiet_NaN();
  /// Hours between funding settlements (perpetuals; the rates come from the data); NaN = none.
  double funding_interval_hours = std::numeric_limits<double>::quiet_NaN();
  /// `costs:` section.
  PackCosts costs;
  /// Found in a pack (false: an ad-hoc market name with UTC defaults).
  bool from_pack = false;
};

/// The digits that identify `symbol` on its exchange: its first run of digits ("SH600000" and
/// "600000.SH" give "600000"); empty when it has none ("AAPL").
std::string_view SymbolCode(std::string_view symbol);

/// The board of `symbol` (the first whose code prefix matches its 6-digit code), or null.
const Board* BoardOf(const MarketSpec& market, std::string_view symbol);

/// The price-limit schedule of `symbol`: its board's, else the market's default one.
const Schedule& PriceLimitSchedule(const MarketSpec& market, std::string_view symbol);

/// The daily price limit of `symbol` on the bar at `t`, a fraction of the previous close, or
/// NaN for none: NaN when `trading_days_since_listing` (0 = the listing day) is below the
/// no-limit days after a listing in force at `t` (board's, else market's; a negative count =
/// unknown: no exemption); else the ST limit when `is_st` and one is in force at `t` (board's,
/// else market's); else the normal limit (PriceLimitSchedule).
double PriceLimitOn(const MarketSpec& market, std::string_view symbol, Timestamp t, bool is_st,
                    std::int64_t trading_days_since_listing);

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
