#include "qraft/robust/pbo.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "qraft/core/parallel.h"
#include "qraft/robust/bootstrap.h"
#include "qraft/robust/sharpe.h"

namespace qraft::robust {
namespace {

// A T x N matrix stored column-major, as MatrixView wants.
struct Matrix {
  std::size_t rows = 0, cols = 0;
  std::vector<double> data = {};
  double& at(std::size_t t, std::size_t j) { return data[j * rows + t]; }
  MatrixView view() const { return {.data = data, .rows = rows, .cols = cols}; }
};

// SPEC §7.4 random cases: M[t, j] = drift * j + 0.01 (u - 0.5), drawn row by row.
Matrix DriftMatrix(std::uint64_t seed, std::size_t T, std::size_t N, double drift) {
  SplitMix64 g(seed);
  Matrix m{.rows = T, .cols = N, .data = std::vector<double>(T * N)};
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t j = 0; j < N; ++j)
      m.at(t, j) = drift * static_cast<double>(j) + 0.01 * (g.Uniform() - 0.5);
  return m;
}

// |actual - expected| <= rtol * |expected|.
void ExpectRel(double actual, double expected, double rtol) {
  EXPECT_LE(std::abs(actual - expected), rtol * std::abs(expected))
      << "actual " << actual << " expected " << expected;
}

// SPEC §4.1: pbo, prob_oos_loss, slope and intercept to 1e-12 (relative for the regression).
constexpr double kTol = 1e-12;

PboResult RunPbo(const Matrix& m, std::size_t S, PboMetric metric = PboMetric::kSharpe) {
  auto r = PboCscv(m.view(), PboOptions{.blocks = S, .metric = metric});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *std::move(r) : PboResult{};
}

// The fraction must be an exact count over the splits, as SPEC §3.1 step 8 asks.
void ExpectFraction(double value, double expected, std::size_t n) {
  EXPECT_NEAR(value, expected, kTol);
  const double nd = static_cast<double>(n);
  EXPECT_EQ(value, std::round(value * nd) / nd);
  EXPECT_GE(value, 0.0);
  EXPECT_LE(value, 1.0);
}

TEST(CscvSplitsTest, LexicographicOrder) {
  auto s4 = CscvSplits(4);
  ASSERT_TRUE(s4.ok());
  // SPEC §7.4: (0,1),(0,2),(0,3),(1,2),(1,3),(2,3).
  EXPECT_EQ(*s4, (std::vector<std::uint32_t>{0b0011, 0b0101, 0b1001, 0b0110, 0b1010, 0b1100}));
  EXPECT_EQ(CscvSplits(2)->size(), 2u);
  EXPECT_EQ(CscvSplits(8)->size(), 70u);
  auto s16 = CscvSplits(16);
  ASSERT_TRUE(s16.ok());
  ASSERT_EQ(s16->size(), 12870u);
  EXPECT_EQ(s16->front(), 0x00FFu);
  EXPECT_EQ(s16->back(), 0xFF00u);
  for (std::size_t i = 0; i < s16->size(); ++i)
    ASSERT_EQ(std::popcount((*s16)[i]), 8);
  EXPECT_EQ(CscvSplits(3).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CscvSplits(0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CscvSplits(26).status().code(), StatusCode::kInvalidArgument);
}

// SPEC §7.4 hand-checkable case: 8 x 3, S = 4, metric = column mean.
TEST(PboTest, HandCheckableCase) {
  const double rows[8][3] = {{1, 2, 3}, {2, 1, 0}, {0, 3, 1}, {3, 0, 2},
                             {1, 1, 1}, {2, 2, 0}, {0, 1, 3}, {1, 0, 2}};
  Matrix m{.rows = 8, .cols = 3, .data = std::vector<double>(24)};
  for (std::size_t t = 0; t < 8; ++t)
    for (std::size_t j = 0; j < 3; ++j)
      m.at(t, j) = rows[t][j];
  const PboResult r = RunPbo(m, 4, PboMetric::kMean);
  EXPECT_EQ(r.n_combos, 6u);
  EXPECT_EQ(r.dropped_rows, 0u);
  EXPECT_EQ(r.rows_per_block, 2u);
  // Combo 0 has a 3-way in-sample tie: the first column is taken.
  EXPECT_EQ(r.n_star, (std::vector<std::size_t>{0, 0, 2, 0, 2, 2}));
  EXPECT_EQ(r.oos_rank, (std::vector<double>{1.5, 1.5, 1, 1.5, 1, 2}));
  const std::vector<double> logits{-0.5108256237659907, -0.5108256237659907, -1.0986122886681098,
                                   -0.5108256237659907, -1.0986122886681098, 0.0};
  ASSERT_EQ(r.logits.size(), logits.size());
  for (std::size_t c = 0; c < logits.size(); ++c)
    EXPECT_DOUBLE_EQ(r.logits[c], logits[c]) << c;
  EXPECT_EQ(r.logits[5], 0.0);  // the median rank counts as overfit (omega = 0.5)
  // From ref_psr_pbo.out: R(IS)[n*] and R_bar(OOS)[n*].
  EXPECT_EQ(r.is_star, (std::vector<double>{1.5, 1.5, 2.0, 1.5, 2.0, 1.5}));
  EXPECT_EQ(r.oos_star, (std::vector<double>{1.0, 1.0, 1.0, 1.0, 1.0, 1.5}));
  EXPECT_EQ(r.pbo, 1.0);  // count / total, not pypbo's 0.9999999999999999
  EXPECT_EQ(r.prob_oos_loss, 0.0);
  EXPECT_EQ(r.nan_metrics, 0u);
}

struct RandomCase {
  double drift;
  std::uint64_t seed;
  std::size_t S, combos;
  double pbo, prob_loss, slope, intercept;
};

// SPEC §7.4 table (pypbo pbo() at ddbc631, SR = mean / std(ddof=1)), T = 240, N = 10.
TEST(PboTest, RandomCasesMatchPypbo) {
  const RandomCase cases[] = {
      {3e-5, 9, 4, 6, 0.16666666666666666, 0.16666666666666666, -1.0793076347314048,
       0.32909361681679833},
      {3e-5, 9, 8, 70, 0.3142857142857143, 0.22857142857142856, -1.173873617358703,
       0.32450497270594314},
      {3e-5, 9, 16, 12870, 0.27933177933177933, 0.14716394716394715, -0.8457887387755941,
       0.25042184089192376},
      {1e-5, 19, 4, 6, 0.5, 0.3333333333333333, -1.9751712028618431, 0.3534802344861356},
      {1e-5, 19, 8, 70, 0.44285714285714284, 0.4, -0.45977761912092663, 0.09256419059724841},
      {1e-5, 19, 16, 12870, 0.4376068376068376, 0.350971250971251, -0.5161291673048402,
       0.1135216876081231},
  };
  for (const RandomCase& c : cases) {
    SCOPED_TRACE(::testing::Message() << "drift " << c.drift << " seed " << c.seed << " S " << c.S);
    const PboResult r = RunPbo(DriftMatrix(c.seed, 240, 10, c.drift), c.S);
    EXPECT_EQ(r.n_combos, c.combos);
    ExpectFraction(r.pbo, c.pbo, r.n_combos);
    ExpectFraction(r.prob_oos_loss, c.prob_loss, r.n_combos);
    ExpectRel(r.slope, c.slope, kTol);
    ExpectRel(r.intercept, c.intercept, kTol);
    EXPECT_EQ(r.nan_metrics, 0u);
    EXPECT_EQ(r.regression_points, r.n_combos);
  }
}

// SPEC §7.4 "strong" row (drift 2e-4, seed 9); intercepts and mean logits from ref_psr_pbo.out.
TEST(PboTest, StrongSignalIsNotOverfit) {
  const struct {
    std::size_t S;
    double slope, intercept, mean_logit;
  } cases[] = {
      {4, -0.24936758935366402, 0.7623699319651305, 1.5086225569665908},
      {8, -0.456306740549227, 0.9298522474512205, 1.5913667121513413},
      {16, -0.5366814290212837, 0.9905294593267415, 1.598839349723457},
  };
  const Matrix m = DriftMatrix(9, 240, 10, 2e-4);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.S);
    const PboResult r = RunPbo(m, c.S);
    EXPECT_EQ(r.pbo, 0.0);
    EXPECT_EQ(r.prob_oos_loss, 0.0);
    ExpectRel(r.slope, c.slope, kTol);
    ExpectRel(r.intercept, c.intercept, kTol);
    double sum = 0.0;
    for (double l : r.logits)
      sum += l;
    ExpectRel(sum / static_cast<double>(r.logits.size()), c.mean_logit, kTol);
  }
}

// SPEC §7.4 noise row: SplitMix64(10), T = 480, N = 50, 0.01 (u - 0.5), S = 16.
TEST(PboTest, NoiseCaseMatchesPypbo) {
  const PboResult r = RunPbo(DriftMatrix(10, 480, 50, 0.0), 16);
  EXPECT_EQ(r.n_combos, 12870u);
  ExpectFraction(r.pbo, 0.34327894327894326, r.n_combos);
  ExpectFraction(r.prob_oos_loss, 0.3323232323232323, r.n_combos);
  ExpectRel(r.slope, -0.18035164092000608, kTol);
}

// ---- Invariants ----------------------------------------------------------------------------

TEST(PboTest, SameBitsOnOneAndTwoThreads) {
  const Matrix m = DriftMatrix(77, 600, 40, 1e-5);
  PboResult one, two;
  {
    ThreadLimit limit(1);
    one = RunPbo(m, 12);
  }
  {
    ThreadLimit limit(2);
    two = RunPbo(m, 12);
  }
  auto same = [](const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
  };
  EXPECT_EQ(std::memcmp(&one.pbo, &two.pbo, sizeof(double)), 0);
  EXPECT_EQ(std::memcmp(&one.slope, &two.slope, sizeof(double)), 0);
  EXPECT_EQ(std::memcmp(&one.intercept, &two.intercept, sizeof(double)), 0);
  EXPECT_EQ(std::memcmp(&one.r2, &two.r2, sizeof(double)), 0);
  EXPECT_EQ(std::memcmp(&one.slope_pvalue, &two.slope_pvalue, sizeof(double)), 0);
  EXPECT_TRUE(same(one.logits, two.logits));
  EXPECT_TRUE(same(one.is_star, two.is_star));
  EXPECT_TRUE(same(one.oos_star, two.oos_star));
  EXPECT_EQ(one.n_star, two.n_star);
  EXPECT_EQ(one.n_combos, 924u);
}

TEST(PboTest, PboIsAProbabilityAndLogitsMatchRanks) {
  for (std::uint64_t seed : {1, 2, 3}) {
    const PboResult r = RunPbo(DriftMatrix(seed, 250, 7, 0.0), 6);  // 250 = 6 * 41 + 4
    EXPECT_EQ(r.dropped_rows, 4u);
    EXPECT_EQ(r.rows_per_block, 41u);
    EXPECT_GE(r.pbo, 0.0);
    EXPECT_LE(r.pbo, 1.0);
    std::size_t overfit = 0;
    for (std::size_t c = 0; c < r.n_combos; ++c) {
      const double w = r.oos_rank[c] / 8.0;
      EXPECT_EQ(r.logits[c], std::log(w / (1 - w)));
      EXPECT_GE(r.oos_rank[c], 1.0);
      EXPECT_LE(r.oos_rank[c], 7.0);
      overfit += r.logits[c] <= 0;
    }
    EXPECT_EQ(r.pbo, static_cast<double>(overfit) / static_cast<double>(r.n_combos));
    EXPECT_GE(r.r2, 0.0);
    EXPECT_LE(r.r2, 1.0);
    EXPECT_GE(r.slope_pvalue, 0.0);
    EXPECT_LE(r.slope_pvalue, 1.0);
  }
}

TEST(PboTest, DropsLeadingRows) {
  // T mod S leading rows are dropped (pypbo): same result as without them.
  const Matrix full = DriftMatrix(5, 243, 6, 2e-5);
  Matrix tail{.rows = 240, .cols = 6, .data = std::vector<double>(240 * 6)};
  for (std::size_t j = 0; j < 6; ++j)
    for (std::size_t t = 0; t < 240; ++t)
      tail.at(t, j) = full.data[j * 243 + 3 + t];
  const PboResult a = RunPbo(full, 8), b = RunPbo(tail, 8);
  EXPECT_EQ(a.dropped_rows, 3u);
  EXPECT_EQ(b.dropped_rows, 0u);
  EXPECT_EQ(a.n_star, b.n_star);
  EXPECT_EQ(a.oos_rank, b.oos_rank);
  EXPECT_EQ(a.pbo, b.pbo);
}

TEST(PboTest, CustomMetricAgreesWithSufficientStatistics) {
  // The custom path evaluates the metric on the materialized rows, two-pass: the built-in
  // Sharpe from block sums must pick the same n* and ranks and agree to rounding.
  const Matrix m = DriftMatrix(31, 320, 12, 1e-5);
  PboOptions o{.blocks = 8, .metric = PboMetric::kCustom};
  o.custom_metric = [](const MatrixView& rows, std::span<double> out) {
    for (std::size_t j = 0; j < rows.cols; ++j)
      out[j] = SharpeRatio(rows.Column(j));
  };
  auto custom = PboCscv(m.view(), o);
  ASSERT_TRUE(custom.ok());
  const PboResult built_in = RunPbo(m, 8);
  EXPECT_EQ(custom->n_star, built_in.n_star);
  EXPECT_EQ(custom->oos_rank, built_in.oos_rank);
  EXPECT_EQ(custom->pbo, built_in.pbo);
  for (std::size_t c = 0; c < built_in.n_combos; ++c) {
    ExpectRel(custom->is_star[c], built_in.is_star[c], 1e-12);
    ExpectRel(custom->oos_star[c], built_in.oos_star[c], 1e-12);
  }
  ExpectRel(custom->slope, built_in.slope, 1e-10);
}

TEST(PboTest, ZeroVarianceRanksWorstAndIsCounted) {
  // Column 0 never trades (all zero): its Sharpe ratio is NaN in every split, ranked -inf.
  Matrix m = DriftMatrix(12, 160, 5, 0.0);
  for (std::size_t t = 0; t < m.rows; ++t)
    m.at(t, 0) = 0.0;
  // Column 1 is constant but not zero: constant to rounding after the shift, also NaN.
  for (std::size_t t = 0; t < m.rows; ++t)
    m.at(t, 1) = 0.0013;
  const PboResult r = RunPbo(m, 4);
  EXPECT_EQ(r.nan_metrics, 6u * 2u * 2u);  // 6 splits, IS and OOS, two columns
  for (std::size_t c = 0; c < r.n_combos; ++c) {
    EXPECT_GE(r.n_star[c], 2u);
    EXPECT_GE(r.oos_rank[c], 3.0);  // above the two NaNs tied at ranks 1 and 2
  }
  // All NaN: n* = 0 by the lowest-index rule, rank = the average of the tie, (1 + 3) / 2.
  Matrix flat{.rows = 40, .cols = 3, .data = std::vector<double>(120, 0.0)};
  const PboResult f = RunPbo(flat, 4);
  EXPECT_EQ(f.n_star, std::vector<std::size_t>(6, 0));
  EXPECT_EQ(f.oos_rank, std::vector<double>(6, 2.0));
  EXPECT_EQ(f.pbo, 1.0);
  EXPECT_EQ(f.prob_oos_loss, 1.0);  // a NaN OOS metric is -inf: a loss
  EXPECT_TRUE(std::isnan(f.slope));
  EXPECT_EQ(f.regression_points, 0u);
}

TEST(PboTest, RejectsBadInput) {
  const Matrix m = DriftMatrix(1, 40, 4, 0.0);
  auto code = [&](const MatrixView& v, PboOptions o) { return PboCscv(v, o).status().code(); };
  EXPECT_EQ(code(m.view(), {.blocks = 5}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(m.view(), {.blocks = 0}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(m.view(), {.blocks = 26}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(m.view(), {.blocks = 24}), StatusCode::kInvalidArgument);  // 1 row per block
  EXPECT_TRUE(PboCscv(m.view(), {.blocks = 20}).ok());                      // 2 rows per block
  EXPECT_EQ(code(m.view(), {.blocks = 4, .metric = PboMetric::kCustom}),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(m.view(), {.blocks = 4, .loss_threshold = std::nan("")}),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code({.data = m.data, .rows = 40, .cols = 3}, {.blocks = 4}),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code({.data = std::span(m.data).first(40), .rows = 40, .cols = 1}, {.blocks = 4}),
            StatusCode::kInvalidArgument);
  Matrix bad = m;
  bad.at(17, 2) = std::numeric_limits<double>::infinity();
  const auto r = PboCscv(bad.view(), {.blocks = 4});
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_NE(r.status().message().find("row 17, column 2"), std::string_view::npos);
}

}  // namespace
}  // namespace qraft::robust
