// Continuous futures series.
//
// Two inputs:
//   * held-contract data: one series per instrument with the contract held each day in a
//     `contract` field (pysystemtrade's PRICE_CONTRACT), optionally the next contract's price in
//     `carry` with its id in `carry_contract`; the roll is where `contract` changes;
//   * per-contract data: one symbol per contract ("ESZ2023", "CL202312", ...), a pattern giving
//     root and expiry; the roll rule picks the contract to hold (by volume, open interest, or a
//     fixed number of trading days before the expiry month).
// The output has one symbol per root with the held contract's prices, adjusted so the series is
// continuous at rolls:
//   back   (difference, "Panama"): earlier prices + the sum of later roll gaps;
//   ratio  earlier prices * the product of later roll ratios (keeps returns, not differences);
//   none   the raw held prices, with jumps at rolls.
// The gap at a roll is new - old on the same day when both prices are known (per-contract data, or
// a carry price of the new contract the day before), else the close-to-close jump across the roll
// (the roll day's own move is then lost, and the roll record says so).
// Every roll is recorded: date, from, to, gap, and how the gap was measured.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "qraft/core/panel.h"
#include "qraft/core/status.h"

namespace qraft::data {

enum class RollRule { kHeld, kVolume, kOpenInterest, kCalendar };
enum class RollAdjust { kBack, kRatio, kNone };

struct ContinuousOptions {
  RollRule rule = RollRule::kHeld;
  RollAdjust adjust = RollAdjust::kBack;
  /// kCalendar: roll this many trading days before the first day of the expiry month.
  int days_before_expiry = 5;
  /// Per-contract symbols: a regex whose groups capture (1) the root, (2) the year (2 or 4
  /// digits) and (3) the month as 1-12 or a CME month code (F G H J K M N Q U V X Z).
  std::string contract_pattern = "^(.+?)([A-Z])(\\d{2}|\\d{4})$";
  /// Whether contract_pattern's groups are (root, month code, year) instead of (root, year, month).
  bool month_code_first = true;
};

/// "held", "volume", "open_interest"/"oi", "calendar" or "calendar:N" (N trading days).
Result<ContinuousOptions> ParseRollRule(std::string_view text, ContinuousOptions base = {});
/// "back"/"difference"/"panama", "ratio", "none".
Result<RollAdjust> ParseRollAdjust(std::string_view text);

struct RollEvent {
  std::string symbol;  // the continuous series (root)
  Timestamp time = kNoTimestamp;  // first bar on the new contract
  double from_contract = 0;       // contract ids as numbers, e.g. 201512
  double to_contract = 0;
  double old_price = 0;           // prices used for the gap
  double new_price = 0;
  double gap = 0;                 // new - old (back) or new / old (ratio)
  bool same_day = false;          // both prices from one day (exact), else close-to-close
};

struct ContinuousResult {
  Panel panel;                   // price fields adjusted; raw_close and contract added/kept
  std::vector<RollEvent> rolls;  // by symbol, then time
};

Result<ContinuousResult> BuildContinuous(const Panel& input, const ContinuousOptions& options);

}  // namespace qraft::data
