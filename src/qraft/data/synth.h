// Synthetic market data for scale tests and demos: a seeded, realistic panel of any size.
//
// Prices follow a factor model with volatility clustering and jumps:
//   r[s,t] = beta_s * m[t] + gamma_s * sector[g(s), t] + e[s,t] + jump[s,t]
// where the market factor m, the sector factors and the idiosyncratic e are GARCH(1,1)
// processes with Student-t-like shocks, and jumps arrive as a Poisson process. Symbols list late
// and delist early at random (their rows are NaN outside the listing), get suspended for spans of
// days (NaN bars), and under a price limit (e.g. 10% for A-shares) closes are clipped to the
// limit. OHLC, volume, amount and vwap are consistent (low <= open, close <= high; amount =
// vwap * volume).
//
// Deterministic: each symbol draws from its own stream seeded from (seed, symbol index), so the
// result is bit-identical for any thread count.
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

  double market_vol = 0.16;      // annualised volatility of the market factor
  double idio_vol = 0.25;        // median annualised idiosyncratic volatility
  double jumps_per_year = 1.5;   // per symbol
  double jump_sd = 0.06;         // jump size (log return) standard deviation
  double late_listing = 0.3;     // share of symbols that list after the first bar
  double delisting = 0.1;        // share of symbols that delist before the last bar
  double suspensions_per_year = 0.5;  // per symbol; each lasts 1-20 bars
  double price_limit = 0.0;      // daily limit as a fraction (0.1 = ±10%); 0: none
  int sectors = 10;
};

/// Builds the snapshot content (panel, instruments, provenance with the options). Errors for
/// impossible options (zero symbols or bars, a non-fixed intraday frequency, ...).
Result<SnapshotContent> Synthesize(const SynthOptions& options);

}  // namespace qraft::data
