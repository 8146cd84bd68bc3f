// Back-tests and sweeps of DSL strategies on a Panel, in two modes sharing the sweep machinery.
//
// Signal strategies (selection all_signals): each symbol of the universe is its own
// sub-portfolio with an equal share of the capital (vectorbt's grouped columns without cash
// sharing) run by SimulateSignals; the portfolio is their sum, and its per-bar equity returns,
// traded value, fees, exposure and closed trades feed the streaming metrics (docs/metrics.md).
// Signals are the DSL's expressions (non-zero = true, NaN = no signal); entries act only on
// rebalance bars, exits on every bar. Look-ahead guard: with execution.price next_open (the
// default) a signal of bar t fills at bar t+1's open (signals shifted one bar, fills and
// valuation at the opens); vwap likewise; close (only with assume_close_fill) at bar t's close.
//
// Top-k strategies (selection topk): Qlib's TopkDropout + Exchange (SimulateTopkDropout) on the
// score, which exists only on rebalance bars; decisions use the previous bar's score and deal at
// the execution price (open by default). topk and n_drop (default: topk, i.e. no dropout limit)
// may be parameters; hold.min_days is Qlib's hold_thresh; fee_bps sets both cost rates, tax_bps
// adds to the sell rate, min_fee is the per-order minimum; Qlib's risk_degree 0.95; no lot
// rounding until the market packs carry lot sizes (issue 5).
//
// Sweeps compile every combination's expressions together in batches (CompileCombinations:
// nodes that do not depend on a parameter are computed once per batch; signals are kept as one
// byte per symbol and bar), run combinations in parallel and keep only metrics: memory is the
// panel plus one batch, not combinations × panel. Results are in combination order,
// bit-identical whatever the thread count.
//
// Not supported yet (an Unimplemented error names the field, nothing is silently ignored):
// selection quantile/threshold, position schemes other than equal, short signals, take_profit /
// trailing_stop / max_drawdown / turnover_max / group limits, cooldown, impact and latency costs
// (and, for signals: hold, min_fee, tax; for top-k: stops and slippage), universe filters and
// instruments files.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "qraft/core/panel.h"
#include "qraft/core/progress.h"
#include "qraft/core/status.h"
#include "qraft/core/time.h"
#include "qraft/data/store.h"
#include "qraft/engines/metrics.h"
#include "qraft/strategy/dsl.h"

namespace qraft::engines {

/// One bar of a kept candidate's curve. Money in the account currency.
struct CurvePoint {
  Timestamp time = 0;
  double equity = 0;
  double exposure = 0;      ///< gross exposure / equity
  double turnover = 0;      ///< traded value / equity on the bar
  double fees = 0;          ///< money paid on the bar
  double benchmark = kNaN;  ///< benchmark return of the bar; NaN = none
};

/// One round trip of one symbol.
struct TradeRow {
  std::string symbol;
  bool is_short = false;
  Timestamp entry_time = 0;
  Timestamp exit_time = kNoTimestamp;                   ///< kNoTimestamp = still open at the end
  double entry_price = 0, exit_price = kNaN, size = 0;  ///< size in shares, > 0
  double pnl = 0, ret = 0;                              ///< net of costs
  std::int64_t holding_bars = 0;
  std::string exit_reason;  ///< signal | stop_loss | take_profit | trailing_stop | rebalance | end
};

struct CandidateDetail {
  std::size_t index = 0;  ///< combination index
  std::vector<CurvePoint> curve;
  std::vector<TradeRow> trades;
};

struct BacktestOptions {
  double initial_capital = 1'000'000;
  MetricsOptions metrics;  // initial_capital is copied from above
  // Combinations compiled and evaluated together; 0 = chosen so that a batch's signals (one
  // byte per symbol and bar) take about 256 MiB.
  std::size_t batch = 0;
  /// Keep each combination's curve and trade list in SweepResult::details (for the top
  /// candidates of a sweep, re-run with this set; memory O(combinations x bars)).
  bool keep_details = false;
};

struct CombinationResult {
  strategy::ParamValues params;
  Metrics metrics;
  std::int64_t orders = 0;
  double final_value = 0;
  bool stopped = false;  ///< stopped early (RunStudy): metrics cover the warm-up bars only
};

struct SweepResult {
  std::string dsl_hash;
  std::vector<CombinationResult> results;  // in combination order
  std::vector<CandidateDetail> details;    // with keep_details: one per combination, in order
};

/// Runs `combinations` of `spec` on `data` (the universe's symbols are selected from it).
/// Errors: unsupported DSL features (Unimplemented), a universe symbol or field the data lacks.
/// `progress` advances once per combination.
Result<SweepResult> RunSweep(const strategy::StrategySpec& spec, const Panel& data,
                             std::span<const strategy::ParamValues> combinations,
                             const BacktestOptions& options = {},
                             Progress& progress = NullProgress());

struct SnapshotSweep {
  std::string snapshot_id;
  SweepResult sweep;
};

/// RunSweep on a stored snapshot. A universe naming a market must match the snapshot's.
Result<SnapshotSweep> RunSweepOnSnapshot(const data::SnapshotStore& store,
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
