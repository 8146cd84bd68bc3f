// Synthetic market data for scale tests and demos: a seeded, realistic panel of any size.
//
// Prices follow a factor model with volatility clustering and jumps:
//   r[s,t] = beta_s * m[t] + gamma_s * sector[g(s), t] + e[s,t] + jump[s,t]
// where the market factor m, the sector factors and the idiosyncratic e are GARCH(1,1)
// processes with Student-t shocks (6 degrees of freedom), and jumps arrive as a Poisson process
// (the market factor has its own rare, negatively skewed jumps). Symbols list late and delist
// early at random (their rows are NaN outside the listing), get suspended for spans of 1-20 bars
// (NaN bars, all fields together), and under a price limit (e.g. 10% for A-shares) every price of
// a day stays within the limit of the previous day's close, so closes pin at limit-up/limit-down
// while the fair price carries on. OHLC, volume, amount and vwap are consistent
// (low <= min(open, close), high >= max(open, close), low <= vwap <= high, amount = vwap * volume);
// prices keep 5 significant digits, volumes are whole numbers >= 1.
//
// Calendar: daily bars are Mon-Fri dates (midnight UTC, see time.h) from `start` on; intraday bars
// are the bars inside the market pack's sessions (whole day without sessions) in its time zone,
// on consecutive Mon-Fri days. Markets whose pack has asset_class crypto trade every day.
//
// Deterministic: each symbol draws from its own stream seeded from (seed, symbol index), each
// factor from its own stream, with portable samplers, so the result is bit-identical for any
// thread count. Provenance records the generator, every option and the model's fixed parameters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "qraft/core/status.h"
#include "qraft/core/time.h"
#include "qraft/data/snapshot.h"

namespace qraft::data {

struct SynthOptions {
  std::size_t symbols = 100;
  /// Bars per symbol: trading days (Mon-Fri) for daily data, bars inside sessions for intraday.
  std::size_t bars = 1260;
  Frequency freq = Frequency::Daily();
  /// First trading day.
  Timestamp start = DateTimestamp(2005, 1, 3);
  std::uint64_t seed = 1;
  /// Market name recorded in the snapshot; its pack (if any) gives the time zone and sessions.
  std::string market = "synthetic";

  double market_vol = 0.16;           // annualised volatility of the market factor (jumps included)
  double idio_vol = 0.25;             // median annualised idiosyncratic volatility (jumps included)
  double sector_vol = 0.10;           // annualised volatility of each sector factor
  double jumps_per_year = 1.5;        // per symbol
  double jump_sd = 0.06;              // jump size (log return) standard deviation
  double late_listing = 0.3;          // share of symbols that list after the first bar
  double delisting = 0.1;             // share of symbols that delist before the last bar
  double suspensions_per_year = 0.5;  // per symbol; each lasts 1-20 bars
  double price_limit = 0.0;           // daily limit as a fraction (0.1 = ±10%), in [0, 1); 0: none
  int sectors = 10;                   // 0: no sector factors
};

/// Builds the snapshot content: panel (open, high, low, close, volume, amount, vwap; symbols
/// "S1".."Sn" zero-padded to the width of n), instruments (the listing spans, equal to
/// DeriveInstruments of the panel), provenance (generator, options, model parameters) and
/// source_rows = 0. The quality report is left empty. `start` is floored to its date; a weekend
/// start moves to the next trading day. InvalidArgument for impossible options: zero symbols or
/// bars, price_limit outside [0, 1), shares outside [0, 1], volatilities outside [0, 3], negative
/// or non-finite rates, negative sectors, a frequency other than 1d or a fixed intraday length,
/// or one that does not divide the market's sessions. Thread-safe; runs in parallel on the oneTBB
/// pool; the panel (7 fields of symbols x bars doubles) is the only large allocation.
Result<SnapshotContent> Synthesize(const SynthOptions& options);

}  // namespace qraft::data
