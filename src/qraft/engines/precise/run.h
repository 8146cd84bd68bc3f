// DSL strategies on the precise engine: the same strategy file the fast engine sweeps, re-run
// order by order (`qraft backtest --engine precise`).
//
// Signal strategies (selection all_signals, long and short): the decisions are the fast
// engine's (engines::Decide: the same expressions, rebalance bars and universe), taken
// at each bar's close by a Strategy on the Engine:
//  * each symbol trades its own sleeve of capital / S, as in the fast engine: an entry is a
//    market buy of the sleeve's cash (a notional order, sized at its fill price to the largest
//    whole number of lots that, with fees, fits), an exit a market sell of the position;
//  * execution.price next_open: orders go out at the close and fill at the next bar's open
//    (FillModel kNextPrice) and the curve is valued at the opens; close (assume_close_fill):
//    they fill at once at the close (kLastPrice) and the curve is valued at the closes;
//  * risk.stop_loss / take_profit / trailing_stop are real orders placed at the first close
//    after the entry fill, one OCO group: a sell stop at I (1 - s), a sell limit at I (1 + g),
//    a trailing stop r below the best price (I the entry's market price); an exit signal
//    cancels them. They trigger intrabar on the bar path (the fast engine checks them against
//    its price series only);
//  * hold.min_days and cooldown_days as in the fast engine, counted from fill bars;
//  * a data field qraft_no_sell (kNoSellField), where non-zero, blocks sells on that bar; is_st
//    (non-zero on ST days) selects the pack's ST limits; funding_rate (perpetuals) is settled on
//    the bars where it is finite, on the position at the last price.
// Costs: the pack's fee schedule (costs.market; precise::FeesFromPack) with the DSL's fee_bps,
// min_fee and tax_bps overriding it, half the spread_bps per taker fill, impact alpha x
// (quantity / bar volume)^beta, and the pack's lots, ticks, price limits and T+1. Latency:
// costs.slippage.latency_ms delays every order (PreciseOptions::latency for more).
//
// Selection strategies (top-k, quantile, threshold): engines::TargetWeights' portfolio at each
// rebalance, every name traded toward weight x equity by target-value orders; TopkDropout
// (n_drop): engines::TopkDropoutDecision's lists, buys sized by cash_share (docs/precise.md).
//
// execution.price vwap fills market orders at the next bar's vwap field (FillModel::kBarVwap).
//
// Short signals trade vectorbt's way: a short entry sells the long and shorts what the sleeve's
// free cash pays for (OrderRequest::short_budget), a long entry while short buys with all the
// sleeve's cash; the strategy keeps vectorbt's free cash and debt per sleeve.
// Selections also follow the weights engine's risk rules at the closes (stops, cooldown, the
// drawdown breaker) and its turnover budget (OrderRequest::turnover_max).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "qraft/core/panel.h"
#include "qraft/core/status.h"
#include "qraft/data/io/arrow_io.h"
#include "qraft/data/store.h"
#include "qraft/engines/backtest.h"
#include "qraft/engines/precise/engine.h"
#include "qraft/engines/results.h"
#include "qraft/strategy/dsl.h"

namespace qraft::precise {

struct PreciseOptions {
  double initial_capital = 1'000'000;
  engines::MetricsOptions metrics;  // initial_capital is copied from above
  /// Max share of each path point's volume an order may take; 0 = no cap.
  double participation = 0;
  /// Latency beyond the DSL's costs.slippage.latency_ms (which sets insert when given).
  LatencyModel latency;
  /// Multipliers of each cost component (cost sensitivity; 1 = as configured).
  double fee_scale = 1, tax_scale = 1, spread_scale = 1, impact_scale = 1;
  /// Keep the order and fill logs in the result (for reports and exports).
  bool keep_logs = true;
  /// Fidelity switches, each on by default (the precise engine's own rules); off, the fast
  /// engine's. LikeFast turns them all off, with no participation cap and no latency: the
  /// two-stage consistency configuration.
  bool pack_fees = true;        ///< the pack's fee schedule (off: only fee_bps, min_fee, tax_bps)
  bool intrabar_limits = true;  ///< limit prices on the bar path (off: the daily change flags)
  bool pack_ticks = true;       ///< the pack's tick and size increment (off: 1e-6 grids)
  /// Stress: orders arriving inside these windows are rejected by the exchange.
  std::vector<std::pair<Timestamp, Timestamp>> reject_windows;
};

/// A data field that, where non-zero, locks a symbol's bar against sells (stress scenarios).
inline constexpr std::string_view kNoSellField = "qraft_no_sell";

/// `base` with every friction the fast engine lacks turned off: no participation cap, no
/// latency, the DSL's fee rates, the daily limit flags, a continuous price grid.
inline PreciseOptions LikeFast(PreciseOptions base = PreciseOptions()) {
  base.participation = 0;
  base.latency = LatencyModel{};
  base.pack_fees = base.intrabar_limits = base.pack_ticks = false;
  return base;
}

/// Money spent on each cost, over the run.
struct CostBreakdown {
  double commission = 0, stamp_duty = 0, transfer_fee = 0, exchange_fee = 0;
  double slippage = 0;  ///< spread and impact, as the difference to the market price
  double funding = 0;
  double Total() const {
    return commission + stamp_duty + transfer_fee + exchange_fee + slippage + funding;
  }
};

struct PreciseResult {
  engines::CombinationResult result;  ///< params, metrics, orders, final_value
  std::int64_t fills = 0, rejected = 0, cancelled = 0;
  CostBreakdown costs;
  engines::CandidateDetail detail;   ///< curve and round trips
  std::vector<std::string> symbols;  ///< instrument index -> symbol
  std::vector<double> ticks, units;  ///< instrument index -> tick size, size increment
  std::vector<Order> orders;         ///< with keep_logs
  std::vector<Fill> fill_log;        ///< with keep_logs
  std::vector<std::pair<std::string, std::int64_t>> rejects;  ///< reason -> count, by name
};

/// Runs `spec` at `params` on `data` (the universe's symbols are selected from it).
/// Errors: what the fast engine refuses, and Unimplemented for what the file comment lists.
Result<PreciseResult> RunPrecise(const strategy::StrategySpec& spec, const Panel& data,
                                 const strategy::ParamValues& params,
                                 const PreciseOptions& options = {});

/// A precise back-test of a strategy on a stored snapshot: the result, and the study record
/// (kind "backtest", one combination with its curve and trades) that WriteResultDir writes and
/// `qraft report` reads, as for the fast engine.
struct PreciseStudy {
  engines::SweepOutput output;
  PreciseResult result;
};
/// Errors: unknown snapshot, a universe market other than the snapshot's, and RunPrecise's.
/// options.metrics.periods_per_year <= 0: from the snapshot (engines::PeriodsPerYear).
Result<PreciseStudy> RunPreciseStudy(const data::SnapshotStore& store, std::string_view snapshot,
                                     const strategy::StrategySpec& spec,
                                     const strategy::ParamValues& params,
                                     PreciseOptions options = {});

/// WriteResultDir(dir, study.output), then the order and fill logs (WritePreciseLogs) into the
/// candidate's directory, DIR/candidates/<params_hash>/.
Status WritePreciseResultDir(const std::filesystem::path& dir, const PreciseStudy& study);

/// Writes the order log and the fill log into `dir` (which must exist) as orders.csv and
/// fills.csv and their Parquet twins (orders.parquet, fills.parquet), each published
/// atomically. Columns: docs/precise.md. Times as ISO-8601 dates when `daily`, else UTC.
Status WritePreciseLogs(const std::filesystem::path& dir, const PreciseResult& result, bool daily);

/// Writes `columns` as DIR/NAME.csv (NaN as an empty cell) and DIR/NAME.parquet (NaN as null),
/// each published atomically; `dir` must exist.
Status WriteTableFiles(const std::filesystem::path& dir, std::string_view name,
                       const std::vector<data::io::TableColumn>& columns);

}  // namespace qraft::precise
