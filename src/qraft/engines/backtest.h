// Back-tests and sweeps of DSL strategies on a Panel: the fast engine's three simulators behind
// one sweep machinery.
//
// Signal strategies (selection all_signals): each symbol of the universe is its own
// sub-portfolio with an equal share of the capital (vectorbt's grouped columns without cash
// sharing) run by SimulateSignals (signal_sim.h: vectorbt from_signals semantics); the
// portfolio is their sum, and its per-bar equity returns, traded value, fees, exposure and
// closed trades feed the streaming metrics (docs/metrics.md). Signals are the DSL's expressions
// (non-zero = true, NaN = no signal): signals.long / exit, and signals.short / short_exit (then
// direction both: an opposite entry reverses the position); entries act only on rebalance
// bars, exits on every bar. Costs: fee_bps (fees), spread_bps / 2 (slippage per side), and
// Qraft's extensions in every direction: min_fee (per order), tax_bps (sells), impact alpha x
// (shares / the fill bar's volume field)^beta, and the cost pack's lots and price limits (below).
// Risk: stop_loss, take_profit, trailing_stop (vectorbt's sl_stop, tp_stop, sl_trail; all three
// may be combined). hold.min_days (signals cannot close or reverse a younger position) and
// cooldown_days (entries ignored for that many bars after a position is closed) as bars.
// position.max_weight must be >= 1/S (each symbol's sleeve). Look-ahead guard: with
// execution.price next_open (the default) a signal of bar t fills at bar t+1's open (signals
// shifted one bar, fills and valuation at the opens); vwap likewise; close (only with
// assume_close_fill) at bar t's close.
//
// Cross-sectional strategies (selection topk | quantile | threshold on selection.score):
//  * with selection.n_drop: Qlib's TopkDropout + Exchange (SimulateTopkDropout, portfolio_sim.h)
//    on the score, which exists only on rebalance bars; decisions use the previous bar's score
//    and deal at the execution price; hold.min_days is Qlib's hold_thresh; fee_bps sets both cost
//    rates, tax_bps adds to the sell rate, min_fee is the per-order minimum; risk_degree 0.95.
//    Weights, risk rules and slippage are not TopkDropout's and are refused by name.
//  * otherwise: target weights (SimulateWeights, weights_sim.h): decided at the end of each
//    rebalance bar from its score, filled at the next bar's execution price (a close fill is bar
//    t's close): selection, position.scheme / target_vol / max_weight / vol_window, every risk
//    rule (group limits read the field risk.group_max_weight.field of the data), hold.min_days,
//    cooldown_days (after stop exits and the drawdown breaker), fee_bps, min_fee, tax_bps (sell
//    side), spread_bps / 2 per side, impact alpha x participation^beta (participation against
//    the fill bar's volume field). Annualisation for vol_target: MetricsOptions::periods_per_year.
// The cost pack (costs.market, markets/*.yaml `trading:`) gives every engine its lot size (whole
// lots; Qlib's trade_unit) and daily price limits, per board and date (data::PriceLimitSchedule
// of the symbol, on the bar's date): no buys on a limit-up day and no sells on a limit-down day,
// detected as Qlib does from the fill bar's daily change, |close / previous close - 1| >= limit -
// 0.005 (TopkDropout gets them as its limit_buy / limit_sell flags). Signal strategies apply
// them per order (signal_sim.h: all-cash orders rounded down to whole lots, blocked orders
// rejected and their signals dropped). ST limits and no-limit days come with issue 5.
//
// Sweeps compile every combination's expressions together in batches (CompileCombinations:
// nodes that do not depend on a parameter are computed once per batch, and a batch is a tile of
// the parameter grid so that its combinations share nodes), run combinations in parallel and
// keep only metrics: memory is the panel plus one batch, not combinations × panel. Signals are
// kept as one bit per symbol and bar; the comparisons that make them are computed a row tile at
// a time, all of a batch's per tile, and packed straight to bits (expr::ResultSink row tiles).
// Each signal combination then runs all its symbols side by side one chunk of 4,096 bars at a
// time (SignalSimulator), folding each chunk into its metrics while it is in cache (with the
// equity column and the tail hints of docs/metrics.md): at millions of bars a sweep is bound by
// memory traffic, not arithmetic. Cross-sectional sweeps evaluate (and, for
// TopkDropout, rank) each distinct score once for all the combinations that share it. Results
// are in combination order, bit-identical whatever the thread count.
//
// universe.filter makes a symbol eligible only on bars where the expression is true: it gates
// entry signals, or the score (NaN elsewhere); cross-sectional operators inside the score still
// see every symbol of the data. universe.instruments (a Qlib instruments file, relative to the
// strategy file) runs the listed symbols, each eligible only inside its listing spans.
//
// Not supported yet (an Unimplemented error names the field, nothing is silently ignored):
// latency (the precise engine's); with signals also max_drawdown, turnover_max and group limits
// (use a selection strategy for those).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "qraft/core/panel.h"
#include "qraft/core/progress.h"
#include "qraft/core/status.h"
#include "qraft/core/time.h"
#include "qraft/data/market.h"
#include "qraft/engines/metrics.h"
#include "qraft/engines/weights_sim.h"
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
  /// Keep every combination's per-bar returns r_t (the metrics' returns) in SweepResult::returns,
  /// T per combination (memory O(combinations x bars) doubles; the gates need them).
  /// REQUIRES metrics.tail_metrics (the default), whose returns are kept anyway.
  bool keep_returns = false;
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
  /// With keep_returns: combination c's returns at [c T, (c + 1) T), column-major T x N.
  std::vector<double> returns;
};

/// What the fast engines leave out of what `spec` asks for, one sentence each, for the edges to
/// show (CLI warnings, a JSON "warnings" list). Today one thing: a costs.market pack's fee
/// schedule (commission per share, minimum and cap, dated stamp duty and levies) is charged only
/// by the precise engine; the fast engines charge costs.fee_bps, min_fee and tax_bps alone.
std::vector<std::string> FastEngineWarnings(const strategy::StrategySpec& spec);

/// Runs `combinations` of `spec` on `data` (the universe's symbols are selected from it).
/// Errors: unsupported DSL features (Unimplemented), a universe symbol or field the data lacks,
/// invalid metrics options. `progress` advances once per combination. On a stored snapshot, with
/// caching, ranking and kept candidates: RunStudy (study.h).
Result<SweepResult> RunSweep(const strategy::StrategySpec& spec, const Panel& data,
                             std::span<const strategy::ParamValues> combinations,
                             const BacktestOptions& options = {},
                             Progress& progress = NullProgress());

/// The pack's daily price limits (per board and date: data::PriceLimitSchedule), detected from
/// the daily change as Qlib does: limit-up where close / previous close - 1 >= limit - 0.005,
/// limit-down where it is <= -(limit - 0.005), on the fill bar (the previous close is the last
/// finite one; a NaN close has no change and no flag; no flag before a board's first limit
/// date). Flags S x T symbol-major, both empty when the pack has no limits.
struct PriceLimits {
  std::vector<std::uint8_t> up, down;
};
PriceLimits DetectPriceLimits(const data::MarketSpec& pack, const Panel& panel,
                              std::span<const double> close);

/// What a strategy decides at one combination, as the fast engine trades it before its execution
/// shift, on the universe's data `panel`:
///  * signal strategies (selection all_signals): per role, S x T symbol-major 0/1 bytes, 1 where
///    the signal is true at bar t's close (entries only on rebalance bars, universe.filter and
///    universe.instruments applied); empty for a role the strategy lacks;
///  * selection strategies: `score`, S x T (NaN where a symbol is not eligible), and the
///    rebalance bars in `rebalance` (T bytes; the signal roles are empty).
/// The precise engine trades these decisions order by order. Errors: what RunSweep refuses.
struct Decisions {
  Panel panel;
  std::vector<std::uint8_t> long_entry, long_exit, short_entry, short_exit;
  std::vector<double> score;
  std::vector<std::uint8_t> rebalance;
};
Result<Decisions> Decide(const strategy::StrategySpec& spec, const Panel& data,
                         const strategy::ParamValues& params);

/// A selection strategy's selection, weighting and risk rules at `params` as the weights engine
/// takes them (costs, lots and capital left at their defaults for the caller to set).
WeightsSimOptions SelectionWeightsOptions(const strategy::StrategySpec& spec,
                                          const strategy::ParamValues& params,
                                          double periods_per_year);
/// The data field risk.group_max_weight names (empty span without the rule); InvalidArgument
/// when the data lacks it.
Result<std::span<const double>> GroupField(const strategy::StrategySpec& spec, const Panel& panel);

/// The indices of `ranked` results sorted by `objective` (a metric name; NaN last), descending,
/// ties by combination order; at most `top`.
Result<std::vector<std::size_t>> RankResults(std::span<const CombinationResult> results,
                                             std::string_view objective, std::size_t top);

}  // namespace qraft::engines
