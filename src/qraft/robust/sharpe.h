// The Sharpe-ratio statistics of the quality gates: sample moments, the Probabilistic Sharpe
// Ratio (PSR), the expected maximum Sharpe ratio of N trials (SR0), the Deflated Sharpe Ratio
// (DSR), the Minimum Track Record Length (MinTRL), the minimum backtest length, and an effective
// number of trials for correlated searches. Bailey & López de Prado (2012, 2014); every formula
// and convention is ../shared/reference/robust/SPEC.md §1, which is normative.
//
// Units. Everything is per period: the Sharpe ratio is mean / sd of per-period returns (sd with
// ddof 1), T counts return observations, the variance of trial Sharpe ratios is at the same
// frequency, MinTRL comes out in periods. Feeding an annualized Sharpe ratio with a daily T
// inflates the z-score by sqrt(q) (SPEC §1.5). Annualization exists only as display helpers.
//
// Moments. Skewness and kurtosis are the plug-in estimators g1 = m3 / m2^1.5 and g2 = m4 / m2^2
// with m_j = (1/T) sum (r - mean)^j (scipy bias=True). Kurtosis is RAW: 3 for a normal
// distribution. Passing excess kurtosis (0 for a normal) understates the variance of the Sharpe
// ratio and is the most common bug in public implementations (SPEC §1.2).
//
// Errors. These are closed forms over scalars, so domain errors are in-band, as SPEC §1 and §8
// prescribe: NaN when a result is undefined (bad argument, T < 2, a non-positive variance
// radicand; the gate turns a NaN into a gate error instead of clamping), +inf for "never" (MinTRL
// when SR <= SR*). Only the matrix helper returns a Status.
//
// Numerics. Phi and Phi^-1 are Boost.Math's normal distribution (erfc-based, ~1e-16 relative).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <limits>
#include <span>

#include "qraft/core/status.h"
#include "qraft/robust/matrix.h"

namespace qraft::robust {

/// The Euler–Mascheroni constant used by the expected-maximum formula (SPEC §1.3).
inline constexpr double kEulerGamma = 0.5772156649015329;

/// Sample moments of one per-period return series (SPEC §1.1).
struct Moments {
  double mean = std::numeric_limits<double>::quiet_NaN();
  double sd = std::numeric_limits<double>::quiet_NaN();    ///< ddof = 1
  double skew = std::numeric_limits<double>::quiet_NaN();  ///< plug-in g1 = m3 / m2^1.5
  /// Plug-in g2 = m4 / m2^2, RAW (3 for a normal distribution), never excess.
  double kurt = std::numeric_limits<double>::quiet_NaN();
  std::size_t n = 0;  ///< observations

  /// (mean - rf_per_period) / sd; NaN when sd is 0 or undefined.
  double Sharpe(double rf_per_period = 0.0) const;
};

/// Two-pass moments of r. mean is NaN for an empty series; sd, skew and kurt are NaN with
/// fewer than 2 values. A series constant to rounding (m2 <= (2 eps sum|r|)^2, the error of the
/// computed mean) has sd 0 and NaN skew and kurt, so its Sharpe ratio is NaN, not noise.
Moments ComputeMoments(std::span<const double> r);

/// Per-period Sharpe ratio (mean - rf) / sd, sd with ddof 1; NaN with fewer than 2 values or sd 0.
double SharpeRatio(std::span<const double> r, double rf_per_period = 0.0);

/// Standard error of the Sharpe ratio estimate,
/// sqrt((1 - skew*sr + (kurt - 1)/4 * sr^2) / (T - 1)) (SPEC §1.2; kurt raw).
/// NaN when T < 2 or the radicand is <= 0.
double SharpeStdError(double sr, std::size_t T, double skew, double kurt);

/// PSR(SR*) = Phi((sr - sr_star) * sqrt(T - 1) / sqrt(1 - skew*sr + (kurt - 1)/4 * sr^2)):
/// the probability that the true per-period Sharpe ratio exceeds sr_star given the estimate sr
/// over T observations with sample skewness `skew` and RAW kurtosis `kurt` (SPEC §1.2).
/// NaN when T < 2, an input is NaN, or the radicand is <= 0 (never clamped). A gate should
/// also require T >= 30 as policy; this function does not.
double Psr(double sr, double sr_star, std::size_t T, double skew, double kurt);

/// E[max of N independent standard normals], Bailey & López de Prado's approximation
/// (1 - gamma) Phi^-1(1 - 1/N) + gamma Phi^-1(1 - 1/(N e)) (pypbo expected_max). n_trials is a
/// real number so that an effective N can be used: 1 gives 0 (one trial, no selection); for
/// 1 < N < 2 the formula is not monotone (it turns negative near N = 1.3), so Qraft interpolates
/// linearly between 0 at N = 1 and the formula at N = 2 (0.52). NaN when N < 1 or NaN.
double ExpectedMaxStandardNormal(double n_trials);

/// SR0, the Sharpe ratio expected from the best of n_trials independent zero-skill trials:
/// sqrt(var_trial_sr) * ExpectedMaxStandardNormal(n_trials) (SPEC §1.3). var_trial_sr is the
/// cross-sectional variance (ddof 1) of the trials' per-period Sharpe ratios (divide an annual
/// variance by q). N = 1 gives 0. NaN when var_trial_sr < 0 or N < 1. Never the asymptotic
/// sqrt(2 ln N), which is biased for small N.
double ExpectedMaxSharpe(double n_trials, double var_trial_sr);

/// DSR = PSR(SR* = SR0(n_trials, var_trial_sr)) with the selected strategy's sr, T, skew and raw
/// kurt (SPEC §1.3). n_trials = 1 gives PSR(0). NaN as for Psr and ExpectedMaxSharpe.
double Dsr(double sr, double var_trial_sr, double n_trials, std::size_t T, double skew,
           double kurt);

/// Variance (ddof 1) of the trials' per-period Sharpe ratios, the V[{SR_n}] of DSR. NaN values
/// are an error of the caller and propagate; NaN with fewer than 2 values.
double TrialSharpeVariance(std::span<const double> trial_sharpes);

/// The null variance of a Sharpe estimate, 1 / (T - 1). Some implementations use it in place of
/// the trial variance when no trial set is available; it is a different quantity (SPEC §1.3,
/// sr_var_source = NULL_SE), so it is only ever used when a caller asks for it explicitly and
/// records that it did. NaN when T < 2.
double NullSharpeVariance(std::size_t T);

/// MinTRL = 1 + (1 - skew*sr + (kurt-1)/4*sr^2) * (Phi^-1(prob) / (sr - sr_star))^2, in PERIODS
/// (divide by q for years): the track record needed for PSR(sr_star) to reach prob (SPEC §1.4).
/// +inf ("never") when sr <= sr_star; NaN when an input is NaN, prob is outside (0, 1), or the
/// radicand is <= 0.
double MinTrl(double sr, double sr_star, double skew, double kurt, double prob = 0.95);

/// Minimum backtest length in YEARS for n_trials configurations whose best in-sample ANNUAL
/// Sharpe ratio is sr_is_annual, and its upper bound (pypbo minBTL, SPEC §1.4):
/// years = (E[max_N] / SR_IS)^2, upper = 2 ln N / SR_IS^2.
struct MinBtl {
  double years = std::numeric_limits<double>::quiet_NaN();
  double upper_years = std::numeric_limits<double>::quiet_NaN();
};
MinBtl MinBacktestLength(double n_trials, double sr_is_annual);

/// Display only: sr * sqrt(periods_per_year), exact for IID returns only (SPEC §1.5).
double AnnualizeSharpe(double sr, double periods_per_year);

/// Display only: Lo (2002) annualization with serial correlation,
/// sr * q / sqrt(q + 2 sum_{k=1}^{q-1} (q - k) rho_k), where rho[k-1] is the lag-k
/// autocorrelation of the per-period returns; lags beyond rho.size() count as 0 (so an empty
/// rho gives sr * sqrt(q)). NaN when q == 0 or the radicand is <= 0.
double AnnualizeSharpeLo(double sr, std::size_t q, std::span<const double> rho);

/// How EstimateEffectiveTrials turns pairwise correlations into an effective N.
enum class EffectiveTrialsMethod {
  /// N_eff = rho_bar + (1 - rho_bar) N with rho_bar the mean off-diagonal Pearson correlation,
  /// clamped to [0, 1] (so 1 <= N_eff <= N). The heuristic quoted by DSR calculators; SPEC §1.3
  /// marks it [UNCONFIRMED / heuristic]. It is exact for equicorrelated trials in the sense that
  /// rho = 0 gives N and rho = 1 gives 1. The default, because it is the one SPEC names.
  kAverageCorrelation,
  /// Nyholt (2004, Am. J. Hum. Genet. 74:765-769): M_eff = 1 + (M - 1)(1 - Var(lambda)/M) with
  /// lambda the eigenvalues of the correlation matrix and Var with divisor M - 1. Since the
  /// eigenvalues sum to M and their squares to sum_ij rho_ij^2, Var(lambda)/M equals the mean
  /// off-diagonal rho^2, so no eigendecomposition is needed: M_eff = 1 + (M - 1)(1 - mean rho^2).
  /// Anti-correlated trials count as dependent, unlike with kAverageCorrelation.
  kNyholt,
};

/// The effective number of trials and the correlation summaries it came from. Record n_eff,
/// the method and n_trials in the gate output: effective N is a heuristic (SPEC §1.3).
struct EffectiveTrials {
  double n_eff = 0;                 ///< per the method, in [1, n_trials]
  double mean_correlation = 0;      ///< mean off-diagonal rho over the valid pairs
  double mean_sq_correlation = 0;   ///< mean off-diagonal rho^2 over the valid pairs
  std::size_t n_trials = 0;         ///< columns of the input
  std::size_t constant_trials = 0;  ///< columns with zero variance (left out of the pairs)
};

/// Effective N of the columns of `returns` (T x N, one trial per column, finite values).
/// Pearson correlations over all T rows; columns with zero variance have no correlation and are
/// left out of the averages, but still count in N. With fewer than 2 non-constant columns
/// nothing can be estimated and n_eff = N (no reduction: conservative for DSR).
/// Cost O(N^2 T), deterministic (fixed summation order) whatever the thread count.
/// InvalidArgument when data.size() != rows * cols, rows < 2 or cols < 1; DataError naming the
/// first non-finite value.
Result<EffectiveTrials> EstimateEffectiveTrials(
    const MatrixView& returns,
    EffectiveTrialsMethod method = EffectiveTrialsMethod::kAverageCorrelation);

}  // namespace qraft::robust
