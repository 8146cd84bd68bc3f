// Back-tests and sweeps of signal strategies (DSL selection mode all_signals) on a Panel.
//
// Each symbol of the universe is its own sub-portfolio with an equal share of the capital
// (vectorbt's grouped columns without cash sharing) run by SimulateSignals; the portfolio is
// their sum, and its per-bar equity returns, traded value, fees, exposure and closed trades feed
// the streaming metrics (docs/metrics.md). Signals are the DSL's expressions (non-zero = true,
// NaN = no signal); entries act only on rebalance bars, exits on every bar.
//
// The look-ahead guard: with execution.price next_open (the default) a signal of bar t fills at
// bar t+1's open (the signal arrays are shifted one bar and the fill and valuation prices are the
// opens); vwap likewise with the vwap field; close (only with assume_close_fill) fills at bar t's
// close, as the strategy states.
//
// Sweeps compile every combination's expressions together in batches (CompileCombinations:
// nodes that do not depend on a parameter are computed once per batch), run combinations in
// parallel and keep only metrics: memory is the panel plus one batch of signals, not
// combinations × panel. Results are in combination order, bit-identical whatever the thread
// count.
//
// Not supported yet (an Unimplemented error names the field, nothing is silently ignored):
// selection modes other than all_signals, position schemes other than equal, short signals,
// take_profit / trailing_stop / max_drawdown / turnover_max / group limits, hold, cooldown,
// min_fee, tax, impact and latency costs, universe filters and instruments files.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "qraft/core/panel.h"
#include "qraft/core/progress.h"
#include "qraft/core/status.h"
#include "qraft/data/store.h"
#include "qraft/engines/metrics.h"
#include "qraft/strategy/dsl.h"

namespace qraft::engines {

struct BacktestOptions {
  double initial_capital = 1'000'000;
  MetricsOptions metrics;  // initial_capital is copied from above
  // Combinations compiled and evaluated together; 0 = chosen so that a batch's signals (one
  // byte per symbol and bar) take about 256 MiB.
  std::size_t batch = 0;
};

struct CombinationResult {
  strategy::ParamValues params;
  Metrics metrics;
  std::int64_t orders = 0;
  double final_value = 0;
};

struct SweepResult {
  std::string dsl_hash;
  std::vector<CombinationResult> results;  // in combination order
};

/// Runs `combinations` of `spec` on `data` (the universe's symbols are selected from it).
/// Errors: unsupported DSL features (Unimplemented), a universe symbol or field the data lacks.
/// `progress` advances once per combination.
Result<SweepResult> RunSignalSweep(const strategy::StrategySpec& spec, const Panel& data,
                                   std::span<const strategy::ParamValues> combinations,
                                   const BacktestOptions& options = {},
                                   Progress& progress = NullProgress());

struct SnapshotSweep {
  std::string snapshot_id;
  SweepResult sweep;
};

/// RunSignalSweep on a stored snapshot. A universe naming a market must match the snapshot's.
Result<SnapshotSweep> RunSignalSweepOnSnapshot(const data::SnapshotStore& store,
                                               std::string_view snapshot,
                                               const strategy::StrategySpec& spec,
                                               std::span<const strategy::ParamValues> combinations,
                                               const BacktestOptions& options = {},
                                               Progress& progress = NullProgress());

/// The indices of `ranked` results sorted by `objective` (a metric name; NaN last), descending,
/// ties by combination order; at most `top`.
Result<std::vector<std::size_t>> RankResults(std::span<const CombinationResult> results,
                                             std::string_view objective, std::size_t top);

}  // namespace qraft::engines
