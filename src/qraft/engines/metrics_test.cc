// Tests of the streaming metrics (metrics.h):
//  * golden values (testdata/metrics_golden.json, scripts/peers/metrics_golden.py): the
//    definitions of docs/metrics.md written plainly in numpy, on real S&P 500 returns and on edge
//    cases, every metric within 1e-12 relative; Qlib's risk_analysis run by pandas;
//  * reference/qlib/SPEC.md §4.3's cross-check vector, to the digits printed there;
//  * invariants: zero returns, scaling, streaming = two-pass formulas, determinism.
#include "qraft/engines/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace qraft::engines {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json LoadGolden() {
  const fs::path path = fs::path(__FILE__).parent_path() / "testdata" / "metrics_golden.json";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return json::parse(in);
}

const json& Golden() {
  static const json kGolden = LoadGolden();
  return kGolden;
}

// |a - b| <= 1e-12 * max(|b|, 1e-3); null (NaN) must match NaN.
void ExpectClose(double actual, const json& expected, const std::string& what) {
  if (expected.is_null()) {
    EXPECT_TRUE(std::isnan(actual)) << what << ": expected NaN, got " << actual;
    return;
  }
  const double b = expected.get<double>();
  EXPECT_LE(std::abs(actual - b), 1e-12 * std::max(std::abs(b), 1e-3))
      << what << ": got " << actual << ", expected " << b;
}

std::vector<double> Doubles(const json& array) {
  std::vector<double> out;
  for (const json& v : array)
    out.push_back(v.is_null() ? kNaN : v.get<double>());
  return out;
}

Metrics RunCase(const json& c, const MetricsOptions& options) {
  const std::vector<double> r = Doubles(c["returns"]);
  auto column = [&](const char* key) {
    return c.contains(key) ? Doubles(c[key]) : std::vector<double>(r.size(), 0.0);
  };
  const std::vector<double> turnover = column("turnover");
  const std::vector<double> fees = column("fees");
  const std::vector<double> exposure = column("gross_exposure");
  const std::vector<double> bench =
      c.contains("benchmark") ? Doubles(c["benchmark"]) : std::vector<double>(r.size(), kNaN);
  MetricsAccumulator acc(options);
  acc.Reserve(r.size());
  for (std::size_t t = 0; t < r.size(); ++t) {
    acc.AddBar({.ret = r[t],
                .benchmark = bench[t],
                .turnover = turnover[t],
                .fees = fees[t],
                .gross_exposure = exposure[t]});
  }
  if (c.contains("trades")) {
    for (const json& trade : c["trades"]) {
      acc.AddTrade({.pnl = trade["pnl"].get<double>(),
                    .ret = trade["ret"].get<double>(),
                    .holding_bars = trade["holding_bars"].get<std::int64_t>()});
    }
  }
  return acc.Finish();
}

MetricsOptions OptionsOf(const json& c) {
  MetricsOptions o;
  o.periods_per_year = c["options"]["periods_per_year"].get<double>();
  o.risk_free = c["options"]["risk_free"].get<double>();
  o.initial_capital = c["options"]["initial_capital"].get<double>();
  return o;
}

bool SameBits(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

void ExpectBitIdentical(const Metrics& a, const Metrics& b) {
  for (const MetricField& f : MetricFields()) {
    EXPECT_TRUE(SameBits(MetricValue(a, f), MetricValue(b, f))) << f.name;
  }
}

// A deterministic real-looking return series (no RNG library: a fixed LCG).
std::vector<double> Series(std::size_t n, double scale = 0.01, std::uint64_t seed = 7) {
  std::vector<double> r(n);
  std::uint64_t x = seed;
  for (double& v : r) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const double u = static_cast<double>(x >> 11) * 0x1.0p-53;
    v = scale * (u - 0.49) * 2;
  }
  return r;
}

// ------------------------------------------------------------------------------------ golden

TEST(MetricsGolden, EveryMetricOfEveryCase) {
  const json& cases = Golden()["metrics"];
  ASSERT_GE(cases.size(), 7u);
  for (const json& c : cases) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    const Metrics m = RunCase(c, OptionsOf(c));
    const json& expected = c["expected"];
    std::set<std::string> keys;
    for (const MetricField& f : MetricFields()) {
      const std::string key(f.name);
      keys.insert(key);
      ASSERT_TRUE(expected.contains(key)) << key;
      if (f.count != nullptr) {
        EXPECT_EQ(m.*f.count, expected[key].get<std::int64_t>()) << key;
      } else {
        ExpectClose(m.*f.real, expected[key], key);
      }
    }
    // The golden file and the library name exactly the same metrics.
    std::set<std::string> golden_keys;
    for (const auto& item : expected.items())
      golden_keys.insert(item.key());
    EXPECT_EQ(keys, golden_keys);
  }
}

TEST(MetricsGolden, QlibRiskAnalysisFullPrecision) {
  const json& cases = Golden()["qlib_risk_analysis"];
  ASSERT_EQ(cases.size(), 4u);
  for (const json& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const QlibMode mode = c["mode"] == "sum" ? QlibMode::kSum : QlibMode::kProduct;
    const QlibRisk risk =
        QlibRiskAnalysis(Doubles(c["returns"]), mode, c["periods_per_year"].get<double>());
    const json& e = c["expected"];
    ExpectClose(risk.mean, e["mean"], "mean");
    ExpectClose(risk.std, e["std"], "std");
    ExpectClose(risk.annualized_return, e["annualized_return"], "annualized_return");
    ExpectClose(risk.information_ratio, e["information_ratio"], "information_ratio");
    ExpectClose(risk.max_drawdown, e["max_drawdown"], "max_drawdown");
  }
}

// ------------------------------------------------------------------------- Qlib SPEC §4.3

// The literals of reference/qlib/SPEC.md §4.3, each to half a unit of its last printed digit.
TEST(QlibRisk, SpecVectorSumMode) {
  const std::vector<double> r = {0.01, -0.02, 0.015, 0.005, -0.01, 0.003, 0.0, 0.012};
  const QlibRisk q = QlibRiskAnalysis(r, QlibMode::kSum, kQlibDaysPerYear);
  EXPECT_NEAR(q.mean, 0.001875, 1e-15);
  EXPECT_NEAR(q.std, 0.0118011803284, 0.5e-13);
  EXPECT_NEAR(q.annualized_return, 0.44625, 1e-13);
  EXPECT_NEAR(q.information_ratio, 2.45111847787, 0.5e-11);
  EXPECT_NEAR(q.max_drawdown, -0.02, 1e-15);
}

TEST(QlibRisk, SpecVectorProductMode) {
  const std::vector<double> r = {0.01, -0.02, 0.015, 0.005, -0.01, 0.003, 0.0, 0.012};
  const QlibRisk q = QlibRiskAnalysis(r, QlibMode::kProduct, kQlibDaysPerYear);
  EXPECT_NEAR(q.mean, 0.00181383320048, 0.5e-14);
  EXPECT_NEAR(q.std, 0.0118303826815, 0.5e-13);
  EXPECT_NEAR(q.annualized_return, 0.539259205925, 0.5e-12);
  EXPECT_NEAR(q.information_ratio, 2.36530436024, 0.5e-11);
  EXPECT_NEAR(q.max_drawdown, -0.02, 1e-15);
}

TEST(QlibRisk, JsonKeysAndPeakWithoutAnchor) {
  // Qlib's peak starts at the first bar, so a first-bar loss is no drawdown; ours anchors at 1.
  const std::vector<double> r = {-0.1, 0.05};
  const QlibRisk q = QlibRiskAnalysis(r, QlibMode::kProduct);
  EXPECT_DOUBLE_EQ(q.max_drawdown, 0.0);
  EXPECT_NEAR(ComputeMetrics(r).max_drawdown, -0.1, 1e-15);
  const QlibRisk one = QlibRiskAnalysis(std::vector<double>{0.01});
  const json j = ToJson(one);
  EXPECT_EQ(j.size(), 5u);
  EXPECT_TRUE(j["std"].is_null());
  EXPECT_TRUE(j["information_ratio"].is_null());
  EXPECT_DOUBLE_EQ(j["mean"].get<double>(), 0.01);
  EXPECT_TRUE(ToJson(QlibRiskAnalysis({})).at("mean").is_null());
}

// ------------------------------------------------------------------------------ invariants

TEST(MetricsInvariants, ZeroReturns) {
  const Metrics m = ComputeMetrics(std::vector<double>(100, 0.0));
  EXPECT_EQ(m.bars, 100);
  EXPECT_EQ(m.total_return, 0.0);
  EXPECT_EQ(m.annual_return, 0.0);
  EXPECT_EQ(m.volatility, 0.0);
  EXPECT_EQ(m.max_drawdown, 0.0);
  EXPECT_EQ(m.max_drawdown_duration, 0);
  // Zero dispersion: ratios are undefined, reported as NaN (never ±inf, never 0).
  EXPECT_TRUE(std::isnan(m.sharpe));
  EXPECT_TRUE(std::isnan(m.sortino));
  EXPECT_TRUE(std::isnan(m.calmar));
  EXPECT_TRUE(std::isnan(m.skew));
  EXPECT_TRUE(std::isnan(m.kurtosis));
  EXPECT_TRUE(std::isnan(m.tail_ratio));
  EXPECT_EQ(m.var_95, 0.0);
  EXPECT_EQ(m.cvar_95, 0.0);
  EXPECT_TRUE(std::isnan(m.information_ratio));  // no benchmark given
  EXPECT_TRUE(std::isnan(m.win_rate));           // no trades
  EXPECT_EQ(m.fees, 0.0);
}

TEST(MetricsInvariants, NoBars) {
  const Metrics m = MetricsAccumulator().Finish();
  EXPECT_EQ(m.bars, 0);
  EXPECT_EQ(m.trades, 0);
  EXPECT_EQ(m.fees, 0.0);
  for (const MetricField& f : MetricFields()) {
    if (f.real != nullptr && f.name != "fees" && f.name != "fees_fraction") {
      EXPECT_TRUE(std::isnan(m.*f.real)) << f.name;
    }
  }
}

TEST(MetricsInvariants, ScalingReturnsScalesVolatilityNotSharpe) {
  const std::vector<double> r = Series(1000);
  const Metrics base = ComputeMetrics(r);
  for (double k : {0.5, 2.0, 3.0, 0.1}) {
    std::vector<double> scaled(r);
    for (double& v : scaled)
      v *= k;
    const Metrics m = ComputeMetrics(scaled);
    EXPECT_NEAR(m.volatility, k * base.volatility, 1e-13 * k * base.volatility) << k;
    EXPECT_NEAR(m.sharpe, base.sharpe, 1e-12 * std::abs(base.sharpe)) << k;
    EXPECT_NEAR(m.sortino, base.sortino, 1e-12 * std::abs(base.sortino)) << k;
    EXPECT_NEAR(m.skew, base.skew, 1e-10 * std::abs(base.skew)) << k;
    EXPECT_NEAR(m.kurtosis, base.kurtosis, 1e-10 * std::abs(base.kurtosis)) << k;
    EXPECT_NEAR(m.var_95, k * base.var_95, 1e-15) << k;
    EXPECT_NEAR(m.tail_ratio, base.tail_ratio, 1e-12 * base.tail_ratio) << k;
  }
}

// Streaming in one pass equals the two-pass batch formulas.
TEST(MetricsInvariants, StreamingEqualsTwoPass) {
  const std::vector<double> r = Series(5000, 0.02, 11);
  const std::vector<double> b = Series(5000, 0.01, 12);
  const double n = static_cast<double>(r.size());
  const double mean = std::accumulate(r.begin(), r.end(), 0.0) / n;
  double ss = 0, s3 = 0, s4 = 0, active_mean = 0, active_ss = 0, down = 0;
  for (std::size_t t = 0; t < r.size(); ++t) {
    const double d = r[t] - mean;
    ss += d * d;
    s3 += d * d * d;
    s4 += d * d * d * d;
    active_mean += r[t] - b[t];
    down += std::min(r[t], 0.0) * std::min(r[t], 0.0);
  }
  active_mean /= n;
  for (std::size_t t = 0; t < r.size(); ++t) {
    const double d = r[t] - b[t] - active_mean;
    active_ss += d * d;
  }
  const double sd = std::sqrt(ss / (n - 1));
  const Metrics m = ComputeMetrics(r, b);
  auto rel = [](double x) { return 1e-12 * std::abs(x); };
  EXPECT_NEAR(m.volatility, sd * std::sqrt(252.0), rel(m.volatility));
  EXPECT_NEAR(m.sharpe, mean / sd * std::sqrt(252.0), 1e-10 * std::abs(m.sharpe));
  EXPECT_NEAR(m.sortino, mean / std::sqrt(down / n) * std::sqrt(252.0),
              1e-10 * std::abs(m.sortino));
  EXPECT_NEAR(m.skew, (s3 / n) / std::pow(ss / n, 1.5), 1e-10 * std::abs(m.skew));
  EXPECT_NEAR(m.kurtosis, (s4 / n) / ((ss / n) * (ss / n)) - 3, 1e-10 * std::abs(m.kurtosis));
  EXPECT_NEAR(m.information_ratio, active_mean / std::sqrt(active_ss / (n - 1)) * std::sqrt(252.0),
              1e-10 * std::abs(m.information_ratio));
  // ComputeMetrics is exactly the accumulator fed bar by bar.
  MetricsAccumulator acc;
  for (std::size_t t = 0; t < r.size(); ++t)
    acc.AddBar({.ret = r[t], .benchmark = b[t]});
  ExpectBitIdentical(acc.Finish(), m);
}

// AddBars folds whole blocks straight from the arrays; it must give the bits of AddBar, whatever
// the split into calls, with partial and missing benchmarks, and after Reset.
TEST(MetricsInvariants, AddBarsEqualsAddBarBitForBit) {
  const std::vector<double> r = Series(3001, 0.02, 21);
  std::vector<double> b = Series(3001, 0.01, 22);
  for (std::size_t t = 0; t < b.size(); t += 7)
    b[t] = kNaN;  // missing benchmark bars
  for (std::size_t t = 512; t < 1024; ++t)
    b[t] = kNaN;  // whole blocks without a benchmark
  std::vector<double> turnover(r.size()), fees(r.size()), exposure(r.size());
  for (std::size_t t = 0; t < r.size(); ++t) {
    turnover[t] = std::abs(r[t]) * 3;
    fees[t] = std::abs(r[t]) * 100;
    exposure[t] = t % 5 == 0 ? 0.0 : 0.9;
  }
  MetricsAccumulator one;
  for (std::size_t t = 0; t < r.size(); ++t)
    one.AddBar({.ret = r[t],
                .benchmark = b[t],
                .turnover = turnover[t],
                .fees = fees[t],
                .gross_exposure = exposure[t]});
  const Metrics expected = one.Finish();
  for (const std::size_t split :
       {std::size_t{1}, std::size_t{100}, std::size_t{256}, std::size_t{700}, r.size()}) {
    MetricsAccumulator many;
    many.AddBar({.ret = 0.5});  // then Reset: nothing of it may remain
    many.AddTrade({.pnl = 1});
    many.Reset();
    for (std::size_t t0 = 0; t0 < r.size(); t0 += split) {
      const std::size_t n = std::min(split, r.size() - t0);
      auto part = [&](const std::vector<double>& v) { return std::span(v).subspan(t0, n); };
      many.AddBars({.ret = part(r),
                    .benchmark = part(b),
                    .turnover = part(turnover),
                    .fees = part(fees),
                    .gross_exposure = part(exposure)});
    }
    ExpectBitIdentical(many.Finish(), expected);
  }
}

// With the equity column, drawdowns are measured on equity: bit for bit the bar-by-bar
// definition (a running peak from the initial capital, min of (E - P) / P, the longest run under
// water) whether a block makes a new peak or not, whatever the split into calls; total return
// is E_last / C_0 - 1; and everything agrees with the wealth product within rounding.
TEST(MetricsDefinitions, EquityColumnDrawdownIsTheBarByBarDefinition) {
  const double capital = 1000;
  std::vector<double> r = Series(5000, 0.01, 31);
  for (std::size_t t = 1000; t < 3000; ++t)
    r[t] = -std::abs(r[t]) * 0.5;  // a long fall: blocks without a new peak
  for (std::size_t t = 3000; t < 3600; ++t)
    r[t] = std::abs(r[t]);  // a recovery to new peaks
  std::vector<double> equity(r.size());
  double e = capital;
  for (std::size_t t = 0; t < r.size(); ++t)
    equity[t] = e *= 1 + r[t];
  for (std::size_t t = 1; t < r.size(); ++t)
    r[t] = equity[t] / equity[t - 1] - 1;  // the returns the engine would give
  r[0] = equity[0] / capital - 1;
  double peak = capital, max_dd = 0;
  std::int64_t under = 0, longest = 0;
  for (const double x : equity) {
    under = x < peak ? under + 1 : 0;
    peak = std::max(peak, x);
    longest = std::max(longest, under);
    max_dd = std::min(max_dd, (x - peak) / peak);
  }
  MetricsOptions o;
  o.initial_capital = capital;
  MetricsAccumulator product(o), bar(o);
  product.AddBars({.ret = r});
  for (std::size_t t = 0; t < r.size(); ++t)
    bar.AddBar({.ret = r[t], .equity = equity[t]});
  const Metrics from_product = product.Finish(), by_bar = bar.Finish();
  EXPECT_EQ(by_bar.max_drawdown, max_dd);
  EXPECT_EQ(by_bar.max_drawdown_duration, longest);
  EXPECT_EQ(by_bar.total_return, equity.back() / capital - 1);
  EXPECT_NEAR(by_bar.max_drawdown, from_product.max_drawdown, 1e-12);
  EXPECT_EQ(by_bar.max_drawdown_duration, from_product.max_drawdown_duration);
  EXPECT_NEAR(by_bar.total_return, from_product.total_return,
              1e-12 * std::abs(from_product.total_return));
  for (const std::size_t split : {std::size_t{1}, std::size_t{300}, std::size_t{4096}}) {
    MetricsAccumulator many(o);
    for (std::size_t t0 = 0; t0 < r.size(); t0 += split) {
      const std::size_t n = std::min(split, r.size() - t0);
      many.AddBars(
          {.ret = std::span(r).subspan(t0, n), .equity = std::span(equity).subspan(t0, n)});
    }
    ExpectBitIdentical(many.Finish(), by_bar);
  }
}

// var_95, cvar_95 and tail_ratio are exact order statistics: equal to the plain sort-based
// formulas (numpy's linear percentile; the k smallest), on data full of ties (flat bars).
TEST(MetricsInvariants, TailStatisticsAreExactOrderStatistics) {
  for (const std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{19}, std::size_t{20},
                              std::size_t{21}, std::size_t{1000}, std::size_t{100003}}) {
    std::vector<double> r = Series(n, 0.01, static_cast<std::uint64_t>(n));
    for (std::size_t t = 0; t < n; t += 2)
      r[t] = 0.0;  // half the bars flat
    for (std::size_t t = 1; t < n; t += 9)
      r[t] = -0.0125;  // repeated losses
    std::vector<double> sorted = r;
    std::sort(sorted.begin(), sorted.end());
    auto percentile = [&](double p) {
      const double h = (static_cast<double>(n) - 1) * p;
      const auto lo = static_cast<std::size_t>(std::floor(h));
      const double a = sorted[lo], b = sorted[std::min(lo + 1, n - 1)];
      const double g = h - std::floor(h);
      return g >= 0.5 ? b - (b - a) * (1 - g) : a + (b - a) * g;
    };
    const std::size_t k = static_cast<std::size_t>((static_cast<double>(n) - 1) * 0.05) + 1;
    const double cvar = std::accumulate(sorted.begin(), sorted.begin() + k, 0.0) / k;
    const Metrics m = ComputeMetrics(r);
    EXPECT_EQ(m.var_95, percentile(0.05)) << n;
    EXPECT_NEAR(m.cvar_95, cvar, 1e-12 * std::abs(cvar)) << n;  // summation order differs
    const double tail = std::abs(percentile(0.95)) / std::abs(percentile(0.05));
    if (std::isfinite(tail)) {
      EXPECT_EQ(m.tail_ratio, tail) << n;
    } else {
      EXPECT_TRUE(std::isnan(m.tail_ratio)) << n;
    }
  }
}

// An accumulator reused for run after run collects tail candidates from the previous run's hint;
// whether the hint fits (a similar run), is too loose (a wilder run), too tight (a calmer run),
// lands on a mass of ties (flat bars) or meets a short run, every result is bit for bit that of
// a fresh accumulator.
TEST(MetricsInvariants, TailHintsNeverChangeResults) {
  auto series = [](std::size_t n, double scale, std::uint64_t seed, std::size_t flat_every) {
    std::vector<double> r = Series(n, scale, seed);
    for (std::size_t t = 0; flat_every != 0 && t < n; t += flat_every)
      r[t] = 0.0;
    return r;
  };
  const std::vector<std::vector<double>> runs = {
      series(100000, 0.01, 1, 0),   series(100000, 0.011, 2, 0), series(90000, 0.05, 3, 0),
      series(120000, 0.001, 4, 0),  series(100000, 0.01, 5, 2),  series(100000, 0.01, 6, 3),
      series(70000, 0.0001, 7, 50), series(5000, 0.01, 8, 0),    series(100000, 0.02, 9, 4)};
  MetricsAccumulator reused;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    reused.Reset();
    for (std::size_t t0 = 0; t0 < runs[i].size(); t0 += 4096) {
      reused.AddBars({.ret = std::span(runs[i]).subspan(
                          t0, std::min<std::size_t>(4096, runs[i].size() - t0))});
    }
    SCOPED_TRACE("run " + std::to_string(i));
    ExpectBitIdentical(reused.Finish(), ComputeMetrics(runs[i]));
  }
}

TEST(MetricsInvariants, DeterministicAndFinishIsRepeatable) {
  const std::vector<double> r = Series(3000, 0.03, 5);
  MetricsAccumulator a;
  MetricsAccumulator b;
  for (double v : r) {
    a.AddReturn(v);
    b.AddReturn(v);
  }
  a.AddTrade({.pnl = 3.0, .ret = 0.01, .holding_bars = 4});
  b.AddTrade({.pnl = 3.0, .ret = 0.01, .holding_bars = 4});
  const Metrics first = a.Finish();
  ExpectBitIdentical(first, a.Finish());
  ExpectBitIdentical(first, b.Finish());
  EXPECT_EQ(ToJson(first).dump(), ToJson(b.Finish()).dump());
}

TEST(MetricsInvariants, TailMetricsOffKeepsEverythingElse) {
  const std::vector<double> r = Series(500);
  MetricsOptions off;
  off.tail_metrics = false;
  const Metrics with = ComputeMetrics(r);
  const Metrics without = ComputeMetrics(r, {}, off);
  for (const MetricField& f : MetricFields()) {
    if (f.name == "var_95" || f.name == "cvar_95" || f.name == "tail_ratio") {
      EXPECT_TRUE(std::isnan(MetricValue(without, f))) << f.name;
      EXPECT_FALSE(std::isnan(MetricValue(with, f))) << f.name;
    } else {
      EXPECT_TRUE(SameBits(MetricValue(with, f), MetricValue(without, f))) << f.name;
    }
  }
}

// ------------------------------------------------------------------------- definitions

TEST(MetricsDefinitions, DrawdownDepthAndDuration) {
  // Wealth: 1.1, 0.99, 1.0395, 1.2474, 1.1227, 1.1227 (ends under water, 2 bars).
  const std::vector<double> r = {0.1, -0.1, 0.05, 0.2, -0.1, 0.0};
  const Metrics m = ComputeMetrics(r);
  EXPECT_EQ(m.max_drawdown_duration, 2);
  EXPECT_NEAR(m.max_drawdown, -0.1, 1e-15);
  EXPECT_NEAR(m.total_return, 1.1 * 0.9 * 1.05 * 1.2 * 0.9 - 1, 1e-15);
  EXPECT_NEAR(m.calmar, m.annual_return / 0.1, 1e-12 * std::abs(m.calmar));
  // A run that never recovers counts to the end.
  EXPECT_EQ(
      ComputeMetrics(std::vector<double>{0.01, -0.01, 0.001, 0.001, 0.001}).max_drawdown_duration,
      4);
}

TEST(MetricsDefinitions, AnnualisationFactors) {
  EXPECT_EQ(PeriodsPerYear(240, 252), 60480.0);
  const std::vector<double> r = {0.001, 0.002};
  for (double ann :
       {kTradingDaysPerYear, kQlibDaysPerYear, kCalendarDaysPerYear, PeriodsPerYear(240, 252)}) {
    MetricsOptions o;
    o.periods_per_year = ann;
    const Metrics m = ComputeMetrics(r, {}, o);
    EXPECT_NEAR(m.annual_return, std::pow(1.001 * 1.002, ann / 2) - 1,
                1e-12 * std::abs(m.annual_return))
        << ann;
  }
}

TEST(MetricsDefinitions, TradesCostsAndExposure) {
  MetricsOptions o;
  o.initial_capital = 10'000;
  MetricsAccumulator acc(o);
  acc.AddBar({.ret = 0.01, .turnover = 1.0, .fees = 5.0, .gross_exposure = 1.0});
  acc.AddBar({.ret = 0.0, .turnover = 0.0, .fees = 0.0, .gross_exposure = 0.0});
  acc.AddBar({.ret = -0.005, .turnover = 0.5, .fees = 2.5, .gross_exposure = 0.5});
  acc.AddBar({.ret = 0.0, .turnover = 0.5, .fees = 2.5, .gross_exposure = 0.0});
  acc.AddTrade({.pnl = 100, .ret = 0.01, .holding_bars = 1});
  acc.AddTrade({.pnl = -40, .ret = -0.004, .holding_bars = 2});
  acc.AddTrade({.pnl = -10, .ret = -0.001, .holding_bars = 6});
  const Metrics m = acc.Finish();
  EXPECT_EQ(m.trades, 3);
  EXPECT_DOUBLE_EQ(m.win_rate, 1.0 / 3);
  EXPECT_DOUBLE_EQ(m.profit_factor, 2.0);
  EXPECT_DOUBLE_EQ(m.expectancy, 50.0 / 3);
  EXPECT_DOUBLE_EQ(m.avg_trade_return, 0.005 / 3);
  EXPECT_DOUBLE_EQ(m.avg_holding_bars, 3.0);
  EXPECT_DOUBLE_EQ(m.turnover, 0.5);
  EXPECT_DOUBLE_EQ(m.annual_turnover, 126.0);
  EXPECT_DOUBLE_EQ(m.fees, 10.0);
  EXPECT_DOUBLE_EQ(m.fees_fraction, 0.001);
  EXPECT_DOUBLE_EQ(m.exposure, 0.5);
  EXPECT_DOUBLE_EQ(m.avg_gross_exposure, 0.375);
  // Only winners: profit factor undefined (NaN, not inf).
  MetricsAccumulator winners;
  winners.AddTrade({.pnl = 1, .ret = 0.1, .holding_bars = 1});
  EXPECT_TRUE(std::isnan(winners.Finish().profit_factor));
  EXPECT_DOUBLE_EQ(winners.Finish().win_rate, 1.0);
}

TEST(MetricsDefinitions, NonFiniteReturnPoisonsReturnMetricsOnly) {
  MetricsAccumulator acc;
  acc.AddBar({.ret = 0.01, .fees = 1.0, .gross_exposure = 1.0});
  acc.AddBar({.ret = kNaN, .fees = 1.0, .gross_exposure = 1.0});
  acc.AddBar({.ret = 0.02, .fees = 1.0, .gross_exposure = 1.0});
  const Metrics m = acc.Finish();
  EXPECT_EQ(m.bars, 3);
  EXPECT_TRUE(std::isnan(m.total_return));
  EXPECT_TRUE(std::isnan(m.max_drawdown));
  EXPECT_TRUE(std::isnan(m.var_95));
  EXPECT_EQ(m.fees, 3.0);
  EXPECT_EQ(m.exposure, 1.0);
}

TEST(MetricsDefinitions, JsonHasExactlyTheMetricNames) {
  const Metrics m = ComputeMetrics(std::vector<double>{0.01});
  const json j = ToJson(m);
  ASSERT_EQ(j.size(), MetricFields().size());
  for (const MetricField& f : MetricFields())
    ASSERT_TRUE(j.contains(std::string(f.name)));
  EXPECT_TRUE(j["bars"].is_number_integer());
  EXPECT_TRUE(j["trades"].is_number_integer());
  EXPECT_TRUE(j["max_drawdown_duration"].is_number_integer());
  EXPECT_TRUE(j["sharpe"].is_null());
  EXPECT_TRUE(j["volatility"].is_null());
  EXPECT_NEAR(j["total_return"].get<double>(), 0.01, 1e-15);
  EXPECT_EQ(j.dump().find("NaN"), std::string::npos);
  // The keys the JSON contract requires.
  for (const char* key :
       {"total_return", "annual_return", "sharpe", "max_drawdown", "turnover", "trades", "fees"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
}

TEST(MetricsOptions, Validation) {
  EXPECT_TRUE(ValidateMetricsOptions({}).ok());
  MetricsOptions o;
  o.periods_per_year = 0;
  EXPECT_EQ(ValidateMetricsOptions(o).code(), StatusCode::kInvalidArgument);
  o = {};
  o.initial_capital = -1;
  EXPECT_EQ(ValidateMetricsOptions(o).code(), StatusCode::kInvalidArgument);
  o = {};
  o.risk_free = kNaN;
  EXPECT_EQ(ValidateMetricsOptions(o).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace qraft::engines
