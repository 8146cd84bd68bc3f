#include "qraft/factor/evaluate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "qraft/core/parallel.h"

namespace qraft::factor {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- The golden fixture: 8 symbols x 30 dates with NaN, ties, a date with too few values
// (t = 3), an all-NaN date (t = 7), a constant date (t = 11) and a symbol without bars for five
// dates. The expected numbers below come from this pandas script (numpy 2.4, pandas 3.1), which
// builds the same fixture with the same generator:
//
// import numpy as np, pandas as pd
// S, T, Q, MINP, HS = 8, 30, 4, 5, (1, 5)
// M = 2**64 - 1
// st = 2024
// def nxt():
//     global st
//     st = (st * 6364136223846793005 + 1442695040888963407) & M
//     return st >> 33
// f = np.full((S, T), np.nan); c = np.full((S, T), np.nan)
// for s in range(S):
//     level = 20.0 + s
//     for t in range(T):
//         u1, u2, u3 = nxt(), nxt(), nxt()
//         f[s, t] = np.nan if u1 % 13 == 0 else ((u1 % 21) - 10) / 4.0
//         if t > 0: level = level * (1.0 + ((u2 % 201) - 100) / 2000.0)
//         c[s, t] = np.nan if (u3 % 17 == 0 or (s == 7 and 20 <= t < 25)) else level
//         if (t == 3 and s < 5) or t == 7: f[s, t] = np.nan
//         if t == 11: f[s, t] = 1.0
// def fwd(h):
//     r = np.full((S, T), np.nan)
//     r[:, :T - h] = c[:, h:] / c[:, :T - h] - 1.0
//     r[~np.isfinite(r)] = np.nan
//     return r
// def corr(a, b, rank):
//     d = pd.DataFrame({"a": a, "b": b}).dropna()
//     if len(d) < MINP or d.a.nunique() < 2 or d.b.nunique() < 2: return np.nan
//     if rank: return d.a.rank().corr(d.b.rank())
//     return d.a.corr(d.b)
// def summary(x):
//     x = pd.Series(x).dropna(); n = len(x); m = x.mean(); sd = x.std(ddof=1)
//     return [n, m, sd, m / sd, m / sd * np.sqrt(n), (x > 0).mean()]
// def buckets(v):
//     b = np.full(S, -1); ok = ~np.isnan(v); n = ok.sum()
//     if n < Q: return None
//     b[ok] = np.floor((pd.Series(v[ok]).rank().values - 1) * Q / n).astype(int)
//     return b
// fmt = lambda xs: ", ".join("kNaN" if np.isnan(x) else repr(float(x)) for x in xs)
// for h in HS:
//     r = fwd(h)
//     ic = [corr(f[:, t], r[:, t], False) for t in range(T)]
//     ric = [corr(f[:, t], r[:, t], True) for t in range(T)]
//     qr = np.full((T, Q), np.nan)
//     for t in range(T):
//         b = buckets(f[:, t])
//         if b is None: continue
//         for q in range(Q):
//             m = (b == q) & ~np.isnan(r[:, t])
//             if m.any(): qr[t, q] = r[m, t].mean()
//     spread = qr[:, Q - 1] - qr[:, 0]
//     print(f"h={h}\n ic: {fmt(ic)}\n rank_ic: {fmt(ric)}")
//     print(f" ic_summary: {fmt(summary(ic))}\n rank_ic_summary: {fmt(summary(ric))}")
//     print(f" quantiles: {fmt(np.nanmean(qr, axis=0))}")
//     print(f" spread_mean: {fmt([np.nanmean(spread)])}")
// bars = ~np.isnan(c); val = bars & ~np.isnan(f)
// cov = [val[:, t].sum() / bars[:, t].sum() for t in range(T) if bars[:, t].sum() > 0]
// print("coverage, missing:", fmt([np.mean(cov), 1 - val.sum() / bars.sum()]))
// top, bot, ac = [], [], []
// for t in range(1, T):
//     b0, b1 = buckets(f[:, t - 1]), buckets(f[:, t])
//     if b0 is not None and b1 is not None:
//         for lst, q in ((top, Q - 1), (bot, 0)):
//             now = b1 == q
//             if now.sum(): lst.append((now & (b0 != q)).sum() / now.sum())
//     ac.append(corr(f[:, t], f[:, t - 1], True))
// print("top, bottom turnover, autocorr:", fmt([np.mean(top), np.mean(bot), np.nanmean(ac)]))
// # Factors for the correlation matrix: f, a noisy copy, a decreasing transform, another pattern.
// g = f + 0.3 * np.sin(np.arange(S * T).reshape(S, T))
// k = -(f ** 3)
// m = np.cos(np.arange(S * T).reshape(S, T) * 0.7)
// m[np.arange(S) % 3 == 1, :] = np.nan
// fs = [f, g, k, m]
// F = len(fs); C = np.full((F, F), np.nan)
// for i in range(F):
//     for j in range(F):
//         v = [corr(fs[i][:, t], fs[j][:, t], True) for t in range(T)]
//         C[i, j] = np.nanmean(v) if not np.all(np.isnan(v)) else np.nan
// print("corr:", fmt(C.ravel()))

constexpr std::size_t kS = 8;
constexpr std::size_t kT = 30;

struct Fixture {
  std::vector<double> factor = std::vector<double>(kS * kT);
  std::vector<double> close = std::vector<double>(kS * kT);
};

Fixture MakeFixture() {
  Fixture fx;
  std::uint64_t state = 2024;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  for (std::size_t s = 0; s < kS; ++s) {
    double level = 20.0 + static_cast<double>(s);
    for (std::size_t t = 0; t < kT; ++t) {
      const std::uint64_t u1 = next();
      const std::uint64_t u2 = next();
      const std::uint64_t u3 = next();
      double f = u1 % 13 == 0 ? kNaN : (static_cast<double>(u1 % 21) - 10) / 4.0;
      if (t > 0) level = level * (1.0 + (static_cast<double>(u2 % 201) - 100) / 2000.0);
      fx.close[s * kT + t] = (u3 % 17 == 0 || (s == 7 && t >= 20 && t < 25)) ? kNaN : level;
      if ((t == 3 && s < 5) || t == 7) f = kNaN;
      if (t == 11) f = 1.0;
      fx.factor[s * kT + t] = f;
    }
  }
  return fx;
}

FieldView View(const std::vector<double>& v, std::size_t ns = kS, std::size_t nt = kT) {
  return {v, ns, nt};
}

EvaluateOptions GoldenOptions() {
  EvaluateOptions o;
  o.horizons = {1, 5};
  o.min_pairs = 5;
  o.n_quantiles = 4;
  return o;
}

void ExpectClose(double got, double want, const std::string& what) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << what << ": got " << got;
  } else {
    EXPECT_NEAR(got, want, 1e-12 * std::max(1.0, std::fabs(want))) << what;
  }
}

void ExpectSeries(const std::vector<double>& got, const std::vector<double>& want,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i)
    ExpectClose(got[i], want[i], what + "[" + std::to_string(i) + "]");
}

// n, mean, std, ir, t, positive
void ExpectSummary(const SeriesSummary& s, const std::vector<double>& want,
                   const std::string& what) {
  EXPECT_EQ(static_cast<double>(s.num_dates), want[0]) << what;
  ExpectClose(s.mean, want[1], what + " mean");
  ExpectClose(s.std, want[2], what + " std");
  ExpectClose(s.ir, want[3], what + " ir");
  ExpectClose(s.t_stat, want[4], what + " t");
  ExpectClose(s.positive, want[5], what + " positive");
}

bool Same(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

bool Same(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

bool Same(const SeriesSummary& a, const SeriesSummary& b) {
  return a.num_dates == b.num_dates && Same(a.mean, b.mean) && Same(a.std, b.std) &&
         Same(a.ir, b.ir) && Same(a.t_stat, b.t_stat) && Same(a.positive, b.positive);
}

// Bit-identical evaluations.
void ExpectSame(const FactorEvaluation& a, const FactorEvaluation& b) {
  ASSERT_EQ(a.horizons.size(), b.horizons.size());
  for (std::size_t h = 0; h < a.horizons.size(); ++h) {
    const HorizonEvaluation& x = a.horizons[h];
    const HorizonEvaluation& y = b.horizons[h];
    EXPECT_EQ(x.horizon, y.horizon);
    EXPECT_TRUE(Same(x.ic, y.ic)) << "ic h=" << x.horizon;
    EXPECT_TRUE(Same(x.rank_ic, y.rank_ic)) << "rank_ic h=" << x.horizon;
    EXPECT_TRUE(Same(x.ic_summary, y.ic_summary));
    EXPECT_TRUE(Same(x.rank_ic_summary, y.rank_ic_summary));
    EXPECT_TRUE(Same(x.quantile_returns, y.quantile_returns));
    EXPECT_TRUE(Same(x.spread, y.spread));
    EXPECT_TRUE(Same(x.spread_mean, y.spread_mean));
  }
  EXPECT_TRUE(Same(a.coverage, b.coverage));
  EXPECT_TRUE(Same(a.missing_rate, b.missing_rate));
  EXPECT_TRUE(Same(a.top_turnover, b.top_turnover));
  EXPECT_TRUE(Same(a.bottom_turnover, b.bottom_turnover));
  EXPECT_TRUE(Same(a.rank_autocorrelation, b.rank_autocorrelation));
}

TEST(EvaluateGoldenTest, MatchesPandas) {
  const Fixture fx = MakeFixture();
  auto r = EvaluateFactor(View(fx.factor), View(fx.close), GoldenOptions());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const FactorEvaluation& e = *r;
  EXPECT_EQ(e.num_symbols, kS);
  EXPECT_EQ(e.num_times, kT);
  ASSERT_EQ(e.horizons.size(), 2u);

  const HorizonEvaluation& h1 = e.horizons[0];
  EXPECT_EQ(h1.horizon, 1);
  ExpectSeries(h1.ic, {0.5256795522349176,     -0.8392393545214205,
                       0.41278061019596995,    kNaN,
                       -0.32160294045993976,   0.185996578932555,
                       -0.0072639246438864925, kNaN,
                       -0.03793724622467712,   -0.05831741361359875,
                       0.3018686456435278,     kNaN,
                       -0.3123761735418538,    0.09651509216362392,
                       0.44711582949261297,    -0.1695735523882743,
                       -0.3592755344995039,    -0.16388463713479498,
                       -0.05718360563132253,   -0.17962087752188827,
                       0.17216328040880044,    0.446510668848841,
                       -0.5246502778803944,    0.483984264689303,
                       0.6992915604990003,     0.8705465384640373,
                       -0.7157916668311873,    kNaN,
                       0.22952733568854225,    kNaN},
               "ic h=1");
  ExpectSeries(h1.rank_ic, {0.7637626158259733,   -0.9369749612033814,
                            0.46848748060169054,  kNaN,
                            -0.3188740696088467,  0.41039134083406165,
                            0.07185757571479554,  kNaN,
                            -0.09009374626955588, 0.0,
                            0.19999999999999998,  kNaN,
                            0.10811249552346702,  -0.028988551782622468,
                            0.49999999999999994,  -0.41443123283995703,
                            -0.405839724956714,   -0.4285714285714286,
                            0.03571428571428575,  -0.2571428571428572,
                            0.30276503540974914,  0.4285714285714286,
                            -0.41443123283995703, 0.4285714285714286,
                            0.4285714285714286,   0.7714285714285716,
                            -0.811679449913428,   kNaN,
                            0.31428571428571433,  kNaN},
               "rank_ic h=1");
  ExpectSummary(h1.ic_summary,
                {25.0, 0.04501051009475957, 0.4287523212103768, 0.10498021320956107,
                 0.5249010660478053, 0.48},
                "ic_summary h=1");
  ExpectSummary(h1.rank_ic_summary,
                {25.0, 0.04501968583695384, 0.45509382524537323, 0.0989239654321404,
                 0.49461982716070196, 0.56},
                "rank_ic_summary h=1");
  ExpectSeries(
      h1.quantile_returns,
      {-0.0029326923076923137, -0.002544871794871775, 0.005273333333333325, -0.0011099999999999843},
      "quantiles h=1");
  ExpectClose(h1.spread_mean, 0.002660000000000018, "spread h=1");

  const HorizonEvaluation& h5 = e.horizons[1];
  EXPECT_EQ(h5.horizon, 5);
  ExpectSeries(h5.ic,
               {0.1140089761968632,
                -0.9729301047552239,
                0.3818378980587597,
                kNaN,
                0.022708303834102963,
                kNaN,
                0.7953207063167205,
                kNaN,
                0.18028597064940474,
                -0.11996546966685574,
                0.09461284542246431,
                kNaN,
                -0.2700471052096922,
                -0.6697674874798127,
                -0.46691302128434425,
                -0.23298614848179877,
                -0.7436186229746893,
                0.3376251292064671,
                0.18903455339765088,
                0.1650810879950964,
                0.18624448987154138,
                -0.32839236036129493,
                -0.17249352089648423,
                0.7558894520797625,
                0.46686345329238305,
                kNaN,
                kNaN,
                kNaN,
                kNaN,
                kNaN},
               "ic h=5");
  ExpectSeries(h5.rank_ic,
               {0.14712247158412492,
                -0.9369749612033811,
                0.3783937343321347,
                kNaN,
                -0.018018749253911167,
                kNaN,
                0.7784570702436183,
                kNaN,
                -0.07142857142857144,
                -0.10259783520851541,
                -0.07207499701564471,
                kNaN,
                -0.28743030285918214,
                -0.5585812268712466,
                -0.6785714285714285,
                -0.27028123880866767,
                -0.5507824838698261,
                -0.10714285714285715,
                0.08571428571428572,
                0.2571428571428572,
                -0.09092412093166351,
                -0.19999999999999998,
                -0.23424374030084533,
                0.8999999999999998,
                0.37142857142857155,
                kNaN,
                kNaN,
                kNaN,
                kNaN,
                kNaN},
               "rank_ic h=5");
  ExpectSummary(h5.ic_summary,
                {21.0, -0.013695284513760921, 0.462369540278468, -0.02961978097759805,
                 -0.13573488839785613, 0.5714285714285714},
                "ic_summary h=5");
  ExpectSummary(h5.rank_ic_summary,
                {21.0, -0.06003778681048327, 0.44506988459790936, -0.13489519036931327,
                 -0.6181674207528561, 0.3333333333333333},
                "rank_ic_summary h=5");
  ExpectSeries(h5.quantile_returns,
               {-0.000704001559457115, 0.00017282292291747193, -0.010471560382941985,
                -0.0010679488777305985},
               "quantiles h=5");
  ExpectClose(h5.spread_mean, -0.0006000287171197258, "spread h=5");

  ExpectClose(e.coverage, 0.8819444444444445, "coverage");
  ExpectClose(e.missing_rate, 0.12107623318385652, "missing_rate");
  ExpectClose(e.top_turnover, 0.875, "top_turnover");
  ExpectClose(e.bottom_turnover, 0.798611111111111, "bottom_turnover");
  ExpectClose(e.rank_autocorrelation, -0.10702989139953291, "rank_autocorrelation");
}

TEST(EvaluateGoldenTest, CorrelationMatchesPandas) {
  const Fixture fx = MakeFixture();
  std::vector<double> g(kS * kT);
  std::vector<double> k(kS * kT);
  std::vector<double> m(kS * kT);
  for (std::size_t i = 0; i < kS * kT; ++i) {
    g[i] = fx.factor[i] + 0.3 * std::sin(static_cast<double>(i));
    k[i] = -(fx.factor[i] * fx.factor[i] * fx.factor[i]);
    m[i] = (i / kT) % 3 == 1 ? kNaN : std::cos(static_cast<double>(i) * 0.7);
  }
  const std::vector<FieldView> factors = {View(fx.factor), View(g), View(k), View(m)};
  CorrelationOptions options;
  options.min_pairs = 5;
  auto r = CorrelateFactors(factors, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->num_factors, 4u);
  ExpectSeries(r->matrix,
               {1.0, 0.9718486399295531, -1.0, -0.013682662545792253, 0.9718486399295531, 1.0,
                -0.9718486399295531, -0.018181818181818167, -1.0, -0.9718486399295531, 1.0,
                0.013682662545792253, -0.013682662545792265, -0.018181818181818167,
                0.013682662545792265, 0.9999999999999999},
               "corr");
  // f, its noisy copy and -f³ (distances 0.03 and 0) form one cluster; m stands apart.
  EXPECT_EQ(r->cluster, (std::vector<int>{0, 0, 0, 1}));
  EXPECT_EQ(r->num_clusters, 2);
}

// ---- Invariants ----

struct RandomData {
  std::size_t ns = 0;
  std::size_t nt = 0;
  std::vector<double> factor;
  std::vector<double> close;
};

// A factor with some predictive power, ~8% missing values, ties, and bars that come and go.
RandomData MakeRandom(std::size_t ns, std::size_t nt, unsigned seed) {
  RandomData d{ns, nt, std::vector<double>(ns * nt), std::vector<double>(ns * nt)};
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  std::vector<double> step(nt + 1);
  for (std::size_t s = 0; s < ns; ++s) {
    for (double& x : step)
      x = 0.01 * normal(rng);
    double level = 50;
    for (std::size_t t = 0; t < nt; ++t) {
      if (t > 0) level *= 1 + step[t];
      d.close[s * nt + t] = unif(rng) < 0.03 ? kNaN : level;
      // Predicts the next step: the forward return at horizon 1.
      const double f = std::round((normal(rng) + 100 * step[t + 1]) * 4) / 4;
      d.factor[s * nt + t] = unif(rng) < 0.08 ? kNaN : f;
    }
  }
  return d;
}

TEST(EvaluateTest, FactorEqualToForwardReturnHasUnitIC) {
  const RandomData d = MakeRandom(40, 60, 1);
  auto fwd = ComputeForwardReturns(View(d.close, d.ns, d.nt), 3);
  ASSERT_TRUE(fwd.ok());
  EvaluateOptions o;
  o.horizons = {3};
  auto r = EvaluateFactor(View(*fwd, d.ns, d.nt), View(d.close, d.ns, d.nt), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const HorizonEvaluation& h = r->horizons[0];
  EXPECT_EQ(h.ic_summary.num_dates, d.nt - 3);
  for (std::size_t t = 0; t < d.nt; ++t) {
    if (t + 3 >= d.nt) {
      EXPECT_TRUE(std::isnan(h.ic[t]));
      continue;
    }
    EXPECT_DOUBLE_EQ(h.ic[t], 1.0) << t;
    EXPECT_DOUBLE_EQ(h.rank_ic[t], 1.0) << t;
  }
  EXPECT_DOUBLE_EQ(h.ic_summary.mean, 1.0);
  EXPECT_DOUBLE_EQ(h.rank_ic_summary.positive, 1.0);
  // Sorted by the return itself, the quantile returns increase.
  for (std::size_t q = 1; q < h.quantile_returns.size(); ++q)
    EXPECT_GT(h.quantile_returns[q], h.quantile_returns[q - 1]);
  EXPECT_GT(h.spread_mean, 0);
}

TEST(EvaluateTest, RankStatisticsInvariantUnderMonotoneTransforms) {
  const RandomData d = MakeRandom(60, 80, 2);
  std::vector<double> cubed(d.factor.size());
  std::vector<double> exp_affine(d.factor.size());
  for (std::size_t i = 0; i < d.factor.size(); ++i) {
    cubed[i] = d.factor[i] * d.factor[i] * d.factor[i];
    exp_affine[i] = 3 * std::exp(d.factor[i]) + 1;
  }
  const FieldView close = View(d.close, d.ns, d.nt);
  auto base = EvaluateFactor(View(d.factor, d.ns, d.nt), close, {});
  ASSERT_TRUE(base.ok());
  for (const auto* v : {&cubed, &exp_affine}) {
    auto r = EvaluateFactor(View(*v, d.ns, d.nt), close, {});
    ASSERT_TRUE(r.ok());
    for (std::size_t h = 0; h < base->horizons.size(); ++h) {
      // Ranks are identical, so everything computed from them is bit-identical.
      EXPECT_TRUE(Same(r->horizons[h].rank_ic, base->horizons[h].rank_ic));
      EXPECT_TRUE(Same(r->horizons[h].rank_ic_summary, base->horizons[h].rank_ic_summary));
      EXPECT_TRUE(Same(r->horizons[h].quantile_returns, base->horizons[h].quantile_returns));
      EXPECT_TRUE(Same(r->horizons[h].spread, base->horizons[h].spread));
    }
    EXPECT_TRUE(Same(r->top_turnover, base->top_turnover));
    EXPECT_TRUE(Same(r->rank_autocorrelation, base->rank_autocorrelation));
    EXPECT_TRUE(Same(r->coverage, base->coverage));
  }
  // The predictive signal shows up as a positive mean rank IC at horizon 1.
  EXPECT_GT(base->horizons[0].rank_ic_summary.mean, 0.1);
}

TEST(EvaluateTest, BitIdenticalWhateverTheThreadCount) {
  const RandomData d = MakeRandom(150, 700, 3);  // 22 chunks of dates
  const FieldView factor = View(d.factor, d.ns, d.nt);
  const FieldView close = View(d.close, d.ns, d.nt);
  std::vector<double> other(d.factor.size());
  for (std::size_t i = 0; i < other.size(); ++i)
    other[i] = std::isnan(d.close[i]) ? kNaN : std::sin(d.close[i]);
  const std::vector<FieldView> factors = {factor, View(other, d.ns, d.nt), close};
  auto run = [&] {
    auto e = EvaluateFactor(factor, close, {});
    auto c = CorrelateFactors(factors, {});
    EXPECT_TRUE(e.ok() && c.ok());
    return std::make_pair(std::move(e).value(), std::move(c).value());
  };
  std::pair<FactorEvaluation, FactorCorrelation> one;
  std::pair<FactorEvaluation, FactorCorrelation> two;
  {
    ThreadLimit limit(1);
    one = run();
  }
  {
    ThreadLimit limit(2);
    two = run();
  }
  const auto many = run();
  ExpectSame(one.first, two.first);
  ExpectSame(one.first, many.first);
  EXPECT_TRUE(Same(one.second.matrix, two.second.matrix));
  EXPECT_TRUE(Same(one.second.matrix, many.second.matrix));
  EXPECT_EQ(one.second.cluster, many.second.cluster);
}

TEST(EvaluateTest, GivenReturnsMatchReturnsFromClose) {
  const Fixture fx = MakeFixture();
  const EvaluateOptions o = GoldenOptions();
  auto from_close = EvaluateFactor(View(fx.factor), View(fx.close), o);
  auto r1 = ComputeForwardReturns(View(fx.close), 1);
  auto r5 = ComputeForwardReturns(View(fx.close), 5);
  ASSERT_TRUE(from_close.ok() && r1.ok() && r5.ok());
  const std::vector<ForwardReturns> returns = {{1, View(*r1)}, {5, View(*r5)}};
  auto given = EvaluateFactorOnReturns(View(fx.factor), returns, View(fx.close), o);
  ASSERT_TRUE(given.ok()) << given.status().ToString();
  ExpectSame(*from_close, *given);

  // Without bars every symbol counts at every date.
  auto no_bars = EvaluateFactorOnReturns(View(fx.factor), returns, {}, o);
  ASSERT_TRUE(no_bars.ok());
  std::size_t valued = 0;
  for (double v : fx.factor)
    valued += !std::isnan(v);
  EXPECT_DOUBLE_EQ(no_bars->coverage, static_cast<double>(valued) / (kS * kT));
  EXPECT_DOUBLE_EQ(no_bars->missing_rate, 1 - static_cast<double>(valued) / (kS * kT));
}

TEST(EvaluateTest, ForwardReturnsByHand) {
  const std::vector<double> close = {10, 11, kNaN, 12, 0,  5,  //
                                     1,  2,  4,    8,  16, 32};
  auto r = ComputeForwardReturns(View(close, 2, 6), 1);
  ASSERT_TRUE(r.ok());
  const std::vector<double> want = {0.1, kNaN, kNaN, -1, kNaN, kNaN, 1, 1, 1, 1, 1, kNaN};
  ExpectSeries(*r, want, "h=1");
  auto r2 = ComputeForwardReturns(View(close, 2, 6), 2);
  ASSERT_TRUE(r2.ok());
  ExpectSeries(*r2,
               {kNaN, 12.0 / 11 - 1, kNaN, 5.0 / 12 - 1, kNaN, kNaN,  //
                3, 3, 3, 3, kNaN, kNaN},
               "h=2");
  auto r6 = ComputeForwardReturns(View(close, 2, 6), 6);
  ASSERT_TRUE(r6.ok());
  for (double v : *r6)
    EXPECT_TRUE(std::isnan(v));
}

TEST(EvaluateTest, SmallCrossSectionsAndTurnoverByHand) {
  // 4 symbols, 3 dates, Q = 2, min_pairs = 4. Buckets (bottom | top): date 0 {0, 1 | 2, 3},
  // date 1 {0, 2 | 1, 3}, date 2 (3 values: buckets, but too few pairs for an IC) {0, 1 | 3}.
  const std::vector<double> factor = {1, 1, 5,     //
                                      2, 4, 6,     //
                                      3, 2, kNaN,  //
                                      4, 3, 7};
  const std::vector<double> ret = {0.01, 0.02, 0.0,  //
                                   0.02, 0.03, 0.0,  //
                                   0.03, 0.01, 0.0,  //
                                   0.04, 0.05, 0.0};
  EvaluateOptions o;
  o.min_pairs = 4;
  o.n_quantiles = 2;
  const std::vector<ForwardReturns> returns = {{1, View(ret, 4, 3)}};
  auto r = EvaluateFactorOnReturns(View(factor, 4, 3), returns, {}, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const HorizonEvaluation& h = r->horizons[0];
  EXPECT_DOUBLE_EQ(h.ic[0], 1.0);
  EXPECT_DOUBLE_EQ(h.rank_ic[0], 1.0);
  EXPECT_DOUBLE_EQ(h.rank_ic[1], 0.6);  // ranks (1,4,2,3) vs (2,3,1,4): 1 - 6·4/60
  EXPECT_TRUE(std::isnan(h.ic[2]));
  // Bottom/top returns: date 0 (0.015, 0.035), date 1 (0.015, 0.04), date 2 (0, 0).
  ExpectSeries(h.quantile_returns, {0.01, 0.025}, "quantiles");
  ExpectSeries(h.spread, {0.02, 0.025, 0.0}, "spread");
  EXPECT_DOUBLE_EQ(r->top_turnover, 0.25);    // 1/2 (1 replaced 2), then 0
  EXPECT_DOUBLE_EQ(r->bottom_turnover, 0.5);  // 1/2 (2 replaced 1), then 1/2 (1 replaced 2)
  // Autocorrelation at t = 1 over 4 names: ranks (1,2,3,4) vs (1,4,2,3) = 0.4; at t = 2 only
  // 3 common names (< min_pairs).
  EXPECT_DOUBLE_EQ(r->rank_autocorrelation, 0.4);
  EXPECT_DOUBLE_EQ(r->coverage, (1 + 1 + 0.75) / 3);
}

TEST(EvaluateTest, SummaryEdgeCases) {
  // A factor that is constant every date: no IC at all, summaries undefined.
  const std::vector<double> factor(5 * 4, 2.0);
  std::vector<double> close(5 * 4);
  for (std::size_t i = 0; i < close.size(); ++i)
    close[i] = 10 + static_cast<double>(i % 7);
  EvaluateOptions o;
  o.horizons = {1};
  o.min_pairs = 3;
  o.n_quantiles = 2;
  auto r = EvaluateFactor(View(factor, 5, 4), View(close, 5, 4), o);
  ASSERT_TRUE(r.ok());
  const SeriesSummary& s = r->horizons[0].ic_summary;
  EXPECT_EQ(s.num_dates, 0u);
  EXPECT_TRUE(std::isnan(s.mean) && std::isnan(s.std) && std::isnan(s.ir) && std::isnan(s.t_stat));
  EXPECT_TRUE(std::isnan(r->rank_autocorrelation));
  EXPECT_DOUBLE_EQ(r->coverage, 1.0);
  EXPECT_DOUBLE_EQ(r->missing_rate, 0.0);
  // All ties share one bucket (average rank 3 of 5 -> floor(2 · 2 / 5) = 0); the top is empty.
  EXPECT_FALSE(std::isnan(r->horizons[0].quantile_returns[0]));
  EXPECT_TRUE(std::isnan(r->horizons[0].quantile_returns[1]));
  EXPECT_TRUE(std::isnan(r->top_turnover));
  EXPECT_DOUBLE_EQ(r->bottom_turnover, 0.0);
}

// Spearman by definition: average ranks by counting, then Pearson (two-pass).
double NaiveSpearman(const std::vector<double>& a, const std::vector<double>& b) {
  auto ranks = [](const std::vector<double>& v) {
    std::vector<double> r(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      double less = 0;
      double equal = 0;
      for (double w : v) {
        less += w < v[i];
        equal += w == v[i];
      }
      r[i] = less + (equal + 1) / 2;
    }
    return r;
  };
  const std::vector<double> ra = ranks(a);
  const std::vector<double> rb = ranks(b);
  const double n = static_cast<double>(a.size());
  double ma = 0;
  double mb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ma += ra[i] / n;
    mb += rb[i] / n;
  }
  double sab = 0;
  double saa = 0;
  double sbb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

// Cross-sections of 256 values or more take the radix-sort path: check it against ranking by
// counting, with ties and signed zeros, and with names dropping out between the two sides.
TEST(EvaluateTest, LargeCrossSectionsMatchNaiveSpearman) {
  const std::size_t ns = 900;
  const std::size_t nt = 4;
  RandomData d = MakeRandom(ns, nt, 5);
  for (std::size_t i = 0; i < d.factor.size(); i += 29)
    d.factor[i] = (i / 29) % 2 == 0 ? -0.0 : 0.0;
  auto r = EvaluateFactor(View(d.factor, ns, nt), View(d.close, ns, nt), {});
  ASSERT_TRUE(r.ok());
  for (std::size_t t = 0; t + 1 < nt; ++t) {
    std::vector<double> a;
    std::vector<double> b;
    for (std::size_t s = 0; s < ns; ++s) {
      const double f = d.factor[s * nt + t];
      const double ret = d.close[s * nt + t + 1] / d.close[s * nt + t] - 1;
      if (std::isnan(f) || std::isnan(ret)) continue;
      a.push_back(f);
      b.push_back(ret);
    }
    ExpectClose(r->horizons[0].rank_ic[t], NaiveSpearman(a, b), "rank_ic t=" + std::to_string(t));
  }
}

// ---- Validation ----

void ExpectInvalid(const Status& s, const std::string& fragment) {
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.ToString();
}

TEST(EvaluateTest, ValidatesInputsOnce) {
  const Fixture fx = MakeFixture();
  const EvaluateOptions good = GoldenOptions();
  ExpectInvalid(EvaluateFactor({fx.factor, kS, kT + 1}, View(fx.close), good).status(),
                "factor: 240 values, expected 8 symbols x 31 times = 248");
  const std::vector<double> shorter(kS * (kT - 1), 1.0);
  ExpectInvalid(EvaluateFactor(View(fx.factor), View(shorter, kS, kT - 1), good).status(),
                "close: 8 symbols x 29 times, the factor has 8 x 30");
  EvaluateOptions o = good;
  o.horizons = {1, 0};
  ExpectInvalid(EvaluateFactor(View(fx.factor), View(fx.close), o).status(),
                "horizon must be positive, was 0");
  o.horizons = {5, 1, 5};
  ExpectInvalid(EvaluateFactor(View(fx.factor), View(fx.close), o).status(),
                "horizon 5 appears twice");
  o.horizons = {};
  ExpectInvalid(EvaluateFactor(View(fx.factor), View(fx.close), o).status(), "horizons");
  o = good;
  o.min_pairs = 1;
  ExpectInvalid(EvaluateFactor(View(fx.factor), View(fx.close), o).status(),
                "min_pairs must be at least 2, was 1");
  o = good;
  o.n_quantiles = 1;
  ExpectInvalid(EvaluateFactor(View(fx.factor), View(fx.close), o).status(),
                "n_quantiles must be at least 2, was 1");
  ExpectInvalid(ComputeForwardReturns(View(fx.close), -1).status(),
                "horizon must be positive, was -1");
  const std::vector<ForwardReturns> bad = {{1, View(shorter, kS, kT - 1)}};
  ExpectInvalid(EvaluateFactorOnReturns(View(fx.factor), bad, {}, good).status(),
                "returns (horizon 1): 8 symbols x 29 times");
  const std::vector<ForwardReturns> ok = {{1, View(fx.close)}};
  ExpectInvalid(
      EvaluateFactorOnReturns(View(fx.factor), ok, View(shorter, kS, kT - 1), good).status(),
      "bars: ");

  ExpectInvalid(CorrelateFactors({}, {}).status(), "factors: none given");
  const std::vector<FieldView> two = {View(fx.factor), View(shorter, kS, kT - 1)};
  ExpectInvalid(CorrelateFactors(two, {}).status(), "factor 1: 8 symbols x 29 times");
  const std::vector<FieldView> one = {View(fx.factor)};
  ExpectInvalid(CorrelateFactors(one, {10, 1.5}).status(),
                "cluster_threshold must be in [0, 1], was 1.5");
  ExpectInvalid(CorrelateFactors(one, {0, 0.3}).status(), "min_pairs");
}

// ---- Clustering ----

TEST(ClusterTest, AverageLinkageByHand) {
  // Distances 1 - |corr|: d01 = .1, d03 = .2, d13 = .25, d02 = .9, d12 = .8, d23 = .9.
  const std::vector<double> c = {1,   0.9,   0.1, 0.8,    //
                                 0.9, 1,     0.2, -0.75,  //
                                 0.1, 0.2,   1,   0.1,    //
                                 0.8, -0.75, 0.1, 1};
  // {0,1} at .1, then {0,1,3} at (.2 + .25) / 2 = .225, then 2 at (.9 + .8 + .9) / 3.
  EXPECT_EQ(ClusterByCorrelation(c, 4, 0.3), (std::vector<int>{0, 0, 1, 0}));
  EXPECT_EQ(ClusterByCorrelation(c, 4, 0.225), (std::vector<int>{0, 0, 1, 0}));
  EXPECT_EQ(ClusterByCorrelation(c, 4, 0.2), (std::vector<int>{0, 0, 1, 2}));
  EXPECT_EQ(ClusterByCorrelation(c, 4, 0.05), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(ClusterByCorrelation(c, 4, 0.9), (std::vector<int>{0, 0, 0, 0}));
  EXPECT_EQ(ClusterByCorrelation({}, 0, 0.3), std::vector<int>{});
}

TEST(ClusterTest, TiesAndNaNAreDeterministic) {
  // All pairs at distance .5 except NaN (= distance 1) between 0 and 2: (0,1) merges first
  // (first in factor order), then {0,1} - 2 at (1 + .5) / 2 = .75 and {0,1} - 3 at .5.
  const std::vector<double> c = {1,    0.5, kNaN, 0.5,  //
                                 0.5,  1,   0.5,  0.5,  //
                                 kNaN, 0.5, 1,    0.5,  //
                                 0.5,  0.5, 0.5,  1};
  EXPECT_EQ(ClusterByCorrelation(c, 4, 0.5), (std::vector<int>{0, 0, 1, 0}));
  // Cluster ids follow the first member: factor 0's cluster is 0 even when merged late.
  const std::vector<double> d = {1, 0,    0,     //
                                 0, 1,    0.99,  //
                                 0, 0.99, 1};
  EXPECT_EQ(ClusterByCorrelation(d, 3, 0.3), (std::vector<int>{0, 1, 1}));
}

}  // namespace
}  // namespace qraft::factor
