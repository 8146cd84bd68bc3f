#include "qraft/gates/stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "qraft/robust/pbo.h"
#include "qraft/robust/sharpe.h"
#include "qraft/robust/spa.h"

namespace qraft::gates::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Rows [begin, end) of every column, contiguous column-major (the robust functions' layout).
std::vector<double> Rows(const robust::MatrixView& m, std::size_t begin, std::size_t end) {
  const std::size_t n = end - begin;
  std::vector<double> out(n * m.cols);
  for (std::size_t j = 0; j < m.cols; ++j) {
    const std::span<const double> c = m.Column(j).subspan(begin, n);
    std::copy(c.begin(), c.end(), out.begin() + static_cast<std::ptrdiff_t>(j * n));
  }
  return out;
}

}  // namespace

double PerBarSharpe(std::span<const double> r) {
  return robust::SharpeRatio(r);
}

double SampleVariance(std::span<const double> x) {
  return robust::TrialSharpeVariance(x);
}

double ExpectedMaxSharpe(double trials, double variance) {
  return robust::ExpectedMaxSharpe(trials, variance);
}

double Dsr(std::span<const double> r, double variance, double trials) {
  const robust::Moments m = robust::ComputeMoments(r);
  return robust::Dsr(m.Sharpe(), variance, trials, m.n, m.skew, m.kurt);
}

double MinTrl(std::span<const double> r, double prob) {
  const robust::Moments m = robust::ComputeMoments(r);
  return robust::MinTrl(m.Sharpe(), 0.0, m.skew, m.kurt, prob);
}

double InformationRatio(std::span<const double> r, std::span<const double> b,
                        double periods_per_year) {
  std::vector<double> active(r.size());
  for (std::size_t t = 0; t < r.size(); ++t)
    active[t] = r[t] - b[t];
  return robust::AnnualizeSharpe(robust::SharpeRatio(active), periods_per_year);
}

double EffectiveTrials(const robust::MatrixView& returns, std::size_t begin, std::size_t end) {
  const std::vector<double> rows = Rows(returns, begin, end);
  const auto e = robust::EstimateEffectiveTrials(
      robust::MatrixView{.data = rows, .rows = end - begin, .cols = returns.cols});
  return e.ok() ? e->n_eff : static_cast<double>(returns.cols);
}

Result<PboFigures> Pbo(const robust::MatrixView& returns, std::size_t begin, std::size_t end,
                       std::size_t blocks) {
  const std::vector<double> rows = Rows(returns, begin, end);
  robust::PboOptions o;
  o.blocks = blocks;
  QRAFT_ASSIGN_OR_RETURN(
      const robust::PboResult r,
      robust::PboCscv(robust::MatrixView{.data = rows, .rows = end - begin, .cols = returns.cols},
                      o));
  return PboFigures{.pbo = r.pbo,
                    .prob_loss = r.prob_oos_loss,
                    .slope = r.slope,
                    .intercept = r.intercept,
                    .r2 = r.r2,
                    .splits = r.n_combos,
                    .logits = r.logits};
}

Result<SearchTest> TestSearch(const robust::MatrixView& returns, std::size_t begin, std::size_t end,
                              std::span<const double> benchmark, const GatesConfig& config) {
  const std::size_t n = end - begin, k = returns.cols;
  // Losses are negated returns (SPEC §2.1); the differentials d = r_model - r_bench.
  std::vector<double> loss = Rows(returns, begin, end);
  std::vector<double> diff(loss.size());
  std::vector<double> bench_loss(n);
  for (std::size_t t = 0; t < n; ++t)
    bench_loss[t] = -benchmark[begin + t];
  for (std::size_t j = 0; j < k; ++j) {
    for (std::size_t t = 0; t < n; ++t) {
      const std::size_t i = j * n + t;
      diff[i] = loss[i] - benchmark[begin + t];
      loss[i] = -loss[i];
    }
  }
  SearchTest out;
  out.block = config.block;
  if (!(out.block > 0)) {
    // Politis-White on every trial's differential; the longest keeps every series' dependence.
    // Trials whose differential is constant (no estimate) are left out; none left: arch's
    // default floor(sqrt(T)).
    std::vector<robust::BlockLength> lengths;
    for (std::size_t j = 0; j < k; ++j) {
      const auto b = robust::OptimalBlockLength(std::span(diff).subspan(j * n, n));
      if (b.ok()) lengths.push_back(*b);
    }
    out.block = lengths.empty()
                    ? std::floor(std::sqrt(static_cast<double>(n)))
                    : robust::BootstrapBlock(lengths, robust::BootstrapKind::kStationary);
  }
  robust::StepMOptions o;
  o.spa.mode = config.spa_mode == "arch_compat" ? robust::SpaMode::kArchCompat
                                                : robust::SpaMode::kHansen2005;
  o.spa.reps = config.bootstrap_reps;
  o.spa.block = out.block;
  o.spa.seed = config.seed;
  o.size = config.stepm.value > 0 && config.stepm.value < 1 ? config.stepm.value : 0.05;
  const auto sm =
      robust::StepM(bench_loss, robust::MatrixView{.data = loss, .rows = n, .cols = k}, o);
  if (!sm.ok()) {
    // Every trial's differential constant (e.g. nothing ever traded against cash): nothing to
    // test; the gates fail on NaN with this note.
    out.note = std::string(sm.status().message());
    out.spa_lower = out.spa_consistent = out.spa_upper = out.spa_se = out.rc_p = kNaN;
    out.statistic = kNaN;
    return out;
  }
  using robust::Recentering;
  out.spa_lower = sm->spa.pvalue(Recentering::kLower);
  out.spa_consistent = sm->spa.pvalue(Recentering::kConsistent);
  out.spa_upper = sm->spa.pvalue(Recentering::kUpper);
  out.spa_se = sm->spa.p_value_se[static_cast<std::size_t>(Recentering::kConsistent)];
  out.rc_p = sm->spa.reality_check_pvalue();
  out.statistic = sm->spa.statistic;
  out.stepm = sm->superior;
  return out;
}

}  // namespace qraft::gates::stats
