// Probability of Backtest Overfitting by Combinatorially Symmetric Cross-Validation (CSCV),
// Bailey, Borwein, López de Prado & Zhu (2015). The algorithm and every convention are
// ../shared/reference/robust/SPEC.md §3, which is normative; it matches pypbo's pbo() except
// where SPEC says otherwise.
//
// Algorithm. The T x N matrix of per-period returns (one column per strategy configuration) loses
// its first T mod S rows, then is cut into S contiguous blocks of T/S rows. For each of the
// C(S, S/2) ways to pick S/2 blocks as in-sample (lexicographic order of the block indices, as
// itertools.combinations), the metric is evaluated on the in-sample rows (R) and on the
// complementary out-of-sample rows (Rbar); n* = argmax R (lowest column on ties); the OOS rank r
// of Rbar[n*] among Rbar (1 = worst, average ranks for ties); omega = r / (N + 1); the logit
// lambda = ln(omega / (1 - omega)). PBO = #{lambda <= 0} / #splits. The performance-degradation
// regression is OLS of Rbar[n*] on R[n*] across splits; the probability of OOS loss is
// #{Rbar[n*] < loss_threshold} / #splits (strict).
//
// NaN metrics (a zero-variance Sharpe ratio; a custom metric's NaN) rank as -inf, below every
// number and tied with each other, in-sample and out-of-sample (SPEC §3.3), and are counted.
// A NaN Rbar[n*] counts as an OOS loss (it is -inf), and splits whose R[n*] or Rbar[n*] is NaN
// are left out of the regression.
//
// Cost. The built-in metrics (Sharpe, mean) come from per-block sufficient statistics (sum and
// sum of squares of each column in each block, shifted by the column mean so the one-pass
// variance does not cancel): O(T N) once, then O(S N) per split, not O(T N). Splits run in
// parallel in chunks whose boundaries depend only on the split count, and every per-split value
// is computed by the same instructions in the same order whatever the thread that runs it, so
// the result is bit-identical for any thread count. Memory O(S N + splits).
//
// Thread-safety: pure function; it runs tasks on oneTBB's pool (cap with qraft::ThreadLimit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/robust/matrix.h"

namespace qraft::robust {

/// The performance metric of one strategy on a set of rows.
enum class PboMetric {
  kSharpe,  ///< mean / sd (ddof 1), per period; NaN when the sd is 0 to rounding (see below)
  kMean,    ///< mean per period
  kCustom,  ///< PboOptions::custom_metric
};

/// A custom metric: fills out[j] (out.size() == rows.cols) with the metric of column j over
/// `rows` (a contiguous column-major copy of the in-sample or out-of-sample rows, blocks in
/// ascending order). Called concurrently from several threads, so it must be thread-safe; it
/// must be deterministic for the result to be. O(T N) per split: much slower than the built-ins.
using PboMetricFn = std::function<void(const MatrixView& rows, std::span<double> out)>;

struct PboOptions {
  /// S, the number of blocks: even, 2 <= S <= 24 (C(24, 12) = 2.7 million splits; beyond that
  /// the per-split outputs alone take gigabytes), and T / S >= 2 rows per block.
  std::size_t blocks = 16;
  PboMetric metric = PboMetric::kSharpe;
  PboMetricFn custom_metric = {};  ///< required with kCustom, ignored otherwise
  /// Rbar[n*] strictly below this is an OOS loss (0 for Sharpe ratios and returns). Finite.
  double loss_threshold = 0.0;
};

struct PboResult {
  double pbo = 0;            ///< #{lambda <= 0} / n_combos, in [0, 1]
  double prob_oos_loss = 0;  ///< #{Rbar[n*] < loss_threshold} / n_combos
  /// OLS of Rbar[n*] (y) on R[n*] (x) across splits, as scipy.stats.linregress(x, y): slope,
  /// intercept, r^2 and the two-sided p-value of the slope (t with n - 2 degrees of freedom).
  /// Over the splits whose R[n*] and Rbar[n*] are both numbers; NaN when fewer than 2 such
  /// splits (the p-value: fewer than 3) or all their R[n*] are equal. A negative slope is
  /// evidence of overfitting.
  double slope = std::numeric_limits<double>::quiet_NaN();
  double intercept = std::numeric_limits<double>::quiet_NaN();
  double r2 = std::numeric_limits<double>::quiet_NaN();
  double slope_pvalue = std::numeric_limits<double>::quiet_NaN();
  std::size_t n_combos = 0;           ///< C(S, S/2)
  std::size_t dropped_rows = 0;       ///< T mod S leading rows left out
  std::size_t rows_per_block = 0;     ///< T / S
  std::size_t nan_metrics = 0;        ///< NaN metric values over all splits, IS and OOS together
  std::size_t regression_points = 0;  ///< splits used by the regression
  /// Per split, in lexicographic order of the in-sample block sets (CscvSplits):
  std::vector<double> logits = {};       ///< lambda_c
  std::vector<double> is_star = {};      ///< R[n*_c]
  std::vector<double> oos_star = {};     ///< Rbar[n*_c]
  std::vector<double> oos_rank = {};     ///< average rank of Rbar[n*_c] among Rbar, 1 = worst
  std::vector<std::size_t> n_star = {};  ///< n*_c, the in-sample best column
};

/// The in-sample block sets of CSCV with `blocks` blocks as bit masks (bit b set = block b is
/// in-sample), in the lexicographic order of itertools.combinations(range(S), S/2):
/// S = 4 gives {0,1}, {0,2}, {0,3}, {1,2}, {1,3}, {2,3}. InvalidArgument unless S is even and
/// 2 <= S <= 24.
Result<std::vector<std::uint32_t>> CscvSplits(std::size_t blocks);

/// PBO by CSCV of the strategies in the columns of `returns` (T x N, per-period returns, finite).
/// InvalidArgument: data.size() != rows * cols, N < 2, S odd, < 2 or > 24, fewer than 2 rows per
/// block, kCustom without a function, a non-finite loss_threshold. DataError naming the first
/// non-finite value.
///
/// The Sharpe ratio of kSharpe is (K + s1/n) / sqrt((s2 - s1^2/n) / (n - 1)) with s1, s2 the sums
/// of x - K and (x - K)^2 over the n rows, K the column's mean over all kept rows; when
/// s2 - s1^2/n <= 8 n eps s2 the rows are constant to rounding and the metric is NaN.
Result<PboResult> PboCscv(const MatrixView& returns, const PboOptions& options = {});

}  // namespace qraft::robust
