// Continuous futures series.
//
// Two inputs:
//   * held-contract data (rule kHeld): one series per instrument with the contract held each bar
//     in a `contract` field (pysystemtrade's PRICE_CONTRACT), optionally the price of another
//     contract in `carry` with its id in `carry_contract`; the roll is where `contract` changes;
//   * per-contract data (kVolume, kOpenInterest, kCalendar): one symbol per contract ("ESZ2023",
//     "CL202312", ...) and a pattern giving root and expiry month; the roll rule picks the
//     contract to hold (by volume, open interest, or a fixed number of bars before the expiry
//     month).
// The output has one symbol per instrument (root) with the held contract's prices, adjusted so
// the series is continuous at rolls:
//   back   (difference, "Panama"): earlier prices + the sum of later roll gaps;
//   ratio  earlier prices * the product of later roll ratios (keeps returns, not differences);
//   none   the raw held prices, with jumps at rolls.
// Every roll is recorded: time, from, to, the two prices, the gap, and how it was measured.
//
// Rolls. A roll is at bar t when the held contract at t differs from the held contract of the
// previous bar that has one (bars without a contract are skipped, never a roll). Contract ids
// are numbers, year * 100 + month (201512); the id is the only thing compared.
//
// Held contract per bar.
//   kHeld: the `contract` value; a bar with a price but no contract value holds the contract of
//     the previous bar that had one (leading bars: the first contract).
//   kVolume / kOpenInterest: per root, the first bar holds the nearest contract that has a close
//     there. After that the choice for bar t is made on bar t-1's data (no look-ahead): if a later
//     contract (larger id) had a volume (open interest) above the held contract's at t-1, bar t
//     holds the later contract with the largest value (ties: the nearer one). A held contract
//     without a value at t-1 (expired, or no bar) is beaten by any later contract with one.
//     Contracts earlier than the held one are never considered: no roll goes backwards.
//   kCalendar: the nearest contract c such that t < B(c) - days_before_expiry, where B(c) is the
//     index of the first calendar bar on or after the 1st of c's expiry month (UTC date); i.e. a
//     contract is left `days_before_expiry` bars before its expiry month starts. Contracts with
//     no close at all are skipped. Bars outside the root's first..last bar with data hold nothing.
//   In per-contract mode a bar shows the held contract's values only where that contract has a
//   close; elsewhere every field is NaN and `contract` is NaN.
//
// Gap at a roll at bar t from contract A to contract B. Let p be the last bar before t with a
// held close (normally t-1, on contract A).
//   same day (exact, same_day = true): B's price at p is known: per-contract data, B's own close
//     at p; held data, carry[p] when carry_contract[p] == B. old = close[p], new = B's price at p.
//     The adjusted move from p to t is then B's own move.
//   close to close (same_day = false): otherwise, old = close[p] and new = the first held close at
//     or after t (before the next roll). The adjusted series does not move across the roll, so
//     the roll bar's own move is lost.
//   gap = new - old (back, none) or new / old (ratio). When a side is missing (no close before
//     the roll, or none on the new contract before the next one), the roll is still recorded
//     with NaN prices and a neutral gap (0 or 1): nothing can be measured, nothing is adjusted.
//
// Fields. Price fields (open, high, low, close, vwap) are adjusted; `raw_close` is added (the
// unadjusted held close); `contract` is the held contract per bar. Every other field is kept
// unadjusted: in kHeld mode as given (so `carry` and `carry_contract` stay raw: compare `carry`
// with `raw_close`, never with the adjusted close), in per-contract mode taken from the held
// contract (volume, open_interest, ...).
//
// Thread-safety: pure functions; BuildContinuous runs symbols in parallel and its result does not
// depend on the thread count.
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
  /// kCalendar: roll this many trading days (calendar bars) before the first day of the expiry
  /// month. 0: on the first bar of the expiry month. REQUIRES: >= 0.
  int days_before_expiry = 5;
  /// Per-contract symbols: an ECMAScript regex that must match the whole symbol, whose first
  /// three groups capture the root, the month and the year. The month is a CME month code
  /// (F G H J K M N Q U V X Z) or a number 1-12; the year has 4 digits or 2 (20yy).
  std::string contract_pattern = "^(.+?)([A-Z])(\\d{2}|\\d{4})$";
  /// Order of groups 2 and 3 when their content does not decide it: true (root, month, year) as
  /// in "ESZ23", false (root, year, month) as in "CL202312" with "^(.+?)(\\d{4})(\\d{2})$".
  /// Content decides first: a month-code letter is the month, a 4-digit number is the year.
  bool month_code_first = true;
};

/// "held", "volume", "open_interest"/"oi", "calendar" or "calendar:N" (N >= 0 trading days);
/// returns `base` with the rule (and N) set. Errors: InvalidArgument naming the text.
Result<ContinuousOptions> ParseRollRule(std::string_view text, ContinuousOptions base = {});
/// "back"/"difference"/"panama", "ratio", "none". Errors: InvalidArgument naming the text.
Result<RollAdjust> ParseRollAdjust(std::string_view text);

struct RollEvent {
  std::string symbol;             ///< the continuous series (root)
  Timestamp time = kNoTimestamp;  ///< first bar on the new contract
  double from_contract = 0;       ///< contract ids as numbers, e.g. 201512
  double to_contract = 0;
  double old_price = 0;  ///< prices used for the gap (NaN: not measurable)
  double new_price = 0;
  double gap = 0;         ///< new - old (back, none) or new / old (ratio)
  bool same_day = false;  ///< both prices from one bar (exact), else close-to-close
};

struct ContinuousResult {
  Panel panel;                   ///< price fields adjusted; raw_close and contract added/kept
  std::vector<RollEvent> rolls;  ///< in output symbol order, then time order
};

/// Builds the continuous series of `input` (see the file comment for the rules).
/// Output symbols: kHeld, the input symbols (in order); per-contract rules, the roots (sorted).
/// Errors:
///   InvalidArgument: a field the rule needs is missing (close; contract for kHeld; volume or
///     open_interest), a bad contract pattern, days_before_expiry < 0;
///   DataError: a symbol that does not match the pattern (symbol and pattern named), a bad month
///     or year, two symbols for one contract, a non-positive price at a roll under kRatio
///     (symbol, date, contracts and prices named).
Result<ContinuousResult> BuildContinuous(const Panel& input, const ContinuousOptions& options);

}  // namespace qraft::data
