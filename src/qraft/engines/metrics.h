// Performance metrics of one backtest, accumulated one bar at a time.
//
// The fast sweep engine runs thousands of parameter combinations and never keeps their equity
// curves; each combination owns one MetricsAccumulator, feeds it every bar (AddBar) and every
// closed trade (AddTrade), and calls Finish() once at the end. Every metric is defined exactly
// once, with formula, units and conventions, in docs/metrics.md; the comments here only name them.
//
// Memory. O(1) per accumulator (a few dozen doubles and one block of buffered bars, 10 KB),
// plus, when MetricsOptions::tail_metrics is on (the default), one double per bar: var_95,
// cvar_95 and tail_ratio are exact order statistics of the per-bar returns, so the returns are
// kept (8 bytes per bar) until the accumulator is destroyed or Reset. With tail_metrics off those
// three are NaN and nothing grows. An accumulator reused after Reset also keeps each tail's
// candidates (the returns beyond bounds from the previous run, typically a few percent of the
// bars), so that Finish selects among those; results never depend on them (docs/metrics.md).
//
// Determinism. Bars are folded in blocks of 256 whose boundaries depend only on the bar count
// (block moments by two passes, merged with Pébay's pairwise formulas; fixed lane order inside a
// block; the wealth product in bar order), no threads inside an accumulator: the same inputs give
// bit-identical outputs on any machine with IEEE-754 double arithmetic, whether they arrive by
// AddBar or AddBars. Finish() selects the order statistics it needs from the kept returns; it may
// be called any number of times (it only updates the tail hint of the next run).
//
// Thread-safety: an accumulator is a value; distinct accumulators may be used from distinct
// threads, one accumulator from one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string_view>
#include <vector>

#include "qraft/core/status.h"

namespace qraft::engines {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Common annualisation factors (bars per year).
inline constexpr double kTradingDaysPerYear = 252.0;   ///< daily bars, most equity markets
inline constexpr double kQlibDaysPerYear = 238.0;      ///< daily bars, Qlib's risk_analysis
inline constexpr double kCalendarDaysPerYear = 365.0;  ///< daily bars, 24/7 markets (crypto)
/// Intraday bars: bars per session times sessions per year, e.g. PeriodsPerYear(240, 252) for
/// one-minute bars of a 4-hour (China A-share) session.
constexpr double PeriodsPerYear(double bars_per_session, double sessions_per_year) {
  return bars_per_session * sessions_per_year;
}

struct MetricsOptions {
  /// Bars per year used to annualise (N in docs/metrics.md). > 0.
  double periods_per_year = kTradingDaysPerYear;
  /// Per-bar risk-free return: subtracted from every return in sharpe, and the target return of
  /// sortino's downside deviation. From an annual rate R: (1 + R)^(1 / N) - 1. Finite.
  double risk_free = 0.0;
  /// Money at the start; the denominator of fees_fraction. > 0.
  double initial_capital = 1.0;
  /// Keep the per-bar returns for var_95, cvar_95 and tail_ratio (8 bytes per bar). When false
  /// those three are NaN and memory stays O(1).
  bool tail_metrics = true;
};

/// OK, or InvalidArgument naming the offending option. Callers validate once per plan; the
/// accumulator itself does not check (REQUIRES: valid options).
Status ValidateMetricsOptions(const MetricsOptions& options);

/// What the engine knows about one bar of one combination.
struct BarRecord {
  /// Portfolio simple return over the bar, after costs: equity_t / equity_{t-1} - 1.
  double ret = 0.0;
  /// Benchmark simple return over the same bar; NaN = no benchmark on this bar (counts as 0).
  double benchmark = kNaN;
  /// Traded value during the bar divided by equity (the engine documents one- or two-sided).
  double turnover = 0.0;
  /// Fees, taxes and other explicit costs paid during the bar, in money (>= 0).
  double fees = 0.0;
  /// Gross exposure at the end of the bar: sum of |position value| / equity (0 = flat).
  double gross_exposure = 0.0;
  /// Optional: the equity at the end of the bar, in money (NaN = not given). Either every bar of
  /// a run gives it or none does; see BarColumns::equity.
  double equity = kNaN;
};

/// One closed (round-trip) trade.
struct TradeRecord {
  double pnl = 0.0;               ///< realised profit and loss in money, net of its costs
  double ret = 0.0;               ///< pnl as a fraction of the entry value
  std::int64_t holding_bars = 0;  ///< bars from entry to exit
};

/// The metrics of one run. NaN where a metric is undefined (docs/metrics.md says when).
struct Metrics {
  std::int64_t bars = 0;
  double total_return = kNaN;
  double annual_return = kNaN;
  double volatility = kNaN;
  double sharpe = kNaN;
  double sortino = kNaN;
  double calmar = kNaN;
  double max_drawdown = kNaN;  ///< <= 0, a fraction of the running peak
  std::int64_t max_drawdown_duration = 0;
  double benchmark_return = kNaN;  ///< total, compounded
  double excess_return = kNaN;     ///< annual_return - benchmark annual return
  double information_ratio = kNaN;
  double turnover = kNaN;         ///< mean per bar
  double annual_turnover = kNaN;  ///< turnover * N
  std::int64_t trades = 0;
  double win_rate = kNaN;
  double profit_factor = kNaN;
  double expectancy = kNaN;  ///< mean pnl per trade, money
  double avg_trade_return = kNaN;
  double avg_holding_bars = kNaN;
  double exposure = kNaN;  ///< fraction of bars with gross exposure > 0
  double avg_gross_exposure = kNaN;
  double fees = 0.0;  ///< money
  double fees_fraction = kNaN;
  double skew = kNaN;
  double kurtosis = kNaN;  ///< excess
  double var_95 = kNaN;    ///< a return: negative = loss
  double cvar_95 = kNaN;
  double tail_ratio = kNaN;
};

/// One metric's name (the JSON/CSV key) and where it lives in Metrics: exactly one of the two
/// member pointers is set.
struct MetricField {
  std::string_view name;
  double Metrics::*real = nullptr;
  std::int64_t Metrics::*count = nullptr;
};

/// Every metric, in the documented order (docs/metrics.md, JSON, CSV columns).
std::span<const MetricField> MetricFields();

/// The field named `name`, or nullptr.
const MetricField* FindMetricField(std::string_view name);

/// The value of field `field` of `m` as a double (counts converted).
double MetricValue(const Metrics& m, const MetricField& field);

/// {name: value} for every metric, counts as integers, NaN (and ±inf) as null.
nlohmann::json ToJson(const Metrics& m);

/// The inverse of ToJson (null = NaN; doubles round-trip exactly). InvalidArgument
/// "field '<where>.<metric>': <problem>" for the first missing or mistyped metric.
Result<Metrics> MetricsFromJson(const nlohmann::json& j, std::string_view where = "metrics");

/// Columns of consecutive bars, for folding many at once (the sweep engine has them as arrays).
/// `ret` sets the count n; every other span is empty (0 for all bars; benchmark: none) or has n
/// values.
struct BarColumns {
  std::span<const double> ret = {};
  std::span<const double> benchmark = {};
  std::span<const double> turnover = {};
  std::span<const double> fees = {};
  std::span<const double> gross_exposure = {};
  /// Optional: the equity E_t in money, for every bar of the run or for none (initial_capital
  /// is E before the first bar). When given, the wealth index is W_t = E_t / initial_capital
  /// instead of the running product of 1 + r_t (the same up to the product's rounding), so
  /// drawdowns need no serial product: a block of bars that makes no new peak folds its
  /// drawdown from its lowest equity alone.
  std::span<const double> equity = {};
};

class MetricsAccumulator {
 public:
  explicit MetricsAccumulator(const MetricsOptions& options = {});

  /// Pre-allocates the kept returns for `bars` bars (only with tail_metrics).
  void Reserve(std::size_t bars);

  /// Folds one bar. A non-finite `ret` makes every return-based metric NaN.
  void AddBar(const BarRecord& bar);
  /// Shorthand for a bar with only a return.
  void AddReturn(double ret) { AddBar(BarRecord{.ret = ret}); }
  /// Folds `columns.ret.size()` bars; identical, bit for bit, to AddBar on each in turn, only
  /// faster (whole blocks are folded straight from the arrays). REQUIRES: spans as documented.
  void AddBars(const BarColumns& columns);
  /// Folds one closed trade (any time; trades are not tied to bars).
  void AddTrade(const TradeRecord& trade);

  std::size_t bars() const { return static_cast<std::size_t>(state_.n) + pending_; }
  /// Every return folded so far, in order (with tail_metrics; empty without).
  std::span<const double> returns() const { return returns_; }
  const MetricsOptions& options() const { return options_; }

  /// The metrics of everything folded so far.
  Metrics Finish() const;

  /// Back to the state of a new accumulator with the same options, keeping the capacity of the
  /// kept returns and the tail hint of the last Finish (an engine reuses one accumulator for
  /// many runs; the hint only makes Finish faster, never different).
  void Reset();

 private:
  // Bars are folded in blocks of kBlock (block moments merged with Pébay's pairwise formulas),
  // which vectorises; a partial block waits in the buffers below. Block boundaries depend only
  // on the bar count, so streaming and AddBars give the same bits.
  static constexpr std::size_t kBlock = 256;
  struct State {
    bool nonfinite = false;
    double n = 0;  // bars folded
    // Returns: central moments.
    double mean = 0, m2 = 0, m3 = 0, m4 = 0;
    double downside_sq_sum = 0;  // sum of min(r - rf, 0)^2
    // Wealth index W (W_0 = 1), its running peak, drawdowns. With equity given, the peak is
    // kept in money (equity_peak, starting at the initial capital) and W is set per block.
    double wealth = 1.0, peak = 1.0, max_dd = 0.0;
    double equity_peak = kNaN;
    std::int64_t underwater = 0, max_underwater = 0;
    // Benchmark and active returns.
    std::int64_t benchmark_bars = 0;
    double benchmark_wealth = 1.0;
    double active_mean = 0, active_m2 = 0;
    // Turnover, fees, exposure.
    double turnover_sum = 0, fees_sum = 0, exposure_sum = 0;
    std::int64_t exposed_bars = 0;
  };
  static void FoldBlock(const BarColumns& block, const MetricsOptions& options, State& state);
  static void FoldWealthDrawdown(std::span<const double> ret, State& state);
  static void FoldEquityDrawdown(std::span<const double> equity, double initial, State& state);
  void FlushPending(State& state) const;

  MetricsOptions options_;
  State state_;
  // Trades.
  std::int64_t trades_ = 0, wins_ = 0, holding_sum_ = 0;
  double gross_profit_ = 0, gross_loss_ = 0, pnl_sum_ = 0, trade_ret_sum_ = 0;
  // The partial block.
  std::size_t pending_ = 0;
  bool pending_benchmark_ = false;
  bool pending_equity_ = false;
  double buf_ret_[kBlock], buf_benchmark_[kBlock], buf_turnover_[kBlock], buf_fees_[kBlock],
      buf_exposure_[kBlock], buf_equity_[kBlock];
  void AddTail(const double* returns, std::size_t n);

  // Tail statistics (tail_metrics): every return of the run (returns_). And, after a run of
  // kHintFrom bars or more, a hint for the next run (taken at Reset): bounds a little inside
  // this run's order statistics, beyond which each tail's candidates are collected as bars
  // arrive, so that Finish usually selects among a few percent of the returns, not all of
  // them. Results never depend on the hint: Finish checks that the candidates hold the ranks
  // it needs, else selects from every return. It is performance state only, hence mutable.
  static constexpr std::size_t kHintFrom = std::size_t{1} << 16;
  std::vector<double> returns_;
  double low_bound_ = kNaN, high_bound_ = kNaN;  // this run's; NaN = not collecting
  std::vector<double> low_, high_;               // candidates; the first *_len_ are used
  std::size_t low_len_ = 0, high_len_ = 0, low_ties_ = 0, high_ties_ = 0;
  mutable double hint_low_ = kNaN, hint_high_ = kNaN;
};

/// Batch form: folds `returns` (and, when not empty, `benchmark` of the same length) as bars with
/// no turnover, fees or exposure. Equal to streaming them one by one.
Metrics ComputeMetrics(std::span<const double> returns, std::span<const double> benchmark = {},
                       const MetricsOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Qlib's risk_analysis (qlib/contrib/evaluate.py), reproduced for cross-checks with Qlib reports.

enum class QlibMode {
  kSum,      ///< Qlib's default: arithmetic mean, annualized = mean * N, additive drawdown
  kProduct,  ///< geometric mean, std of log returns, compounded drawdown
};

/// Qlib's output vector (its index names are the JSON keys).
struct QlibRisk {
  double mean = kNaN;
  double std = kNaN;
  double annualized_return = kNaN;
  double information_ratio = kNaN;
  double max_drawdown = kNaN;
};

/// {mean, std, annualized_return, information_ratio, max_drawdown}, NaN as null.
nlohmann::json ToJson(const QlibRisk& risk);

/// Streams Qlib's risk_analysis of a return series r (Qlib feeds it excess returns, e.g.
/// return - bench - cost). O(1) memory. N is Qlib's scaler: 238 for daily bars (kQlibDaysPerYear).
class QlibRiskAccumulator {
 public:
  explicit QlibRiskAccumulator(QlibMode mode, double periods_per_year = kQlibDaysPerYear)
      : mode_(mode), periods_per_year_(periods_per_year) {}
  void Add(double r);
  QlibRisk Finish() const;

 private:
  QlibMode mode_;
  double periods_per_year_;
  double n_ = 0;
  double mean_ = 0, m2_ = 0;                        // of r (sum) or log(1 + r) (product)
  double level_ = 0, peak_ = kNaN, max_dd_ = kNaN;  // cumsum (sum) or cumprod (product)
};

/// Batch form of QlibRiskAccumulator.
QlibRisk QlibRiskAnalysis(std::span<const double> returns, QlibMode mode = QlibMode::kSum,
                          double periods_per_year = kQlibDaysPerYear);

}  // namespace qraft::engines
