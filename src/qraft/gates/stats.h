// The gates' view of qraft::robust: each function takes windows of a returns matrix (T x N,
// column-major, one column per trial) as the gates hold them and returns the figure a gate
// compares. Conventions (reference/robust/SPEC.md §1): Sharpe ratios are per bar (mean / sd,
// ddof 1), kurtosis raw; losses are negative returns; the bootstrap is the stationary one with
// a seeded portable generator.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/gates/config.h"
#include "qraft/robust/matrix.h"

namespace qraft::gates::stats {

/// mean / sd (ddof 1) of `r`; NaN with fewer than 2 values or sd 0.
double PerBarSharpe(std::span<const double> r);
/// Sample variance (ddof 1); NaN with fewer than 2 values.
double SampleVariance(std::span<const double> x);
/// SR0: the expected maximum of `trials` Sharpe ratios with variance `variance` (0 for 1 trial).
double ExpectedMaxSharpe(double trials, double variance);
/// The deflated Sharpe ratio of the returns `r` against `trials` trials whose Sharpe ratios
/// have variance `variance` (PSR at SR0, with r's skewness and raw kurtosis).
double Dsr(std::span<const double> r, double variance, double trials);
/// MinTRL in bars for the Sharpe ratio of `r` to exceed 0 with confidence `prob`; +inf when
/// it is <= 0.
double MinTrl(std::span<const double> r, double prob);
/// Annualised information ratio of r against the benchmark b: mean(r - b) / sd(r - b) x
/// sqrt(periods_per_year); NaN when the active returns are constant.
double InformationRatio(std::span<const double> r, std::span<const double> b,
                        double periods_per_year);
/// The effective number of independent trials among the columns over rows [begin, end).
double EffectiveTrials(const robust::MatrixView& returns, std::size_t begin, std::size_t end);

/// SPA, Reality Check and StepM of every trial against the benchmark on rows [begin, end):
/// config.spa_mode (hansen2005: studentized, floored), one seeded stationary bootstrap for all
/// three; the block is the configured one or, when 0, the longest Politis-White estimate over the
/// trials' differentials.
struct SearchTest {
  double block = 0;      ///< mean block length used
  double statistic = 0;  ///< SPA's T (0 when no trial beats the benchmark in sample)
  double spa_lower = 0, spa_consistent = 0, spa_upper = 0, spa_se = 0;
  double rc_p = 0;                 ///< White's Reality Check (SPA's upper p-value)
  std::vector<std::size_t> stepm;  ///< superior trials, ascending
  std::string note;                ///< why nothing could be tested (figures NaN), else empty
};
Result<SearchTest> TestSearch(const robust::MatrixView& returns, std::size_t begin, std::size_t end,
                              std::span<const double> benchmark, const GatesConfig& config);

/// PBO by CSCV (Sharpe ratio per block) on rows [begin, end) with `blocks` blocks.
struct PboFigures {
  double pbo = 0, prob_loss = 0, slope = 0, intercept = 0, r2 = 0;
  std::size_t splits = 0;
  std::vector<double> logits;
};
Result<PboFigures> Pbo(const robust::MatrixView& returns, std::size_t begin, std::size_t end,
                       std::size_t blocks);

}  // namespace qraft::gates::stats
