#include "qraft/robust/sharpe.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "qraft/core/parallel.h"
#include "qraft/robust/bootstrap.h"

namespace qraft::robust {
namespace {

// |actual - expected| <= rtol * |expected|.
void ExpectRel(double actual, double expected, double rtol) {
  EXPECT_LE(std::abs(actual - expected), rtol * std::abs(expected))
      << "actual " << actual << " expected " << expected;
}

constexpr double kTol = 1e-12;  // SPEC §1.6 / §4.1: closed forms to 1e-12

// SPEC §7.3, the portable series: SplitMix64(5), T = 1000, r = 0.0005 + 0.01 (u1 + u2 + u3 - 1.5).
std::vector<double> PortableSeries() {
  SplitMix64 g(5);
  std::vector<double> r(1000);
  for (double& x : r) {
    const double u1 = g.Uniform(), u2 = g.Uniform(), u3 = g.Uniform();
    x = 0.0005 + 0.01 * (u1 + u2 + u3 - 1.5);
  }
  return r;
}

// ---- SPEC §7.3: pypbo tests/test_pbo.py paper examples ------------------------------------

TEST(SharpeTest, ExpectedMaxMatchesPypbo) {
  EXPECT_NEAR(ExpectedMaxStandardNormal(100), 2.5306028932016846, kTol);
  EXPECT_NEAR(ExpectedMaxStandardNormal(10), 1.57459830134575, kTol);
  EXPECT_NEAR(ExpectedMaxStandardNormal(1000), 3.255121513652723, kTol);
}

TEST(SharpeTest, PsrEfficientFrontierExample) {
  EXPECT_NEAR(Psr(1.585 / std::sqrt(12.0), 0.0, 24, -2.448, 10.164), 0.9132343068848602, kTol);
}

TEST(SharpeTest, DsrPaperExample) {
  const double sr = 2.5 / std::sqrt(250.0);
  const double var = 0.5 / 250.0;  // annual variance 0.5 converted to daily (SPEC §1.5 item 3)
  const double sr0 = ExpectedMaxSharpe(100, var);
  EXPECT_NEAR(sr0, 0.11317200186513214, kTol);
  EXPECT_NEAR(AnnualizeSharpe(sr0, 250), 1.7894064662732077, kTol);
  EXPECT_NEAR(Dsr(sr, var, 100, 1250, -3.0, 10.0), 0.9003968344493903, kTol);
}

TEST(SharpeTest, MinTrlPaperExamplesInYears) {
  EXPECT_NEAR(MinTrl(2 / std::sqrt(250.0), 1 / std::sqrt(250.0), 0, 3, 0.95) / 250,
              2.731187801728176, kTol);
  EXPECT_NEAR(MinTrl(2 / std::sqrt(52.0), 1 / std::sqrt(52.0), 0, 3, 0.95) / 52, 2.828833586945237,
              kTol);
  ExpectRel(MinTrl(3 / std::sqrt(12.0), 2.5 / std::sqrt(12.0), -0.72, 5.78, 0.95) / 12,
            27.3529201960403, kTol);
}

TEST(SharpeTest, MinBacktestLength) {
  const MinBtl m = MinBacktestLength(45, 1.0);
  EXPECT_NEAR(m.years, 4.998087004443404, kTol);
  EXPECT_NEAR(m.upper_years, 7.613324979540639, kTol);
}

// ---- SPEC §7.3: moments and statistics of the portable series ------------------------------

TEST(SharpeTest, PortableSeriesMoments) {
  const std::vector<double> r = PortableSeries();
  const Moments m = ComputeMoments(r);
  EXPECT_EQ(m.n, 1000u);
  ExpectRel(m.mean, 0.0003936047950797008, kTol);
  ExpectRel(m.sd, 0.004951885513148793, kTol);
  ExpectRel(m.skew, -0.004753184538143914, kTol);
  ExpectRel(m.kurt, 2.5947455861225155, kTol);
  ExpectRel(m.Sharpe(), 0.07948584312673584, kTol);
  ExpectRel(SharpeRatio(r), 0.07948584312673584, kTol);

  // The plug-in moments converted to pandas' bias-corrected G1 and G2 (+3) give SPEC's pandas
  // vectors: the estimator difference is exactly the documented O(1/T) one.
  const double n = 1000.0;
  const double g1_pandas = m.skew * std::sqrt(n * (n - 1)) / (n - 2);
  const double g2_pandas = ((n + 1) * (m.kurt - 3) + 6) * (n - 1) / ((n - 2) * (n - 3)) + 3;
  ExpectRel(g1_pandas, -0.004760328007444379, kTol);
  ExpectRel(g2_pandas, 2.598736079357239, kTol);
}

TEST(SharpeTest, PortableSeriesPsrDsrMinTrl) {
  const Moments m = ComputeMoments(PortableSeries());
  const double sr = m.Sharpe();
  EXPECT_NEAR(Psr(sr, 0.0, m.n, m.skew, m.kurt), 0.9939407561488588, kTol);
  EXPECT_NEAR(Psr(sr, 0.02, m.n, m.skew, m.kurt), 0.9697717430966581, kTol);
  ExpectRel(MinTrl(sr, 0.0, m.skew, m.kurt, 0.95), 430.46833666893804, kTol);
  EXPECT_NEAR(Dsr(sr, 0.03 * 0.03, 50, m.n, m.skew, m.kurt), 0.6380996348517008, kTol);
}

// ---- Invariants and conventions (SPEC §1, §8) -----------------------------------------------

TEST(SharpeTest, PsrIsMonotoneInSr) {
  double prev = 0.0;
  for (int i = -50; i <= 50; ++i) {
    const double sr = 0.01 * i;
    const double p = Psr(sr, 0.05, 500, -0.5, 6.0);
    ASSERT_FALSE(std::isnan(p)) << sr;
    EXPECT_GE(p, prev) << sr;
    EXPECT_GE(p, 0.0);
    EXPECT_LE(p, 1.0);
    prev = p;
  }
  EXPECT_EQ(Psr(0.1, 0.1, 100, 0, 3), 0.5);  // SR = SR*: z = 0
}

TEST(SharpeTest, OneTrialMeansNoDeflation) {
  EXPECT_EQ(ExpectedMaxStandardNormal(1), 0.0);
  EXPECT_EQ(ExpectedMaxSharpe(1, 0.01), 0.0);
  for (double sr : {-0.1, 0.0, 0.03, 0.2}) {
    EXPECT_EQ(Dsr(sr, 0.01, 1, 750, -0.3, 4.5), Psr(sr, 0.0, 750, -0.3, 4.5));
  }
}

TEST(SharpeTest, ExpectedMaxIsMonotoneInRealN) {
  // For 1 < N < 2 Qraft interpolates (SPEC's formula turns negative near N = 1.3), so an
  // effective N gives a continuous, increasing SR0.
  EXPECT_NEAR(ExpectedMaxStandardNormal(2), 0.52, 1e-3);  // SPEC §1.3: 0.52 sigma
  double prev = 0.0;
  for (double n = 1.0; n <= 200.0; n += 0.05) {
    const double e = ExpectedMaxStandardNormal(n);
    EXPECT_GE(e, prev) << n;
    prev = e;
  }
  EXPECT_NEAR(ExpectedMaxStandardNormal(1.5), 0.5 * ExpectedMaxStandardNormal(2), 1e-15);
  EXPECT_TRUE(std::isnan(ExpectedMaxStandardNormal(0.5)));
  EXPECT_TRUE(std::isnan(ExpectedMaxSharpe(10, -1e-9)));
  // SR0 scales with the trial Sharpe sd.
  EXPECT_NEAR(ExpectedMaxSharpe(10, 0.04), 0.2 * ExpectedMaxStandardNormal(10), 1e-15);
}

TEST(SharpeTest, MinTrlIsInfiniteWhenSrDoesNotBeatTarget) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(MinTrl(0.05, 0.05, 0, 3), inf);
  EXPECT_EQ(MinTrl(0.01, 0.05, 0, 3), inf);
  EXPECT_EQ(MinTrl(-0.2, 0.0, -1, 8), inf);
  EXPECT_TRUE(std::isnan(MinTrl(0.1, 0.0, 0, 3, 1.0)));
  EXPECT_TRUE(std::isnan(MinTrl(0.1, 0.0, 0, 3, 0.0)));
}

TEST(SharpeTest, MinTrlIsWherePsrReachesProb) {
  const double sr = 0.06, skew = -0.7, kurt = 7.0, prob = 0.95;
  const double n = MinTrl(sr, 0.0, skew, kurt, prob);
  ASSERT_TRUE(std::isfinite(n));
  const auto lo = static_cast<std::size_t>(std::floor(n));
  EXPECT_LT(Psr(sr, 0.0, lo, skew, kurt), prob);
  EXPECT_GE(Psr(sr, 0.0, lo + 1, skew, kurt), prob);
}

TEST(SharpeTest, NonPositiveRadicandIsNaNNotClamped) {
  // 1 - skew*SR + (kurt-1)/4*SR^2 <= 0 for a large positive skew*SR (SPEC §1.2 guard).
  EXPECT_TRUE(std::isnan(Psr(0.5, 0.0, 100, 5.0, 1.0)));
  EXPECT_TRUE(std::isnan(SharpeStdError(0.5, 100, 5.0, 1.0)));
  EXPECT_TRUE(std::isnan(MinTrl(0.5, 0.0, 5.0, 1.0)));
  EXPECT_TRUE(std::isnan(Dsr(0.5, 0.01, 10, 100, 5.0, 1.0)));
}

TEST(SharpeTest, UndefinedInputsAreNaN) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(std::isnan(Psr(0.1, 0.0, 1, 0, 3)));  // T < 2
  EXPECT_TRUE(std::isnan(Psr(nan, 0.0, 100, 0, 3)));
  EXPECT_TRUE(std::isnan(Psr(0.1, nan, 100, 0, 3)));
  EXPECT_TRUE(std::isnan(Psr(0.1, 0.0, 100, nan, 3)));
  EXPECT_TRUE(std::isnan(NullSharpeVariance(1)));
  EXPECT_EQ(NullSharpeVariance(101), 0.01);
  EXPECT_TRUE(std::isnan(TrialSharpeVariance(std::vector<double>{0.1})));
  EXPECT_NEAR(TrialSharpeVariance(std::vector<double>{0.1, 0.2, 0.3}), 0.01, 1e-16);

  const std::vector<double> one{0.5};
  const Moments m1 = ComputeMoments(one);
  EXPECT_EQ(m1.mean, 0.5);
  EXPECT_TRUE(std::isnan(m1.sd));
  const std::vector<double> flat(20, 0.001);
  const Moments mf = ComputeMoments(flat);
  EXPECT_EQ(mf.sd, 0.0);
  EXPECT_TRUE(std::isnan(mf.skew));
  EXPECT_TRUE(std::isnan(mf.kurt));
  EXPECT_TRUE(std::isnan(mf.Sharpe()));
  EXPECT_TRUE(std::isnan(ComputeMoments({}).mean));
}

TEST(SharpeTest, ExcessKurtosisMistakeUnderstatesVariance) {
  // Normal returns: raw kurtosis 3 gives Lo's 1 + SR^2/2; plugging excess kurtosis (0) gives
  // 1 - SR^2/4 (SPEC §1.2 "Common bug").
  const double sr = 0.3;
  EXPECT_NEAR(SharpeStdError(sr, 101, 0, 3), std::sqrt((1 + sr * sr / 2) / 100), 1e-16);
  EXPECT_NEAR(SharpeStdError(sr, 101, 0, 0), std::sqrt((1 - sr * sr / 4) / 100), 1e-16);
  EXPECT_GT(Psr(sr, 0.1, 101, 0, 0), Psr(sr, 0.1, 101, 0, 3));
}

TEST(SharpeTest, Annualization) {
  EXPECT_NEAR(AnnualizeSharpe(0.1, 252), 0.1 * std::sqrt(252.0), 1e-15);
  EXPECT_NEAR(AnnualizeSharpeLo(0.1, 12, {}), 0.1 * std::sqrt(12.0), 1e-15);
  // Lo (2002): positive autocorrelation shrinks the annual Sharpe ratio.
  const std::vector<double> rho{0.2, 0.1};
  const double expected = 0.1 * 12 / std::sqrt(12 + 2 * (11 * 0.2 + 10 * 0.1));
  EXPECT_NEAR(AnnualizeSharpeLo(0.1, 12, rho), expected, 1e-15);
  EXPECT_TRUE(std::isnan(AnnualizeSharpeLo(0.1, 0, rho)));
}

// ---- Effective number of trials -------------------------------------------------------------

// T x N column-major: x_tj = a * common_t + b * own_tj (uniform noise), so rho ~ a^2/(a^2+b^2).
std::vector<double> FactorMatrix(std::size_t T, std::size_t N, double a, double b,
                                 std::uint64_t seed) {
  SplitMix64 g(seed);
  std::vector<double> common(T), x(T * N);
  for (double& c : common)
    c = g.Uniform() - 0.5;
  for (std::size_t j = 0; j < N; ++j)
    for (std::size_t t = 0; t < T; ++t)
      x[j * T + t] = a * common[t] + b * (g.Uniform() - 0.5);
  return x;
}

TEST(EffectiveTrialsTest, IdenticalTrialsCountOnce) {
  const std::size_t T = 300, N = 7;
  std::vector<double> x = FactorMatrix(T, N, 1.0, 0.0, 3);
  const MatrixView v{.data = x, .rows = T, .cols = N};
  for (auto method : {EffectiveTrialsMethod::kAverageCorrelation, EffectiveTrialsMethod::kNyholt}) {
    auto r = EstimateEffectiveTrials(v, method);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_NEAR(r->n_eff, 1.0, 1e-9);
    EXPECT_NEAR(r->mean_correlation, 1.0, 1e-12);
    EXPECT_EQ(r->n_trials, N);
  }
}

TEST(EffectiveTrialsTest, IndependentTrialsCountFully) {
  const std::size_t T = 5000, N = 20;
  std::vector<double> x = FactorMatrix(T, N, 0.0, 1.0, 4);
  auto r = EstimateEffectiveTrials(MatrixView{.data = x, .rows = T, .cols = N});
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(r->mean_correlation, 0.0, 0.01);
  EXPECT_GT(r->n_eff, 19.5);
  EXPECT_LE(r->n_eff, 20.0);
}

TEST(EffectiveTrialsTest, FormulasOnEquicorrelatedTrials) {
  const std::size_t T = 4000, N = 30;
  std::vector<double> x = FactorMatrix(T, N, 1.0, 1.0, 5);  // rho ~ 0.5
  const MatrixView v{.data = x, .rows = T, .cols = N};
  auto avg = EstimateEffectiveTrials(v, EffectiveTrialsMethod::kAverageCorrelation);
  auto nyh = EstimateEffectiveTrials(v, EffectiveTrialsMethod::kNyholt);
  ASSERT_TRUE(avg.ok() && nyh.ok());
  const double rho = avg->mean_correlation, rho2 = avg->mean_sq_correlation;
  EXPECT_NEAR(rho, 0.5, 0.05);
  EXPECT_NEAR(avg->n_eff, rho + (1 - rho) * 30, 1e-12);
  EXPECT_NEAR(nyh->n_eff, 1 + 29 * (1 - rho2), 1e-12);
  // Nyholt (2004) counts equicorrelated trials as more independent than rho_bar does.
  EXPECT_GT(nyh->n_eff, avg->n_eff);
}

TEST(EffectiveTrialsTest, ConstantTrialsAreLeftOutOfTheCorrelations) {
  const std::size_t T = 200, N = 4;
  std::vector<double> x = FactorMatrix(T, N, 1.0, 0.0, 6);
  std::fill(x.begin() + 3 * T, x.end(), 0.0);  // trial 3 never trades
  auto r = EstimateEffectiveTrials(MatrixView{.data = x, .rows = T, .cols = N});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->constant_trials, 1u);
  EXPECT_NEAR(r->mean_correlation, 1.0, 1e-12);
  // Fewer than two columns with a variance: nothing to estimate, N stays.
  std::fill(x.begin() + T, x.end(), 0.0);
  auto r1 = EstimateEffectiveTrials(MatrixView{.data = x, .rows = T, .cols = N});
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->n_eff, 4.0);
}

TEST(EffectiveTrialsTest, SameBitsOnOneAndTwoThreads) {
  const std::size_t T = 500, N = 64;
  std::vector<double> x = FactorMatrix(T, N, 0.7, 1.0, 8);
  const MatrixView v{.data = x, .rows = T, .cols = N};
  EffectiveTrials one, two;
  {
    ThreadLimit limit(1);
    one = *EstimateEffectiveTrials(v, EffectiveTrialsMethod::kNyholt);
  }
  {
    ThreadLimit limit(2);
    two = *EstimateEffectiveTrials(v, EffectiveTrialsMethod::kNyholt);
  }
  EXPECT_EQ(std::memcmp(&one.n_eff, &two.n_eff, sizeof(double)), 0);
  EXPECT_EQ(std::memcmp(&one.mean_correlation, &two.mean_correlation, sizeof(double)), 0);
  EXPECT_EQ(std::memcmp(&one.mean_sq_correlation, &two.mean_sq_correlation, sizeof(double)), 0);
}

TEST(EffectiveTrialsTest, RejectsBadInput) {
  std::vector<double> x(10, 0.0);
  EXPECT_EQ(EstimateEffectiveTrials(MatrixView{.data = x, .rows = 3, .cols = 3}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(EstimateEffectiveTrials(MatrixView{.data = x, .rows = 1, .cols = 10}).status().code(),
            StatusCode::kInvalidArgument);
  x[7] = std::numeric_limits<double>::quiet_NaN();
  const auto r = EstimateEffectiveTrials(MatrixView{.data = x, .rows = 5, .cols = 2});
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_NE(r.status().message().find("row 2, column 1"), std::string_view::npos);
}

}  // namespace
}  // namespace qraft::robust
