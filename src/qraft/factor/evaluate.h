// Factor evaluation: how well a factor's cross-section predicts forward returns.
//
// Inputs are symbol-major S×T arrays (x[s * T + t], as a Panel field or an evaluated expression),
// NaN = missing. Labels are forward returns: r_h[t] = close[t + h] / close[t] - 1, NaN if either
// close is missing (or the ratio is not finite). They deliberately look into the future: they are
// the label side, never a factor input.
//
// Per date t and horizon h, over the symbols where both the factor and r_h are valid:
//   IC       Pearson correlation, Rank IC  Spearman (Pearson of average-tie ranks taken over
//   those pairs, as pandas' Series.corr(method="spearman")); NaN with fewer than min_pairs pairs
//   or a constant side.
// Summaries over the dates where a series is defined ("IC decay by horizon"): mean, std (ddof=1),
// IR = mean / std, t = IR · sqrt(n), fraction > 0.
// Quantiles: each date with at least n_quantiles factor values, symbols get bucket
//   floor((rank - 1) · Q / n) (rank = average-tie rank among the n valid factor values; bucket 0
//   holds the lowest values); per horizon, a bucket's return on a date is the mean valid forward
//   return of its members, and quantile_returns[q] is its mean over the dates where defined.
//   spread[t] = top - bottom bucket return; spread_mean is its mean over the dates where defined.
// Turnover of the top (bottom) bucket between consecutive dates t-1, t that both have buckets:
//   the fraction of the bucket's names at t that were not in it at t-1; mean over such dates.
// Rank autocorrelation: Spearman between the factor at t and at t-1 over the names valid at both
//   (ranks re-taken over those names; min_pairs applies); mean over the dates where defined.
// Coverage: mean over dates (with at least one bar) of the fraction of symbols with a bar that
//   have a factor value; missing_rate: the fraction of all (symbol, date) bars without a value.
//
// Determinism: dates are processed in parallel (core/parallel.h) in chunks of fixed size; every
// per-date number is a pure function of that date's data and every summary is reduced in date
// order, so results are bit-identical whatever the thread count.
#pragma once

#include <cstddef>
#include <limits>
#include <span>
#include <vector>

#include "qraft/core/panel.h"
#include "qraft/core/status.h"

namespace qraft::factor {

/// A read-only symbol-major array: values[s * num_times + t].
struct FieldView {
  std::span<const double> values;
  std::size_t num_symbols = 0;
  std::size_t num_times = 0;

  /// Field f of a Panel.
  static FieldView Of(const Panel& panel, std::size_t f) {
    return {panel.field(f), panel.num_symbols(), panel.num_times()};
  }
  bool empty() const { return values.empty(); }
};

/// A forward-return panel for one horizon (same shape as the factor).
struct ForwardReturns {
  int horizon = 0;
  FieldView values;
};

struct EvaluateOptions {
  /// Horizons in bars; distinct and > 0. Reports follow this order.
  std::vector<int> horizons = {1, 5, 10, 20};
  /// A per-date correlation needs at least this many valid pairs (>= 2), else it is NaN.
  std::size_t min_pairs = 10;
  /// Quantile buckets per date (>= 2).
  int n_quantiles = 10;
};

/// Statistics of a per-date series over the dates where it is defined. NaN when undefined:
/// mean with no dates; std, ir and t_stat with fewer than two dates (ir and t_stat also when std
/// is 0).
struct SeriesSummary {
  std::size_t num_dates = 0;
  double mean = std::numeric_limits<double>::quiet_NaN();
  double std = std::numeric_limits<double>::quiet_NaN();
  double ir = std::numeric_limits<double>::quiet_NaN();        ///< mean / std
  double t_stat = std::numeric_limits<double>::quiet_NaN();    ///< mean / std · sqrt(num_dates)
  double positive = std::numeric_limits<double>::quiet_NaN();  ///< fraction of dates > 0
};

/// Everything measured against one horizon's forward returns.
struct HorizonEvaluation {
  int horizon = 0;
  std::vector<double> ic;       ///< per date (num_times values)
  std::vector<double> rank_ic;  ///< per date
  SeriesSummary ic_summary;
  SeriesSummary rank_ic_summary;
  std::vector<double> quantile_returns;  ///< n_quantiles values, bucket 0 = lowest factor
  std::vector<double> spread;            ///< per date: top minus bottom bucket return
  double spread_mean = std::numeric_limits<double>::quiet_NaN();
};

struct FactorEvaluation {
  std::size_t num_symbols = 0;
  std::size_t num_times = 0;
  std::vector<HorizonEvaluation> horizons;  ///< in EvaluateOptions::horizons order
  double coverage = std::numeric_limits<double>::quiet_NaN();
  double missing_rate = std::numeric_limits<double>::quiet_NaN();
  double top_turnover = std::numeric_limits<double>::quiet_NaN();
  double bottom_turnover = std::numeric_limits<double>::quiet_NaN();
  double rank_autocorrelation = std::numeric_limits<double>::quiet_NaN();
};

/// r[s * T + t] = close[s * T + t + h] / close[s * T + t] - 1; NaN when t + h >= T, either close
/// is NaN, or the ratio is not finite. Errors: a bad shape or h <= 0.
Result<std::vector<double>> ComputeForwardReturns(FieldView close, int horizon);

/// Evaluates `factor` against forward returns of `close` for options.horizons. A symbol has a bar
/// at t where close is not NaN (the coverage denominator). Errors: shapes differ or do not match
/// their values, bad options.
Result<FactorEvaluation> EvaluateFactor(FieldView factor, FieldView close,
                                        const EvaluateOptions& options);

/// As EvaluateFactor with the forward returns given (one per horizon, in the order reported;
/// options.horizons is ignored). `bars` (optional, empty = every symbol has a bar at every date)
/// marks the bars by non-NaN values.
Result<FactorEvaluation> EvaluateFactorOnReturns(FieldView factor,
                                                 std::span<const ForwardReturns> returns,
                                                 FieldView bars, const EvaluateOptions& options);

struct CorrelationOptions {
  /// A per-date correlation of two factors needs at least this many names valid in both (>= 2).
  std::size_t min_pairs = 10;
  /// Factors closer than this in 1 - |corr| (average linkage) share a cluster; in [0, 1].
  double cluster_threshold = 0.3;
};

struct FactorCorrelation {
  std::size_t num_factors = 0;
  /// num_factors² row-major: the mean over dates of the cross-sectional Spearman correlation
  /// (per date over the names valid in both, min_pairs applies); NaN when never defined.
  std::vector<double> matrix;
  /// Cluster id of each factor: ids count from 0 in order of each cluster's first factor.
  std::vector<int> cluster;
  int num_clusters = 0;
};

/// Mean cross-sectional Spearman correlation of factors (all of one shape) and their redundancy
/// clusters (ClusterByCorrelation). Errors: no factors, shapes differ, bad options.
Result<FactorCorrelation> CorrelateFactors(std::span<const FieldView> factors,
                                           const CorrelationOptions& options);

/// Agglomerative clustering with average linkage (UPGMA) on the distance 1 - |corr| (NaN corr =
/// distance 1), merging while the closest pair of clusters is at most `threshold` apart (the
/// flat clusters of scipy's fcluster(criterion="distance")). Ties merge the pair that comes first
/// in factor order. Returns ids as FactorCorrelation::cluster. REQUIRES: matrix is n × n.
std::vector<int> ClusterByCorrelation(std::span<const double> matrix, std::size_t n,
                                      double threshold);

}  // namespace qraft::factor
