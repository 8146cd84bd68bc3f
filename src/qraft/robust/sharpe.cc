#include "qraft/robust/sharpe.h"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "qraft/core/parallel.h"
#include "qraft/robust/math_policy.h"

namespace qraft::robust {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

using StdNormal = boost::math::normal_distribution<double, NoThrowPolicy>;

double Phi(double x) {
  return boost::math::cdf(StdNormal(0.0, 1.0), x);
}
double PhiInv(double p) {
  return boost::math::quantile(StdNormal(0.0, 1.0), p);
}

// 1 - skew*sr + (kurt - 1)/4 * sr^2: T times the asymptotic variance of the Sharpe estimate.
double SharpeVarianceRadicand(double sr, double skew, double kurt) {
  return 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr;
}

// The expected-maximum formula proper, for real N > 1.
double ExpectedMaxFormula(double n) {
  return (1.0 - kEulerGamma) * PhiInv(1.0 - 1.0 / n) +
         kEulerGamma * PhiInv(1.0 - 1.0 / (n * std::numbers::e));
}

}  // namespace

double Moments::Sharpe(double rf_per_period) const {
  if (!(sd > 0.0)) return kNaN;
  return (mean - rf_per_period) / sd;
}

Moments ComputeMoments(std::span<const double> r) {
  Moments m;
  m.n = r.size();
  if (r.empty()) return m;
  const double n = static_cast<double>(r.size());
  double sum = 0.0, sum_abs = 0.0;
  for (double x : r) {
    sum += x;
    sum_abs += std::abs(x);
  }
  m.mean = sum / n;
  if (r.size() < 2) return m;
  // Second pass on deviations: no cancellation, whatever the level of the series.
  double s2 = 0.0, s3 = 0.0, s4 = 0.0;
  for (double x : r) {
    const double d = x - m.mean;
    const double d2 = d * d;
    s2 += d2;
    s3 += d2 * d;
    s4 += d2 * d2;
  }
  const double m2 = s2 / n, m3 = s3 / n, m4 = s4 / n;
  // The computed mean of a constant series can be off by up to ~eps * sum|r|, which leaves
  // deviations of that size: below it the series is constant to rounding, and its "moments"
  // would be noise (a Sharpe ratio of 1e12).
  const double noise = 2.0 * std::numeric_limits<double>::epsilon() * sum_abs;
  if (m2 <= noise * noise) {
    m.sd = 0.0;
    return m;
  }
  m.sd = std::sqrt(s2 / (n - 1.0));
  {
    m.skew = m3 / std::pow(m2, 1.5);
    m.kurt = m4 / (m2 * m2);
  }
  return m;
}

double SharpeRatio(std::span<const double> r, double rf_per_period) {
  return ComputeMoments(r).Sharpe(rf_per_period);
}

double SharpeStdError(double sr, std::size_t T, double skew, double kurt) {
  if (T < 2) return kNaN;
  const double rad = SharpeVarianceRadicand(sr, skew, kurt);
  if (!(rad > 0.0)) return kNaN;
  return std::sqrt(rad / static_cast<double>(T - 1));
}

double Psr(double sr, double sr_star, std::size_t T, double skew, double kurt) {
  if (T < 2 || std::isnan(sr_star)) return kNaN;
  const double rad = SharpeVarianceRadicand(sr, skew, kurt);
  if (!(rad > 0.0)) return kNaN;  // also catches NaN sr, skew, kurt
  // pypbo's psr verbatim: (sr - sr*) * sqrt(T - 1) / sqrt(radicand).
  const double z = (sr - sr_star) * std::sqrt(static_cast<double>(T - 1)) / std::sqrt(rad);
  return Phi(z);
}

double ExpectedMaxStandardNormal(double n_trials) {
  if (!(n_trials >= 1.0)) return kNaN;
  if (n_trials == 1.0) return 0.0;
  if (std::isinf(n_trials)) return kInf;
  if (n_trials < 2.0) return (n_trials - 1.0) * ExpectedMaxFormula(2.0);
  return ExpectedMaxFormula(n_trials);
}

double ExpectedMaxSharpe(double n_trials, double var_trial_sr) {
  if (!(var_trial_sr >= 0.0)) return kNaN;
  const double e = ExpectedMaxStandardNormal(n_trials);
  if (e == 0.0) return 0.0;  // one trial: no selection, whatever the variance (even +inf)
  return std::sqrt(var_trial_sr) * e;
}

double Dsr(double sr, double var_trial_sr, double n_trials, std::size_t T, double skew,
           double kurt) {
  return Psr(sr, ExpectedMaxSharpe(n_trials, var_trial_sr), T, skew, kurt);
}

double TrialSharpeVariance(std::span<const double> trial_sharpes) {
  if (trial_sharpes.size() < 2) return kNaN;
  const Moments m = ComputeMoments(trial_sharpes);
  return m.sd * m.sd;
}

double NullSharpeVariance(std::size_t T) {
  if (T < 2) return kNaN;
  return 1.0 / static_cast<double>(T - 1);
}

double MinTrl(double sr, double sr_star, double skew, double kurt, double prob) {
  if (std::isnan(sr) || std::isnan(sr_star) || std::isnan(skew) || std::isnan(kurt)) return kNaN;
  if (!(prob > 0.0 && prob < 1.0)) return kNaN;
  if (!(sr > sr_star)) return kInf;
  const double rad = SharpeVarianceRadicand(sr, skew, kurt);
  if (!(rad > 0.0)) return kNaN;
  const double z = PhiInv(prob) / (sr - sr_star);
  return 1.0 + rad * z * z;
}

MinBtl MinBacktestLength(double n_trials, double sr_is_annual) {
  MinBtl out;
  if (!(n_trials >= 1.0) || std::isnan(sr_is_annual) || sr_is_annual == 0.0) return out;
  const double e = ExpectedMaxStandardNormal(n_trials);
  out.years = (e / sr_is_annual) * (e / sr_is_annual);
  out.upper_years = 2.0 * std::log(n_trials) / (sr_is_annual * sr_is_annual);
  return out;
}

double AnnualizeSharpe(double sr, double periods_per_year) {
  if (!(periods_per_year > 0.0)) return kNaN;
  return sr * std::sqrt(periods_per_year);
}

double AnnualizeSharpeLo(double sr, std::size_t q, std::span<const double> rho) {
  if (q == 0) return kNaN;
  const double qd = static_cast<double>(q);
  double s = 0.0;
  for (std::size_t k = 1; k < q && k <= rho.size(); ++k)
    s += static_cast<double>(q - k) * rho[k - 1];
  const double rad = qd + 2.0 * s;
  if (!(rad > 0.0)) return kNaN;
  return sr * qd / std::sqrt(rad);
}

Result<EffectiveTrials> EstimateEffectiveTrials(const MatrixView& returns,
                                                EffectiveTrialsMethod method) {
  const std::size_t T = returns.rows, N = returns.cols;
  if (returns.data.size() != T * N) {
    return Status::InvalidArgument("effective trials: data has " +
                                   std::to_string(returns.data.size()) + " values, expected rows " +
                                   std::to_string(T) + " x cols " + std::to_string(N));
  }
  if (N < 1) return Status::InvalidArgument("effective trials: need at least 1 trial (column)");
  if (T < 2) return Status::InvalidArgument("effective trials: need at least 2 rows");
  for (std::size_t j = 0; j < N; ++j) {
    const auto col = returns.Column(j);
    for (std::size_t t = 0; t < T; ++t) {
      if (!std::isfinite(col[t])) {
        return Status::DataError("effective trials: value at row " + std::to_string(t) +
                                 ", column " + std::to_string(j) + " is not finite");
      }
    }
  }

  EffectiveTrials out;
  out.n_trials = N;
  out.n_eff = static_cast<double>(N);

  // Unit-norm centred columns, so that rho_ij is one dot product. Constant columns stay out.
  std::vector<double> z;
  z.reserve(T * N);
  std::size_t valid = 0;
  for (std::size_t j = 0; j < N; ++j) {
    const auto col = returns.Column(j);
    double sum = 0.0;
    for (double x : col)
      sum += x;
    const double mean = sum / static_cast<double>(T);
    double ss = 0.0;
    for (double x : col)
      ss += (x - mean) * (x - mean);
    if (!(ss > 0.0)) {
      ++out.constant_trials;
      continue;
    }
    const double inv = 1.0 / std::sqrt(ss);
    for (double x : col)
      z.push_back((x - mean) * inv);
    ++valid;
  }
  if (valid < 2) return out;

  // Row i of the upper triangle per work item; the per-row sums are combined in row order, so
  // the result does not depend on the thread count.
  struct Sums {
    double rho = 0.0, rho2 = 0.0;
  };
  std::vector<Sums> rows(valid);
  ParallelFor(valid, 8, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      const double* zi = z.data() + i * T;
      Sums s;
      for (std::size_t k = i + 1; k < valid; ++k) {
        const double* zk = z.data() + k * T;
        // Four independent partial sums: lets the compiler pipeline the loop while the order
        // of additions stays fixed.
        double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
        std::size_t t = 0;
        for (; t + 4 <= T; t += 4) {
          a0 += zi[t] * zk[t];
          a1 += zi[t + 1] * zk[t + 1];
          a2 += zi[t + 2] * zk[t + 2];
          a3 += zi[t + 3] * zk[t + 3];
        }
        for (; t < T; ++t)
          a0 += zi[t] * zk[t];
        const double rho = std::clamp((a0 + a1) + (a2 + a3), -1.0, 1.0);
        s.rho += rho;
        s.rho2 += rho * rho;
      }
      rows[i] = s;
    }
  });
  double sum_rho = 0.0, sum_rho2 = 0.0;
  for (const Sums& s : rows) {
    sum_rho += s.rho;
    sum_rho2 += s.rho2;
  }
  const double pairs = static_cast<double>(valid) * static_cast<double>(valid - 1) / 2.0;
  out.mean_correlation = sum_rho / pairs;
  out.mean_sq_correlation = sum_rho2 / pairs;
  const double n = static_cast<double>(N);
  switch (method) {
    case EffectiveTrialsMethod::kAverageCorrelation: {
      const double rho = std::clamp(out.mean_correlation, 0.0, 1.0);
      out.n_eff = rho + (1.0 - rho) * n;
      break;
    }
    case EffectiveTrialsMethod::kNyholt:
      out.n_eff = 1.0 + (n - 1.0) * (1.0 - std::clamp(out.mean_sq_correlation, 0.0, 1.0));
      break;
  }
  out.n_eff = std::clamp(out.n_eff, 1.0, n);
  return out;
}

}  // namespace qraft::robust
