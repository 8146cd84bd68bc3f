#include "qraft/expr/kernels/cs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace qraft::expr::kernels::cs {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- Fixtures ----

struct RandomPanel {
  std::size_t num_symbols = 0;
  std::size_t num_times = 0;
  std::vector<double> x;
  std::vector<double> group;        // changes over time
  std::vector<double> fixed_group;  // constant over time (exercises the grouping cache)
  std::vector<std::vector<double>> exposures;

  Block Plain() const { return {x.data(), num_symbols, num_times, nullptr}; }
  Block Grouped() const { return {x.data(), num_symbols, num_times, group.data()}; }
  Block FixedGrouped() const { return {x.data(), num_symbols, num_times, fixed_group.data()}; }
};

// Values with ~10% NaN and some ties (a third rounded to one decimal); group codes 0..4 with ~5%
// NaN; two exposures with ~3% NaN.
RandomPanel MakePanel(std::size_t num_symbols, std::size_t num_times, unsigned seed) {
  RandomPanel p;
  p.num_symbols = num_symbols;
  p.num_times = num_times;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  std::uniform_int_distribution<int> code(0, 4);
  const std::size_t n = num_symbols * num_times;
  p.x.resize(n);
  p.group.resize(n);
  p.fixed_group.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    double v = normal(rng) * 3;
    if (unif(rng) < 0.33) v = std::round(v * 10) / 10;
    p.x[i] = unif(rng) < 0.1 ? kNaN : v;
    p.group[i] = unif(rng) < 0.05 ? kNaN : code(rng);
  }
  for (std::size_t s = 0; s < num_symbols; ++s) {
    const double g = s % 7 == 3 ? kNaN : static_cast<double>((s * 5) % 4);
    for (std::size_t t = 0; t < num_times; ++t)
      p.fixed_group[s * num_times + t] = g;
  }
  for (int k = 0; k < 2; ++k) {
    std::vector<double> e(n);
    for (double& v : e)
      v = unif(rng) < 0.03 ? kNaN : normal(rng) + (k == 1 ? 20.0 : 0.0);
    p.exposures.push_back(std::move(e));
  }
  return p;
}

// ---- Naive reference: for each (s, t), scan every symbol for its group's members ----

// Members of s's group at t (ascending symbol order), or empty when s itself is excluded.
std::vector<std::size_t> NaiveMembers(const Block& in, const std::vector<const double*>& ex,
                                      std::size_t s, std::size_t t) {
  const std::size_t nt = in.num_times;
  auto valid = [&](std::size_t u) {
    if (std::isnan(in.x[u * nt + t])) return false;
    for (const double* e : ex)
      if (std::isnan(e[u * nt + t])) return false;
    if (in.group != nullptr && std::isnan(in.group[u * nt + t])) return false;
    return true;
  };
  std::vector<std::size_t> m;
  if (!valid(s)) return m;
  for (std::size_t u = 0; u < in.num_symbols; ++u) {
    if (!valid(u)) continue;
    if (in.group != nullptr && in.group[u * nt + t] != in.group[s * nt + t]) continue;
    m.push_back(u);
  }
  return m;
}

using NaiveStat = std::function<double(const std::vector<double>& values, double x)>;

std::vector<double> Naive(const Block& in, const NaiveStat& stat) {
  std::vector<double> out(in.num_symbols * in.num_times, kNaN);
  for (std::size_t t = 0; t < in.num_times; ++t) {
    for (std::size_t s = 0; s < in.num_symbols; ++s) {
      const auto m = NaiveMembers(in, {}, s, t);
      if (m.empty()) continue;
      std::vector<double> v;
      for (std::size_t u : m)
        v.push_back(in.x[u * in.num_times + t]);
      out[s * in.num_times + t] = stat(v, in.x[s * in.num_times + t]);
    }
  }
  return out;
}

double NaiveMean(const std::vector<double>& v) {
  double sum = 0;
  for (double a : v)
    sum += a;
  return sum / static_cast<double>(v.size());
}

double NaiveStd(const std::vector<double>& v) {
  const double m = NaiveMean(v);
  double ss = 0;
  for (double a : v)
    ss += (a - m) * (a - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

bool AllEqual(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [&](double a) { return a == v[0]; });
}

double NaiveRank(const std::vector<double>& v, double x) {
  double less = 0;
  double equal = 0;
  for (double a : v) {
    less += a < x;
    equal += a == x;
  }
  return (less + (equal + 1) / 2) / static_cast<double>(v.size());
}

double NaiveQuantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double h = (static_cast<double>(v.size()) - 1) * q;
  const auto i = static_cast<std::size_t>(std::floor(h));
  if (i + 1 >= v.size()) return v.back();
  const double g = h - std::floor(h);
  return g >= 0.5 ? v[i + 1] - (v[i + 1] - v[i]) * (1 - g) : v[i] + (v[i + 1] - v[i]) * g;
}

// OLS residual on [group dummies, exposures] through the normal equations (long double Gauss
// elimination with partial pivoting). REQUIRES: full rank.
std::vector<double> NaiveNeutralize(const Block& in, const std::vector<const double*>& ex) {
  const std::size_t ns = in.num_symbols;
  const std::size_t nt = in.num_times;
  std::vector<double> out(ns * nt, kNaN);
  for (std::size_t t = 0; t < nt; ++t) {
    std::vector<std::size_t> rows;
    std::vector<double> codes;
    for (std::size_t s = 0; s < ns; ++s) {
      const auto m = NaiveMembers(in, ex, s, t);
      if (m.empty()) continue;
      rows.push_back(s);
      const double g = in.group != nullptr ? in.group[s * nt + t] : 0.0;
      if (std::find(codes.begin(), codes.end(), g) == codes.end()) codes.push_back(g);
    }
    if (rows.empty()) continue;
    const std::size_t p = codes.size() + ex.size();
    auto regressor = [&](std::size_t s, std::size_t j) -> long double {
      if (j < codes.size()) {
        const double g = in.group != nullptr ? in.group[s * nt + t] : 0.0;
        return g == codes[j] ? 1.0L : 0.0L;
      }
      return ex[j - codes.size()][s * nt + t];
    };
    std::vector<long double> m(p * (p + 1), 0.0L);  // [XᵀX | Xᵀy]
    for (std::size_t s : rows) {
      for (std::size_t i = 0; i < p; ++i) {
        for (std::size_t j = 0; j < p; ++j)
          m[i * (p + 1) + j] += regressor(s, i) * regressor(s, j);
        m[i * (p + 1) + p] += regressor(s, i) * in.x[s * nt + t];
      }
    }
    for (std::size_t c = 0; c < p; ++c) {
      std::size_t piv = c;
      for (std::size_t r = c + 1; r < p; ++r)
        if (std::fabs(m[r * (p + 1) + c]) > std::fabs(m[piv * (p + 1) + c])) piv = r;
      for (std::size_t j = 0; j <= p; ++j)
        std::swap(m[c * (p + 1) + j], m[piv * (p + 1) + j]);
      for (std::size_t r = 0; r < p; ++r) {
        if (r == c) continue;
        const long double f = m[r * (p + 1) + c] / m[c * (p + 1) + c];
        for (std::size_t j = 0; j <= p; ++j)
          m[r * (p + 1) + j] -= f * m[c * (p + 1) + j];
      }
    }
    for (std::size_t s : rows) {
      long double fit = 0;
      for (std::size_t j = 0; j < p; ++j)
        fit += regressor(s, j) * m[j * (p + 1) + p] / m[j * (p + 1) + j];
      out[s * nt + t] = static_cast<double>(in.x[s * nt + t] - fit);
    }
  }
  return out;
}

// ---- Helpers ----

std::vector<double> RunAll(const std::function<void(Range, double*)>& kernel,
                           std::size_t num_symbols, std::size_t num_times) {
  std::vector<double> out(num_symbols * num_times, -12345.0);
  kernel({0, num_times}, out.data());
  return out;
}

void ExpectNear(const std::vector<double>& got, const std::vector<double>& want, double tol,
                const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const bool ok = (std::isnan(got[i]) && std::isnan(want[i])) ||
                    std::fabs(got[i] - want[i]) <= tol * std::max(1.0, std::fabs(want[i]));
    if (!ok && ++bad <= 5) {
      ADD_FAILURE() << what << " at " << i << ": got " << got[i] << ", want " << want[i];
    }
  }
  EXPECT_EQ(bad, 0u) << what;
}

bool BitIdentical(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

// Single-column block from literal values.
std::vector<double> Col(void (*kernel)(const Block&, Range, double*), std::vector<double> x,
                        const std::vector<double>& group = {}) {
  std::vector<double> out(x.size(), -1.0);
  kernel({x.data(), x.size(), 1, group.empty() ? nullptr : group.data()}, {0, 1}, out.data());
  return out;
}

void ExpectValues(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "at " << i << ": " << got[i];
    } else {
      EXPECT_NEAR(got[i], want[i], 1e-12) << "at " << i;
    }
  }
}

// ---- Against the naive implementation ----

class CsNaiveTest : public ::testing::TestWithParam<int> {
 protected:
  // 0: no groups, 1: groups changing every t, 2: groups fixed over time.
  Block BlockFor(const RandomPanel& p) const {
    return GetParam() == 0 ? p.Plain() : GetParam() == 1 ? p.Grouped() : p.FixedGrouped();
  }
};

constexpr std::size_t kS = 53;
constexpr std::size_t kT = 75;  // more than two 32-column blocks

TEST_P(CsNaiveTest, Rank) {
  const RandomPanel p = MakePanel(kS, kT, 11);
  const Block in = BlockFor(p);
  const auto got = RunAll([&](Range r, double* o) { Rank(in, r, o); }, kS, kT);
  ExpectNear(got, Naive(in, NaiveRank), 0, "rank");
}

TEST_P(CsNaiveTest, ZScore) {
  const RandomPanel p = MakePanel(kS, kT, 12);
  const Block in = BlockFor(p);
  const auto got = RunAll([&](Range r, double* o) { ZScore(in, r, o); }, kS, kT);
  const auto want = Naive(in, [](const std::vector<double>& v, double x) {
    if (v.size() < 2 || AllEqual(v)) return kNaN;
    return (x - NaiveMean(v)) / NaiveStd(v);
  });
  ExpectNear(got, want, 1e-13, "zscore");
}

TEST_P(CsNaiveTest, DemeanMeanCountScale) {
  const RandomPanel p = MakePanel(kS, kT, 13);
  const Block in = BlockFor(p);
  ExpectNear(RunAll([&](Range r, double* o) { Demean(in, r, o); }, kS, kT),
             Naive(in, [](const std::vector<double>& v, double x) { return x - NaiveMean(v); }),
             1e-13, "demean");
  ExpectNear(RunAll([&](Range r, double* o) { Mean(in, r, o); }, kS, kT),
             Naive(in, [](const std::vector<double>& v, double) { return NaiveMean(v); }), 1e-13,
             "mean");
  ExpectNear(RunAll([&](Range r, double* o) { Count(in, r, o); }, kS, kT),
             Naive(in, [](const std::vector<double>& v, double) { return double(v.size()); }), 0,
             "count");
  ExpectNear(RunAll([&](Range r, double* o) { Scale(in, r, o); }, kS, kT),
             Naive(in,
                   [](const std::vector<double>& v, double x) {
                     double g = 0;
                     for (double a : v)
                       g += std::fabs(a);
                     return g == 0 ? kNaN : x / g;
                   }),
             1e-13, "scale");
}

TEST_P(CsNaiveTest, Winsorize) {
  const RandomPanel p = MakePanel(kS, kT, 14);
  const Block in = BlockFor(p);
  for (double k : {0.5, 1.0, 2.0}) {
    const WinsorizeSpec spec{WinsorizeMode::kSigma, k};
    const auto got = RunAll([&](Range r, double* o) { Winsorize(in, spec, r, o); }, kS, kT);
    const auto want = Naive(in, [&](const std::vector<double>& v, double x) {
      if (v.size() < 2 || AllEqual(v)) return x;
      const double m = NaiveMean(v);
      const double sd = NaiveStd(v);
      return std::clamp(x, m - k * sd, m + k * sd);
    });
    ExpectNear(got, want, 1e-13, "winsorize sigma " + std::to_string(k));
  }
  for (double q : {0.0, 0.05, 0.1, 0.25, 0.5}) {
    const WinsorizeSpec spec{WinsorizeMode::kQuantile, q};
    const auto got = RunAll([&](Range r, double* o) { Winsorize(in, spec, r, o); }, kS, kT);
    const auto want = Naive(in, [&](const std::vector<double>& v, double x) {
      return std::clamp(x, NaiveQuantile(v, q), NaiveQuantile(v, 1 - q));
    });
    ExpectNear(got, want, 0, "winsorize quantile " + std::to_string(q));
  }
}

TEST_P(CsNaiveTest, Neutralize) {
  const RandomPanel p = MakePanel(kS, kT, 15);
  const Block in = BlockFor(p);
  // Groups only: the residual on dummies is the within-group demeaned value.
  ExpectNear(RunAll([&](Range r, double* o) { Neutralize(in, {}, r, o); }, kS, kT),
             Naive(in, [](const std::vector<double>& v, double x) { return x - NaiveMean(v); }),
             1e-13, "neutralize without exposures");
  for (std::size_t k = 1; k <= 2; ++k) {
    std::vector<const double*> ex;
    for (std::size_t i = 0; i < k; ++i)
      ex.push_back(p.exposures[i].data());
    const auto got = RunAll([&](Range r, double* o) { Neutralize(in, ex, r, o); }, kS, kT);
    ExpectNear(got, NaiveNeutralize(in, ex), 1e-9, "neutralize K=" + std::to_string(k));
  }
}

std::string GroupingName(const ::testing::TestParamInfo<int>& info) {
  static const char* const kNames[] = {"None", "Varying", "Fixed"};
  return kNames[info.param];
}

INSTANTIATE_TEST_SUITE_P(Groups, CsNaiveTest, ::testing::Values(0, 1, 2), GroupingName);

// Cross-sections of 256 values or more take the radix-sort path: check it on values with ties,
// signed zeros and infinities.
TEST(CsTest, LargeCrossSectionsMatchNaive) {
  const std::size_t ns = 700;
  const std::size_t nt = 6;
  RandomPanel p = MakePanel(ns, nt, 31);
  const double inf = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < p.x.size(); i += 37)
    p.x[i] = (i / 37) % 4 == 0 ? -0.0 : (i / 37) % 4 == 1 ? 0.0 : (i / 37) % 4 == 2 ? inf : -inf;
  for (const Block& in : {p.Plain(), p.Grouped()}) {
    ExpectNear(RunAll([&](Range r, double* o) { Rank(in, r, o); }, ns, nt), Naive(in, NaiveRank), 0,
               "rank");
  }
  // Quantile winsorizing of finite values (an infinite bound would make the lerp NaN).
  for (std::size_t i = 0; i < p.x.size(); ++i)
    if (std::isinf(p.x[i])) p.x[i] = std::signbit(p.x[i]) ? -1e300 : 1e300;
  for (const Block& in : {p.Plain(), p.Grouped()}) {
    const WinsorizeSpec spec{WinsorizeMode::kQuantile, 0.05};
    ExpectNear(RunAll([&](Range r, double* o) { Winsorize(in, spec, r, o); }, ns, nt),
               Naive(in,
                     [&](const std::vector<double>& v, double x) {
                       return std::clamp(x, NaiveQuantile(v, 0.05), NaiveQuantile(v, 0.95));
                     }),
               0, "winsorize quantile");
  }
}

// ---- Range splitting: bit-identical, and nothing outside the range is written ----

TEST(CsTest, RangeSplittingIsBitIdentical) {
  const RandomPanel p = MakePanel(41, 150, 21);
  const std::vector<const double*> ex = {p.exposures[0].data(), p.exposures[1].data()};
  const WinsorizeSpec sigma{WinsorizeMode::kSigma, 1.5};
  const WinsorizeSpec quant{WinsorizeMode::kQuantile, 0.1};
  const std::vector<std::pair<std::string, std::function<void(const Block&, Range, double*)>>>
      kernels = {
          {"rank", Rank},
          {"zscore", ZScore},
          {"demean", Demean},
          {"scale", Scale},
          {"mean", Mean},
          {"count", Count},
          {"winsorize_sigma",
           [&](const Block& b, Range r, double* o) { Winsorize(b, sigma, r, o); }},
          {"winsorize_quantile",
           [&](const Block& b, Range r, double* o) { Winsorize(b, quant, r, o); }},
          {"neutralize", [&](const Block& b, Range r, double* o) { Neutralize(b, ex, r, o); }},
      };
  const std::vector<std::size_t> cuts = {0, 1, 7, 32, 33, 40, 41, 96, 127, 149, 150};
  for (const Block& in : {p.Plain(), p.Grouped()}) {
    for (const auto& [name, kernel] : kernels) {
      std::vector<double> whole(p.x.size(), 0.0);
      kernel(in, {0, p.num_times}, whole.data());
      std::vector<double> pieces(p.x.size(), 0.0);
      for (std::size_t i = 0; i + 1 < cuts.size(); ++i)
        kernel(in, {cuts[i], cuts[i + 1]}, pieces.data());
      EXPECT_TRUE(BitIdentical(whole, pieces)) << name;

      std::vector<double> part(p.x.size(), 7.0);
      kernel(in, {33, 96}, part.data());
      for (std::size_t s = 0; s < p.num_symbols; ++s) {
        for (std::size_t t = 0; t < p.num_times; ++t) {
          const double v = part[s * p.num_times + t];
          const double w = whole[s * p.num_times + t];
          if (t < 33 || t >= 96) {
            ASSERT_EQ(v, 7.0) << name << " wrote outside the range at t=" << t;
          } else {
            ASSERT_TRUE(std::memcmp(&v, &w, sizeof v) == 0) << name << " t=" << t;
          }
        }
      }
    }
  }
}

TEST(CsTest, EmptyRangeAndEmptyPanelWriteNothing) {
  std::vector<double> x = {1, 2, 3};
  std::vector<double> out = {9, 9, 9};
  Rank({x.data(), 3, 1, nullptr}, {0, 0}, out.data());
  EXPECT_EQ(out, (std::vector<double>{9, 9, 9}));
  ZScore({nullptr, 0, 5, nullptr}, {0, 5}, out.data());
  EXPECT_EQ(out, (std::vector<double>{9, 9, 9}));
}

// ---- Hand-computed cases ----

TEST(CsTest, RankAverageTies) {
  ExpectValues(Col(Rank, {3, 1, 3, kNaN, 2}), {0.875, 0.25, 0.875, kNaN, 0.5});
  ExpectValues(Col(Rank, {5, 5, 5, 5}), {0.625, 0.625, 0.625, 0.625});
  ExpectValues(Col(Rank, {-0.0, 0.0, 1}), {0.5, 0.5, 1.0});
  ExpectValues(Col(Rank, {-std::numeric_limits<double>::infinity(), 0,
                          std::numeric_limits<double>::infinity()}),
               {1.0 / 3, 2.0 / 3, 1.0});
}

TEST(CsTest, AllNaNColumnStaysNaN) {
  const std::vector<double> nan4(4, kNaN);
  for (auto* k : {Rank, ZScore, Demean, Scale, Mean, Count})
    ExpectValues(Col(k, nan4), nan4);
  // A NaN column among valid ones, and a column whose groups are all NaN.
  std::vector<double> x = {1, kNaN, 2, kNaN, 3, kNaN};  // 3 symbols x 2 times
  std::vector<double> g = {kNaN, 0, kNaN, 0, kNaN, 0};
  std::vector<double> out(6, -1);
  ZScore({x.data(), 3, 2, nullptr}, {0, 2}, out.data());
  ExpectValues(out, {-1, kNaN, 0, kNaN, 1, kNaN});
  Rank({x.data(), 3, 2, g.data()}, {0, 2}, out.data());
  ExpectValues(out, std::vector<double>(6, kNaN));
}

TEST(CsTest, SingleValidValue) {
  const std::vector<double> x = {kNaN, -2, kNaN};
  ExpectValues(Col(Rank, x), {kNaN, 1, kNaN});
  ExpectValues(Col(ZScore, x), {kNaN, kNaN, kNaN});
  ExpectValues(Col(Demean, x), {kNaN, 0, kNaN});
  ExpectValues(Col(Scale, x), {kNaN, -1, kNaN});
  ExpectValues(Col(Mean, x), {kNaN, -2, kNaN});
  ExpectValues(Col(Count, x), {kNaN, 1, kNaN});
  std::vector<double> out(3, 5);
  Winsorize({x.data(), 3, 1, nullptr}, {WinsorizeMode::kQuantile, 0.1}, {0, 1}, out.data());
  ExpectValues(out, {kNaN, -2, kNaN});
  const std::vector<double> e = {1, 4, 2};
  const double* ex[] = {e.data()};
  Neutralize({x.data(), 3, 1, nullptr}, ex, {0, 1}, out.data());
  ExpectValues(out, {kNaN, 0, kNaN});
}

TEST(CsTest, ZScoreHandComputed) {
  const double sd = std::sqrt(5.0 / 3.0);  // ddof=1 of 1, 2, 3, 4
  ExpectValues(Col(ZScore, {1, 2, 3, 4}), {-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd});
  // Equal values: std is 0 even though 0.1 * 3 / 3 != 0.1 in binary.
  ExpectValues(Col(ZScore, {0.1, 0.1, 0.1}), {kNaN, kNaN, kNaN});
}

TEST(CsTest, GroupsAreSeparate) {
  const std::vector<double> x = {1, 2, 10, 20, 5, 7};
  const std::vector<double> g = {0, 0, 1, 1, kNaN, 2.5};
  ExpectValues(Col(Demean, x, g), {-0.5, 0.5, -5, 5, kNaN, 0});
  ExpectValues(Col(Rank, x, g), {0.5, 1, 0.5, 1, kNaN, 1});
  ExpectValues(Col(Mean, x, g), {1.5, 1.5, 15, 15, kNaN, 7});
  ExpectValues(Col(Count, x, g), {2, 2, 2, 2, kNaN, 1});
  ExpectValues(Col(Scale, x, g), {1.0 / 3, 2.0 / 3, 1.0 / 3, 2.0 / 3, kNaN, 1});
  // Group codes need not be integers and may be negative; -0 and +0 are one group.
  ExpectValues(Col(Count, {1, 2, 3, 4}, {-0.0, 0.0, -3.5, -3.5}), {2, 2, 2, 2});
}

TEST(CsTest, ScaleZeroGross) {
  ExpectValues(Col(Scale, {1, -3, kNaN, 4}), {0.125, -0.375, kNaN, 0.5});
  ExpectValues(Col(Scale, {0, 0, kNaN}), {kNaN, kNaN, kNaN});
}

TEST(CsTest, WinsorizeHandComputed) {
  std::vector<double> x = {10, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<double> out(10);
  // numpy.quantile(1..10, 0.1) = 1.9, (0.9) = 9.1.
  Winsorize({x.data(), 10, 1, nullptr}, {WinsorizeMode::kQuantile, 0.1}, {0, 1}, out.data());
  ExpectValues(out, {9.1, 1.9, 2, 3, 4, 5, 6, 7, 8, 9});
  Winsorize({x.data(), 10, 1, nullptr}, {WinsorizeMode::kQuantile, 0.5}, {0, 1}, out.data());
  ExpectValues(out, std::vector<double>(10, 5.5));
  // mean 2, std sqrt(20): with k = 1 the 10 clips to 2 + sqrt(20); the zeros stay.
  std::vector<double> y = {0, 0, 0, 0, 10};
  out.resize(5);
  Winsorize({y.data(), 5, 1, nullptr}, {WinsorizeMode::kSigma, 1}, {0, 1}, out.data());
  ExpectValues(out, {0, 0, 0, 0, 2 + std::sqrt(20.0)});
  // Equal values are left alone.
  std::vector<double> z = {0.1, 0.1, 0.1};
  out.resize(3);
  Winsorize({z.data(), 3, 1, nullptr}, {WinsorizeMode::kSigma, 0}, {0, 1}, out.data());
  EXPECT_EQ(out, z);
}

TEST(CsTest, WinsorizeSpecValidity) {
  EXPECT_TRUE(IsValid({WinsorizeMode::kSigma, 0}));
  EXPECT_TRUE(IsValid({WinsorizeMode::kSigma, 3}));
  EXPECT_FALSE(IsValid({WinsorizeMode::kSigma, -1}));
  EXPECT_FALSE(IsValid({WinsorizeMode::kSigma, kNaN}));
  EXPECT_TRUE(IsValid({WinsorizeMode::kQuantile, 0.5}));
  EXPECT_FALSE(IsValid({WinsorizeMode::kQuantile, 0.6}));
  EXPECT_FALSE(IsValid({WinsorizeMode::kQuantile, kNaN}));
}

TEST(CsTest, NeutralizeHandComputed) {
  // x = 1 + 2 e exactly: the residual on [intercept, e] is 0.
  const std::vector<double> e = {1, 2, 3, 5, kNaN};
  const std::vector<double> x = {3, 5, 7, 11, 4};
  std::vector<double> out(5, -1);
  const double* one[] = {e.data()};
  Neutralize({x.data(), 5, 1, nullptr}, one, {0, 1}, out.data());
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(out[i], 0, 1e-14);
  EXPECT_TRUE(std::isnan(out[4]));  // exposure missing

  // x = (1, 0, 0, 0), e = (0, 1, 2, 3): slope -0.3, intercept 0.7; residual by hand.
  const std::vector<double> x2 = {1, 0, 0, 0};
  const std::vector<double> e2 = {0, 1, 2, 3};
  out.assign(4, -1);
  const double* two[] = {e2.data()};
  Neutralize({x2.data(), 4, 1, nullptr}, two, {0, 1}, out.data());
  ExpectValues(out, {0.3, -0.4, -0.1, 0.2});

  // Collinear exposures (e2, 2·e2, a constant) give the same residual as e2 alone.
  const std::vector<double> e3 = {0, 2, 4, 6};
  const std::vector<double> c = {7, 7, 7, 7};
  const double* many[] = {e2.data(), e3.data(), c.data()};
  std::vector<double> out2(4, -1);
  Neutralize({x2.data(), 4, 1, nullptr}, many, {0, 1}, out2.data());
  ExpectValues(out2, out);

  // With groups, an exposure constant within each group is absorbed by the dummies.
  const std::vector<double> g = {0, 0, 1, 1};
  const std::vector<double> within = {5, 5, -2, -2};
  const double* w[] = {within.data()};
  Neutralize({x2.data(), 4, 1, g.data()}, w, {0, 1}, out2.data());
  ExpectValues(out2, {0.5, -0.5, 0, 0});
}

}  // namespace
}  // namespace qraft::expr::kernels::cs
