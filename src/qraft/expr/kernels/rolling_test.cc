#include "qraft/expr/kernels/rolling.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <string>
#include <vector>

namespace qraft::expr::kernels {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kSentinel = -12345.678;  // marks output rows a call must not touch
constexpr Semantics kBoth[] = {Semantics::kNative, Semantics::kQlib};

using Series = std::vector<double>;
using Fn = std::function<void(const double*, Range, Window, Semantics, double*)>;
using PairFn = void (*)(const double*, const double*, Range, Window, Semantics, double*);

const char* Name(Semantics s) {
  return s == Semantics::kQlib ? "qlib" : "native";
}

Series Apply(const Fn& fn, const Series& x, Window w, Semantics s, std::size_t begin = 0,
             std::size_t end = std::numeric_limits<std::size_t>::max()) {
  end = std::min(end, x.size());
  Series out(x.size(), kSentinel);
  fn(x.data(), Range{begin, end}, w, s, out.data());
  return out;
}

/// Same value: both NaN, or bit-identical.
bool SameBits(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof(double)) == 0;
}

/// Within tol·max(1, |want|), or both NaN, or equal infinities.
bool Close(double got, double want, double tol) {
  if (std::isnan(want) || std::isnan(got)) return std::isnan(want) && std::isnan(got);
  if (std::isinf(want) || std::isinf(got)) return got == want;
  return std::fabs(got - want) <= tol * std::max(1.0, std::fabs(want));
}

// ---- Naive references: every row computed from its window, plainly, in long double -----------

using Long = long double;

std::size_t LoOf(std::size_t t, int len) {
  return len == 0 || t + 1 < static_cast<std::size_t>(len) ? 0 : t + 1 - len;
}
std::int64_t NeedOf(Window w, int stat_min) {
  return std::max(w.min_periods, stat_min);
}

std::vector<double> ValidIn(const double* x, std::size_t lo, std::size_t t) {
  std::vector<double> v;
  for (std::size_t i = lo; i <= t; ++i) {
    if (!std::isnan(x[i])) v.push_back(x[i]);
  }
  return v;
}

bool AllEqual(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [&](double a) { return a == v[0]; });
}

Long MeanOf(const std::vector<double>& v) {
  Long s = 0;
  for (double a : v)
    s += a;
  return s / static_cast<Long>(v.size());
}

/// Σ (v - mean)^k.
Long CentralSum(const std::vector<double>& v, int k) {
  const Long m = MeanOf(v);
  Long s = 0;
  for (double a : v)
    s += std::pow(static_cast<Long>(a) - m, k);
  return s;
}

Long SampleVar(const std::vector<double>& v) {
  return CentralSum(v, 2) / static_cast<Long>(v.size() - 1);
}

/// The sorted valid values of the window.
std::vector<double> Sorted(const double* x, std::size_t t, int len) {
  std::vector<double> v = ValidIn(x, LoOf(t, len), t);
  std::sort(v.begin(), v.end());
  return v;
}

using Oracle = std::function<double(const double* x, std::size_t t, Window w, Semantics s)>;

double NaiveMean(const double* x, std::size_t t, Window w, Semantics) {
  const auto v = ValidIn(x, LoOf(t, w.length), t);
  return std::ssize(v) < NeedOf(w, 1) ? kNaN : static_cast<double>(MeanOf(v));
}

double NaiveSum(const double* x, std::size_t t, Window w, Semantics) {
  const auto v = ValidIn(x, LoOf(t, w.length), t);
  if (std::ssize(v) < NeedOf(w, 1)) return kNaN;
  Long s = 0;
  for (double a : v)
    s += a;
  return static_cast<double>(s);
}

double NaiveVar(const double* x, std::size_t t, Window w, Semantics) {
  const auto v = ValidIn(x, LoOf(t, w.length), t);
  return std::ssize(v) < NeedOf(w, 2) ? kNaN : static_cast<double>(SampleVar(v));
}

double NaiveStd(const double* x, std::size_t t, Window w, Semantics s) {
  return std::sqrt(NaiveVar(x, t, w, s));
}

double NaiveSkew(const double* x, std::size_t t, Window w, Semantics s) {
  const auto v = ValidIn(x, LoOf(t, w.length), t);
  if (std::ssize(v) < NeedOf(w, 3)) return kNaN;
  if (AllEqual(v)) return s == Semantics::kQlib ? 0.0 : kNaN;
  const Long n = static_cast<Long>(v.size());
  const Long m2 = CentralSum(v, 2) / n;
  const Long m3 = CentralSum(v, 3) / n;
  if (m2 <= (s == Semantics::kQlib ? 1e-14L : 0.0L)) return kNaN;
  return static_cast<double>(std::sqrt(n * (n - 1)) / (n - 2) * m3 / std::pow(m2, 1.5L));
}

double NaiveKurt(const double* x, std::size_t t, Window w, Semantics s) {
  const auto v = ValidIn(x, LoOf(t, w.length), t);
  if (std::ssize(v) < NeedOf(w, 4)) return kNaN;
  if (AllEqual(v)) return s == Semantics::kQlib ? -3.0 : kNaN;
  const Long n = static_cast<Long>(v.size());
  const Long m2 = CentralSum(v, 2) / n;
  const Long m4 = CentralSum(v, 4) / n;
  if (m2 <= (s == Semantics::kQlib ? 1e-14L : 0.0L)) return kNaN;
  return static_cast<double>(((n * n - 1) * m4 / (m2 * m2) - 3 * (n - 1) * (n - 1)) /
                             ((n - 2) * (n - 3)));
}

double NaiveMax(const double* x, std::size_t t, Window w, Semantics) {
  const auto v = Sorted(x, t, w.length);
  return std::ssize(v) < NeedOf(w, 1) ? kNaN : v.back();
}

double NaiveMin(const double* x, std::size_t t, Window w, Semantics) {
  const auto v = Sorted(x, t, w.length);
  return std::ssize(v) < NeedOf(w, 1) ? kNaN : v.front();
}

double NaiveQuantileOf(const std::vector<double>& v, double q) {
  const double h = q * static_cast<double>(v.size() - 1);
  const auto f = static_cast<std::size_t>(std::floor(h));
  const std::size_t c = std::min(f + 1, v.size() - 1);
  return v[f] + (h - static_cast<double>(f)) * (v[c] - v[f]);
}

double NaiveMed(const double* x, std::size_t t, Window w, Semantics) {
  const auto v = Sorted(x, t, w.length);
  if (std::ssize(v) < NeedOf(w, 1)) return kNaN;
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

Oracle NaiveQuantile(double q) {
  return [q](const double* x, std::size_t t, Window w, Semantics) {
    const auto v = Sorted(x, t, w.length);
    return std::ssize(v) < NeedOf(w, 1) ? kNaN : NaiveQuantileOf(v, q);
  };
}

double NaiveMad(const double* x, std::size_t t, Window w, Semantics) {
  const auto v = ValidIn(x, LoOf(t, w.length), t);
  if (std::ssize(v) < NeedOf(w, 1)) return kNaN;
  const Long m = MeanOf(v);
  Long s = 0;
  for (double a : v)
    s += std::fabs(static_cast<Long>(a) - m);
  return static_cast<double>(s / static_cast<Long>(v.size()));
}

double NaiveRank(const double* x, std::size_t t, Window w, Semantics) {
  const auto v = ValidIn(x, LoOf(t, w.length), t);
  if (std::isnan(x[t]) || std::ssize(v) < NeedOf(w, 1)) return kNaN;
  double less = 0;
  double equal = 0;
  for (double a : v) {
    less += a < x[t];
    equal += a == x[t];
  }
  // Ties share the average of the 1-based ranks less + 1 .. less + equal.
  return (less + (equal + 1) / 2) / static_cast<double>(v.size());
}

double NaiveCount(const double* x, std::size_t t, Window w, Semantics) {
  const std::size_t lo = LoOf(t, w.length);
  if (t - lo + 1 < static_cast<std::size_t>(w.min_periods)) return kNaN;
  return static_cast<double>(ValidIn(x, lo, t).size());
}

template <bool kMax>
double NaiveIdx(const double* x, std::size_t t, Window w, Semantics s) {
  const std::size_t lo = LoOf(t, w.length);
  if (std::ssize(ValidIn(x, lo, t)) < NeedOf(w, 1)) return kNaN;
  std::size_t best = t + 1;
  for (std::size_t i = lo; i <= t; ++i) {
    if (std::isnan(x[i])) {
      if (s == Semantics::kQlib) return static_cast<double>(i - lo + 1);  // numpy: NaN wins
      continue;
    }
    if (best > t || (kMax ? x[i] > x[best] : x[i] < x[best])) best = i;
  }
  return static_cast<double>(best - lo + 1);
}

/// OLS of the valid values on Qlib's positions; what = 0 slope, 1 r², 2 residual.
template <int kWhat>
double NaiveTrend(const double* x, std::size_t t, Window w, Semantics s) {
  const std::size_t lo = LoOf(t, w.length);
  std::vector<double> pos;
  std::vector<double> y;
  for (std::size_t i = lo; i <= t; ++i) {
    if (std::isnan(x[i])) continue;
    // Rolling: the oldest slot of a full window is 1, the current row N; expanding: i + 1.
    pos.push_back(w.length > 0 ? static_cast<double>(i) - static_cast<double>(t) + w.length
                               : static_cast<double>(i + 1));
    y.push_back(x[i]);
  }
  if (std::ssize(y) < NeedOf(w, 2)) return kNaN;
  if (kWhat == 2 && std::isnan(x[t])) return kNaN;
  if (kWhat == 1 && s == Semantics::kQlib && w.length > 0 && std::sqrt(SampleVar(y)) <= 2e-5) {
    return kNaN;
  }
  const Long mu = MeanOf(pos);
  const Long my = MeanOf(y);
  Long suu = 0;
  Long suy = 0;
  Long syy = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    suu += (pos[i] - mu) * (pos[i] - mu);
    suy += (pos[i] - mu) * (y[i] - my);
    syy += (y[i] - my) * (y[i] - my);
  }
  const Long slope = suy / suu;
  if (kWhat == 0) return static_cast<double>(slope);
  if (kWhat == 1) return syy == 0 ? kNaN : static_cast<double>(suy * suy / (suu * syy));
  const Long pos_t = w.length > 0 ? w.length : static_cast<Long>(t + 1);
  return static_cast<double>(x[t] - (my + slope * (pos_t - mu)));
}

double NaiveWma(const double* x, std::size_t t, Window w, Semantics s) {
  const std::size_t lo = LoOf(t, w.length);
  const auto v = ValidIn(x, lo, t);
  if (std::ssize(v) < NeedOf(w, 1)) return kNaN;
  Long num = 0;
  Long den = 0;
  for (std::size_t i = lo; i <= t; ++i) {
    // kQlib: weights 1..rows over the rows present; kNative: the slot weights.
    const Long weight = s == Semantics::kQlib || w.length == 0
                            ? static_cast<Long>(i - lo + 1)
                            : static_cast<Long>(w.length) - static_cast<Long>(t - i);
    if (!std::isnan(x[i])) {
      num += weight * x[i];
      den += weight;
    }
  }
  if (s == Semantics::kNative) return static_cast<double>(num / den);
  const Long rows = static_cast<Long>(t - lo + 1);
  return static_cast<double>(num / (rows * (rows + 1) / 2) / static_cast<Long>(v.size()));
}

/// Pairwise-complete covariance (kCorr false) or correlation.
template <bool kCorr>
double NaivePair(const double* a, const double* b, std::size_t t, Window w, Semantics s) {
  const std::size_t lo = LoOf(t, w.length);
  std::vector<double> va;
  std::vector<double> vb;
  for (std::size_t i = lo; i <= t; ++i) {
    if (!std::isnan(a[i]) && !std::isnan(b[i])) {
      va.push_back(a[i]);
      vb.push_back(b[i]);
    }
  }
  if (std::ssize(va) < NeedOf(w, 2)) return kNaN;
  if (kCorr && s == Semantics::kQlib) {
    for (const double* z : {a, b}) {
      const auto own = ValidIn(z, lo, t);
      if (own.size() >= 2 && std::sqrt(SampleVar(own)) <= 2e-5) return kNaN;
    }
  }
  const Long ma = MeanOf(va);
  const Long mb = MeanOf(vb);
  Long sab = 0;
  Long saa = 0;
  Long sbb = 0;
  for (std::size_t i = 0; i < va.size(); ++i) {
    sab += (va[i] - ma) * (vb[i] - mb);
    saa += (va[i] - ma) * (va[i] - ma);
    sbb += (vb[i] - mb) * (vb[i] - mb);
  }
  if (!kCorr) return static_cast<double>(sab / static_cast<Long>(va.size() - 1));
  return saa == 0 || sbb == 0 ? kNaN : static_cast<double>(sab / std::sqrt(saa * sbb));
}

/// pandas ewm(alpha, adjust=True).mean() from its definition: weights (1-alpha)^(l-j) over the
/// valid rows j <= l, l the last valid row <= t (a NaN row carries the previous value).
double NaiveEwm(const double* x, std::size_t t, double alpha) {
  std::size_t last = t + 1;
  for (std::size_t j = 0; j <= t; ++j) {
    if (!std::isnan(x[j])) last = j;
  }
  if (last > t) return kNaN;
  Long num = 0;
  Long den = 0;
  for (std::size_t j = 0; j <= last; ++j) {
    if (std::isnan(x[j])) continue;
    const Long wt = std::pow(static_cast<Long>(1 - alpha), static_cast<Long>(last - j));
    num += wt * x[j];
    den += wt;
  }
  return static_cast<double>(num / den);
}

/// Qlib's expanding EMA (span 0).
double NaiveQlibEma0(const double* x, std::size_t t) {
  const Long a = 1 - 2.0L / (static_cast<Long>(t) + 2);
  Long num = 0;
  Long den = 0;
  for (std::size_t i = 0; i <= t; ++i) {
    const Long wt = std::pow(a, static_cast<Long>(t - i));
    den += wt;
    if (!std::isnan(x[i])) num += wt * x[i];
  }
  return static_cast<double>(num / den);
}

// ---- The kernels under test ---------------------------------------------------------------------

struct Case {
  std::string name;
  Fn fn;
  Oracle ref;
};

std::vector<Case> SingleSeriesCases() {
  return {
      {"Mean", Mean, NaiveMean},
      {"Sum", Sum, NaiveSum},
      {"Std", Std, NaiveStd},
      {"Var", Var, NaiveVar},
      {"Skew", Skew, NaiveSkew},
      {"Kurt", Kurt, NaiveKurt},
      {"Max", Max, NaiveMax},
      {"Min", Min, NaiveMin},
      {"Med", Med, NaiveMed},
      {"Mad", Mad, NaiveMad},
      {"Quantile(0.2)",
       [](const double* x, Range r, Window w, Semantics s, double* out) {
         Quantile(x, r, w, 0.2, s, out);
       },
       NaiveQuantile(0.2)},
      {"Quantile(0.8)",
       [](const double* x, Range r, Window w, Semantics s, double* out) {
         Quantile(x, r, w, 0.8, s, out);
       },
       NaiveQuantile(0.8)},
      {"Quantile(1)",
       [](const double* x, Range r, Window w, Semantics s, double* out) {
         Quantile(x, r, w, 1.0, s, out);
       },
       NaiveQuantile(1.0)},
      {"Rank", Rank, NaiveRank},
      {"Count", Count, NaiveCount},
      {"IdxMax", IdxMax, NaiveIdx<true>},
      {"IdxMin", IdxMin, NaiveIdx<false>},
      {"Slope", Slope, NaiveTrend<0>},
      {"Rsquare", Rsquare, NaiveTrend<1>},
      {"Resi", Resi, NaiveTrend<2>},
      {"Wma", Wma, NaiveWma},
  };
}

/// Binds the second series of a pair kernel so it looks like a single-series kernel.
Fn BindPair(PairFn fn, const Series& b) {
  return [fn, &b](const double* a, Range r, Window w, Semantics s, double* out) {
    fn(a, b.data(), r, w, s, out);
  };
}

// ---- Random series -----------------------------------------------------------------------------

enum class Kind { kNormal, kWalk, kDiscrete };

/// A series of the given kind with NaN runs (and a leading NaN run half of the time).
Series MakeSeries(Kind kind, std::size_t n, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_int_distribution<int> digit(0, 4);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<int> run(1, 8);
  Series x(n);
  double level = 50;
  for (double& v : x) {
    switch (kind) {
      case Kind::kNormal:
        v = normal(rng);
        break;
      case Kind::kWalk:
        level += normal(rng);
        v = level;
        break;
      case Kind::kDiscrete:
        v = digit(rng);
        break;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (unit(rng) < 0.04 || (i == 0 && unit(rng) < 0.5)) {
      for (int k = run(rng); k > 0 && i < n; --k)
        x[i++] = kNaN;
    }
  }
  return x;
}

std::vector<int> MinPeriodsFor(int len) {
  std::vector<int> mps = {1, 2, 3};
  if (len > 3) mps.push_back(len);
  if (len > 7) mps.push_back(len / 2);
  return mps;
}

/// Compares a kernel with its naive reference on every row of [0, T), and on a partial call from
/// an arbitrary begin that must leave out[0, begin) untouched. Returns the rows compared.
std::size_t CheckAgainstNaive(const std::string& name, const Fn& fn, const Oracle& ref,
                              const Series& x, Window w, Semantics s, double tol = 1e-9) {
  const std::size_t n = x.size();
  const std::size_t begin = n / 3 + 1;
  const Series full = Apply(fn, x, w, s);
  const Series part = Apply(fn, x, w, s, begin);
  int failures = 0;
  for (std::size_t t = 0; t < n && failures < 5; ++t) {
    const double want = ref(x.data(), t, w, s);
    const bool ok_full = Close(full[t], want, tol);
    const bool ok_part = t < begin ? part[t] == kSentinel : Close(part[t], want, tol);
    if (!ok_full || !ok_part) {
      ++failures;
      ADD_FAILURE() << name << " " << Name(s) << " length " << w.length << " min_periods "
                    << w.min_periods << " row " << t << ": got " << full[t] << " (from " << begin
                    << ": " << part[t] << "), want " << want;
    }
  }
  return n;
}

// ---- 1. Golden: Qlib's own outputs -------------------------------------------------------------

std::filesystem::path GoldenPath() {
  const char* src = std::getenv("QRAFT_SOURCE_DIR");
  const std::filesystem::path root = src ? src : ".";
  return root / "src/qraft/expr/testdata/qlib/operators_syn.json";
}

Series FromJson(const nlohmann::json& values) {
  Series out;
  for (const auto& v : values)
    out.push_back(v.is_null() ? kNaN : v.get<double>());
  return out;
}

TEST(RollingGoldenTest, MatchesQlibOperators) {
  std::ifstream in(GoldenPath());
  ASSERT_TRUE(in) << "missing " << GoldenPath();
  const nlohmann::json doc = nlohmann::json::parse(in);
  std::map<std::string, Series> inputs;
  for (const auto& [key, values] : doc.at("inputs").items())
    inputs[key] = FromJson(values);

  // "SYN|Op($a, N)", "SYN|Op($a, $b, N)", "SYN|Quantile($a, N, q)".
  const std::regex pattern(R"(^SYN\|(\w+)\(\$(\w)(?:, \$(\w))?, (-?[0-9.]+)(?:, ([0-9.]+))?\)$)");
  const std::map<std::string, Fn> single = {
      {"Mean", Mean}, {"Sum", Sum},       {"Std", Std},       {"Var", Var},         {"Skew", Skew},
      {"Kurt", Kurt}, {"Max", Max},       {"Min", Min},       {"Med", Med},         {"Mad", Mad},
      {"Rank", Rank}, {"Count", Count},   {"Slope", Slope},   {"Rsquare", Rsquare}, {"Resi", Resi},
      {"WMA", Wma},   {"IdxMax", IdxMax}, {"IdxMin", IdxMin},
  };
  int checked = 0;
  int skipped_errors = 0;
  for (const auto& [key, expected] : doc.at("cases").items()) {
    std::smatch m;
    if (!std::regex_match(key, m, pattern)) continue;
    const std::string op = m[1];
    const bool known = single.contains(op) || op == "Quantile" || op == "EMA" || op == "Ref" ||
                       op == "Delta" || op == "Corr" || op == "Cov";
    if (!known) continue;
    if (expected.is_string()) {  // "ERROR: ..." (Corr/Cov with N=0 raise in Qlib)
      ++skipped_errors;
      continue;
    }
    const Series& x = inputs.at(m[2]);
    const std::string window = m[4];
    const Range r{0, x.size()};
    Series out(x.size(), kSentinel);
    if (window.find('.') != std::string::npos) {  // a float window in (0, 1): an EWM
      ASSERT_TRUE(op == "Mean" || op == "Sum" || op == "EMA") << key;
      Ewm(x.data(), r, std::stod(window), out.data());
    } else {
      const int n = std::stoi(window);
      const Window w{n, 1};
      if (op == "EMA") {
        QlibEma(x.data(), r, n, out.data());
      } else if (op == "Ref") {
        Ref(x.data(), r, n, Semantics::kQlib, out.data());
      } else if (op == "Delta") {
        Delta(x.data(), r, n, Semantics::kQlib, out.data());
      } else if (op == "Quantile") {
        Quantile(x.data(), r, w, std::stod(m[5]), Semantics::kQlib, out.data());
      } else if (op == "Corr" || op == "Cov") {
        const Series& y = inputs.at(m[3]);
        (op == "Corr" ? Corr : Cov)(x.data(), y.data(), r, w, Semantics::kQlib, out.data());
      } else {
        single.at(op)(x.data(), r, w, Semantics::kQlib, out.data());
      }
    }
    const Series want = FromJson(expected);
    ASSERT_EQ(want.size(), out.size()) << key;
    for (std::size_t t = 0; t < out.size(); ++t) {
      const double got = static_cast<float>(out[t]);  // Qlib casts its results to float32
      const bool ok = std::isnan(want[t])
                          ? std::isnan(got)
                          : std::fabs(got - want[t]) <= 1e-6 + 1e-5 * std::fabs(want[t]);
      EXPECT_TRUE(ok) << key << " row " << t << ": got " << out[t] << ", want " << want[t];
    }
    ++checked;
  }
  EXPECT_EQ(checked, 111);  // every single-rolling-op case in operators_syn.json
  EXPECT_EQ(skipped_errors, 2);
}

// ---- 2. Properties: equal to the naive reference ------------------------------------------------

class RollingPropertyTest : public ::testing::TestWithParam<Kind> {};

TEST_P(RollingPropertyTest, EveryKernelMatchesNaive) {
  std::mt19937_64 rng(20240601 + static_cast<int>(GetParam()));
  const Series x = MakeSeries(GetParam(), 240, rng);
  const Series y = MakeSeries(GetParam(), 240, rng);
  std::vector<Case> cases = SingleSeriesCases();
  cases.push_back(
      {"Cov", BindPair(Cov, y), [&y](const double* a, std::size_t t, Window w, Semantics s) {
         return NaivePair<false>(a, y.data(), t, w, s);
       }});
  cases.push_back(
      {"Corr", BindPair(Corr, y), [&y](const double* a, std::size_t t, Window w, Semantics s) {
         return NaivePair<true>(a, y.data(), t, w, s);
       }});
  std::size_t rows = 0;
  for (const int len : {0, 1, 2, 3, 4, 5, 7, 10, 30, 100, 239, 240, 400}) {
    for (const int mp : MinPeriodsFor(len)) {
      for (const Semantics s : kBoth) {
        for (const Case& c : cases)
          rows += CheckAgainstNaive(c.name, c.fn, c.ref, x, Window{len, mp}, s);
      }
    }
  }
  EXPECT_EQ(rows, 596'160u);  // 13 lengths, their min_periods, 2 semantics, 23 kernels, 240 rows
}

TEST_P(RollingPropertyTest, OrderStatisticsOnLongWindowsMatchNaive) {
  // Long and expanding windows use the Fenwick tree (Rank beyond 64 rows, Quantile/Med beyond
  // 1024), shorter ones the sorted buffer (insertion walk up to 64 values, memmove beyond).
  std::mt19937_64 rng(777 + static_cast<int>(GetParam()));
  const Series x = MakeSeries(GetParam(), 1400, rng);
  for (const int len : {0, 40, 300, 1100}) {
    for (const Case& c : SingleSeriesCases()) {  // no semantic differences here
      if (c.name == "Med" || c.name.starts_with("Quantile") || c.name == "Rank") {
        CheckAgainstNaive(c.name, c.fn, c.ref, x, Window{len, 1}, Semantics::kNative);
      }
    }
  }
}

TEST_P(RollingPropertyTest, EwmAndQlibEmaMatchTheirDefinitions) {
  std::mt19937_64 rng(99 + static_cast<int>(GetParam()));
  const Series x = MakeSeries(GetParam(), 300, rng);
  const std::size_t n = x.size();
  for (const double alpha : {0.05, 0.3, 0.5, 1.0}) {
    for (const std::size_t begin : {std::size_t{0}, std::size_t{101}}) {
      Series out(n, kSentinel);
      Ewm(x.data(), Range{begin, n}, alpha, out.data());
      for (std::size_t t = 0; t < n; ++t) {
        const double want = t < begin ? kSentinel : NaiveEwm(x.data(), t, alpha);
        ASSERT_TRUE(Close(out[t], want, 1e-9))
            << "alpha " << alpha << " row " << t << ": " << out[t] << " vs " << want;
      }
    }
  }
  for (const int span : {0, 1, 2, 5, 10}) {
    Series out(n, kSentinel);
    QlibEma(x.data(), Range{0, n}, span, out.data());
    for (std::size_t t = 0; t < n; ++t) {
      const double want =
          span == 0 ? NaiveQlibEma0(x.data(), t) : NaiveEwm(x.data(), t, 2.0 / (span + 1));
      ASSERT_TRUE(Close(out[t], want, 1e-9))
          << "span " << span << " row " << t << ": " << out[t] << " vs " << want;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, RollingPropertyTest,
                         ::testing::Values(Kind::kNormal, Kind::kWalk, Kind::kDiscrete));

// ---- 3. The reset contract: bit-identical however the rows are split ----------------------------

TEST(RollingResetTest, BeginAtResetPeriodAndEndAreBitIdentical) {
  std::mt19937_64 rng(4242);
  const std::size_t n = 5000;
  static_assert(kResetPeriod == 1024);
  std::vector<Case> cases = SingleSeriesCases();
  for (const Kind kind : {Kind::kWalk, Kind::kDiscrete}) {
    const Series x = MakeSeries(kind, n, rng);
    const Series y = MakeSeries(kind, n, rng);
    std::vector<Case> windowed = cases;
    windowed.push_back({"Cov", BindPair(Cov, y), nullptr});
    windowed.push_back({"Corr", BindPair(Corr, y), nullptr});
    std::vector<Case> windowless;  // checked once per semantics
    for (const int k : {-2, 0, 3}) {
      windowless.push_back({"Ref" + std::to_string(k),
                            [k](const double* a, Range r, Window, Semantics s, double* out) {
                              Ref(a, r, k, s, out);
                            },
                            nullptr});
      windowless.push_back({"Delta" + std::to_string(k),
                            [k](const double* a, Range r, Window, Semantics s, double* out) {
                              Delta(a, r, k, s, out);
                            },
                            nullptr});
    }
    windowless.push_back(
        {"Ewm",
         [](const double* a, Range r, Window, Semantics, double* out) { Ewm(a, r, 0.1, out); },
         nullptr});
    windowless.push_back(
        {"QlibEma0",
         [](const double* a, Range r, Window, Semantics, double* out) { QlibEma(a, r, 0, out); },
         nullptr});
    const auto check = [&](const Case& c, Window w, Semantics s) {
      const Series full = Apply(c.fn, x, w, s);
      for (const std::size_t begin : {kResetPeriod, 3 * kResetPeriod}) {
        const Series part = Apply(c.fn, x, w, s, begin);
        for (std::size_t t = 0; t < n; ++t) {
          const bool ok = t < begin ? part[t] == kSentinel : SameBits(part[t], full[t]);
          ASSERT_TRUE(ok) << c.name << " " << Name(s) << " length " << w.length << " begin "
                          << begin << " row " << t << ": " << part[t] << " vs " << full[t];
        }
      }
      if (c.name.starts_with("Ref-") || c.name.starts_with("Delta-")) return;  // leads
      const Series head = Apply(c.fn, x, w, s, 0, n / 2 + 7);  // out[t] ignores the end
      for (std::size_t t = 0; t < n / 2 + 7; ++t) {
        ASSERT_TRUE(SameBits(head[t], full[t]))
            << c.name << " " << Name(s) << " length " << w.length << " shorter end, row " << t;
      }
    };
    for (const Semantics s : kBoth) {
      for (const Case& c : windowless)
        check(c, Window{0, 1}, s);
      for (const int len : {0, 1, 5, 60, 1500}) {
        for (const int mp : {1, std::max(len, 2)}) {
          for (const Case& c : windowed)
            check(c, Window{len, mp}, s);
        }
      }
    }
  }
}

// ---- 4. Edge cases -----------------------------------------------------------------------------

std::vector<Case> AllKernelsOn(const Series& y) {
  std::vector<Case> all = SingleSeriesCases();
  all.push_back({"Cov", BindPair(Cov, y), nullptr});
  all.push_back({"Corr", BindPair(Corr, y), nullptr});
  all.push_back(
      {"Ref",
       [](const double* a, Range r, Window, Semantics s, double* out) { Ref(a, r, 1, s, out); },
       nullptr});
  all.push_back(
      {"Delta",
       [](const double* a, Range r, Window, Semantics s, double* out) { Delta(a, r, 1, s, out); },
       nullptr});
  all.push_back(
      {"Ewm", [](const double* a, Range r, Window, Semantics, double* out) { Ewm(a, r, 0.5, out); },
       nullptr});
  all.push_back(
      {"QlibEma0",
       [](const double* a, Range r, Window, Semantics, double* out) { QlibEma(a, r, 0, out); },
       nullptr});
  return all;
}

TEST(RollingEdgeTest, EmptyRangeWritesNothing) {
  const Series x = {1, 2, 3, 4, 5, 6, 7, 8};
  for (const Case& c : AllKernelsOn(x)) {
    for (const Semantics s : kBoth) {
      for (const int len : {0, 3}) {
        for (const Range r : {Range{4, 4}, Range{6, 2}, Range{0, 0}}) {
          Series out(x.size(), kSentinel);
          c.fn(x.data(), r, Window{len, 1}, s, out.data());
          for (double v : out)
            ASSERT_EQ(v, kSentinel) << c.name << " range " << r.begin << ".." << r.end;
        }
      }
    }
  }
  // An empty series: no row is read.
  Mean(nullptr, Range{0, 0}, Window{5, 1}, Semantics::kNative, nullptr);
  Ewm(nullptr, Range{0, 0}, 0.5, nullptr);
}

TEST(RollingEdgeTest, LengthOne) {
  const Series x = {1, kNaN, 3, 3, -2};
  const Window w{1, 1};
  for (const Semantics s : kBoth) {
    EXPECT_TRUE(std::isnan(Apply(Mean, x, w, s)[1]));
    EXPECT_EQ(Apply(Mean, x, w, s)[4], -2);
    EXPECT_EQ(Apply(Sum, x, w, s)[2], 3);
    EXPECT_EQ(Apply(Max, x, w, s)[0], 1);
    EXPECT_EQ(Apply(Med, x, w, s)[4], -2);
    EXPECT_EQ(Apply(Mad, x, w, s)[3], 0);
    EXPECT_EQ(Apply(Rank, x, w, s)[2], 1);
    EXPECT_EQ(Apply(Count, x, w, s), (Series{1, 0, 1, 1, 1}));
    EXPECT_EQ(Apply(IdxMax, x, w, s)[3], 1);
    EXPECT_EQ(Apply(Wma, x, w, s)[4], -2);
    for (const Fn& f : {Fn(Std), Fn(Var), Fn(Slope), Fn(Rsquare), Fn(Resi), Fn(Skew), Fn(Kurt)}) {
      for (double v : Apply(f, x, w, s))
        EXPECT_TRUE(std::isnan(v));
    }
  }
}

TEST(RollingEdgeTest, WindowLongerThanSeriesIsExpanding) {
  std::mt19937_64 rng(5);
  const Series x = MakeSeries(Kind::kWalk, 40, rng);
  for (const Case& c : SingleSeriesCases()) {
    // WMA's native slot weights and Qlib's Rsquare mask (length > 0 only) depend on the length.
    for (const Semantics s : kBoth) {
      if (c.name == "Wma" && s == Semantics::kNative) continue;
      if (c.name == "Rsquare" && s == Semantics::kQlib) continue;
      const Series longer = Apply(c.fn, x, Window{100, 1}, s);
      const Series expanding = Apply(c.fn, x, Window{0, 1}, s);
      for (std::size_t t = 0; t < x.size(); ++t)
        ASSERT_TRUE(Close(longer[t], expanding[t], 1e-12)) << c.name << " row " << t;
    }
  }
}

TEST(RollingEdgeTest, AllNaN) {
  const Series x(12, kNaN);
  for (const Case& c : AllKernelsOn(x)) {
    for (const Semantics s : kBoth) {
      for (const int len : {0, 1, 4, 30}) {
        const Series out = Apply(c.fn, x, Window{len, 1}, s);
        for (std::size_t t = 0; t < x.size(); ++t) {
          if (c.name == "Count") {
            EXPECT_EQ(out[t], 0) << "all-NaN window counts 0";
          } else if (c.name == "QlibEma0") {
            EXPECT_EQ(out[t], 0) << "numpy nansum of nothing";
          } else {
            EXPECT_TRUE(std::isnan(out[t])) << c.name << " " << Name(s) << " row " << t;
          }
        }
      }
    }
  }
}

TEST(RollingEdgeTest, InfinitiesAreValuesAndDoNotPoisonLaterWindows) {
  const Series x = {1, kInf, 2, -kInf, 3, 4, 5, 6};
  const Window w{2, 1};
  const Series sum = Apply(Sum, x, w, Semantics::kNative);
  EXPECT_EQ(sum[1], kInf);
  EXPECT_EQ(sum[2], kInf);
  EXPECT_TRUE(std::isnan(sum[3]) == false && sum[3] == -kInf);
  EXPECT_EQ(sum[5], 7);
  EXPECT_EQ(sum[7], 11);
  const Series std_dev = Apply(Std, x, w, Semantics::kNative);
  EXPECT_TRUE(std::isnan(std_dev[1]));
  EXPECT_DOUBLE_EQ(std_dev[5], std::sqrt(0.5));
  EXPECT_EQ(Apply(Max, x, w, Semantics::kNative)[2], kInf);
  EXPECT_EQ(Apply(Min, x, w, Semantics::kNative)[4], -kInf);
  const Series mixed = {kInf, -kInf, 1};
  EXPECT_TRUE(std::isnan(Apply(Mean, mixed, Window{0, 1}, Semantics::kNative)[2]));
  EXPECT_DOUBLE_EQ(Apply(Slope, x, w, Semantics::kNative)[7], 1.0);
}

TEST(RollingEdgeTest, MinPeriodsAndCountRule) {
  const Series x = {1, kNaN, 3, 4, kNaN, kNaN, 7};
  // kNative default: min_periods = length, so any NaN in the window, and the first rows, give NaN.
  const Series mean = Apply(Mean, x, Window{2, 2}, Semantics::kNative);
  EXPECT_TRUE(std::isnan(mean[0]) && std::isnan(mean[1]) && std::isnan(mean[2]));
  EXPECT_EQ(mean[3], 3.5);
  EXPECT_TRUE(std::isnan(mean[4]) && std::isnan(mean[6]));
  // Partial windows count once they hold min_periods valid values (pandas).
  const Series partial = Apply(Mean, x, Window{5, 2}, Semantics::kNative);
  EXPECT_TRUE(std::isnan(partial[1]));
  EXPECT_EQ(partial[2], 2);
  // Count applies min_periods to rows, not valid values: an all-NaN full window is 0.
  const Series count = Apply(Count, x, Window{2, 2}, Semantics::kNative);
  EXPECT_TRUE(std::isnan(count[0]));
  EXPECT_EQ(count[1], 1);
  EXPECT_EQ(count[5], 0);
  // min_periods above the length: nothing qualifies.
  for (double v : Apply(Mean, x, Window{2, 3}, Semantics::kNative))
    EXPECT_TRUE(std::isnan(v));
}

TEST(RollingEdgeTest, SemanticDifferences) {
  const Series c(6, 2.5);
  const Window w{5, 1};
  EXPECT_EQ(Apply(Kurt, c, w, Semantics::kQlib)[5], -3.0);
  EXPECT_TRUE(std::isnan(Apply(Kurt, c, w, Semantics::kNative)[5]));
  EXPECT_EQ(Apply(Skew, c, w, Semantics::kQlib)[5], 0.0);
  EXPECT_TRUE(std::isnan(Apply(Skew, c, w, Semantics::kNative)[5]));
  EXPECT_EQ(Apply(Std, c, w, Semantics::kNative)[5], 0.0);
  EXPECT_EQ(Apply(Slope, c, w, Semantics::kNative)[5], 0.0);
  EXPECT_EQ(Apply(Resi, c, w, Semantics::kNative)[5], 0.0);
  EXPECT_TRUE(std::isnan(Apply(Rsquare, c, w, Semantics::kNative)[5]));

  // WMA: kNative is TA-Lib's weighted mean; kQlib divides by the valid count again.
  const Series x = {1, 2, 3, 4, 5};
  EXPECT_DOUBLE_EQ(Apply(Wma, x, Window{3, 3}, Semantics::kNative)[4], (3 + 8 + 15) / 6.0);
  EXPECT_DOUBLE_EQ(Apply(Wma, x, Window{3, 1}, Semantics::kQlib)[4], (3 + 8 + 15) / 6.0 / 3);
  EXPECT_DOUBLE_EQ(Apply(Wma, c, Window{5, 1}, Semantics::kQlib)[5], 2.5 / 5);

  // IdxMax: NaN wins in kQlib (numpy argmax), ignored in kNative.
  const Series g = {3, 2, kNaN, 1};
  EXPECT_EQ(Apply(IdxMax, g, Window{3, 1}, Semantics::kQlib)[2], 3);
  EXPECT_EQ(Apply(IdxMax, g, Window{3, 1}, Semantics::kNative)[2], 1);
  EXPECT_EQ(Apply(IdxMin, g, Window{3, 1}, Semantics::kNative)[3], 3);
  EXPECT_EQ(Apply(IdxMax, g, Window{0, 1}, Semantics::kQlib)[3], 3);  // sticks at the first NaN

  // Ties: IdxMax gives the oldest; Rank averages.
  const Series tie = {5, 1, 5, 5};
  EXPECT_EQ(Apply(IdxMax, tie, Window{3, 1}, Semantics::kNative)[3], 2);
  EXPECT_DOUBLE_EQ(Apply(Rank, tie, Window{4, 1}, Semantics::kNative)[3], 3.0 / 4);
}

TEST(RollingEdgeTest, RefAndDelta) {
  const Series x = {1, 2, kNaN, 4, 5};
  const std::size_t n = x.size();
  Series out(n);
  Ref(x.data(), Range{0, n}, 2, Semantics::kNative, out.data());
  EXPECT_TRUE(std::isnan(out[0]) && std::isnan(out[1]) && std::isnan(out[4]));
  EXPECT_EQ(out[3], 2);
  Ref(x.data(), Range{0, n}, -1, Semantics::kNative, out.data());
  EXPECT_EQ(out[0], 2);
  EXPECT_EQ(out[3], 5);
  EXPECT_TRUE(std::isnan(out[4]));  // beyond r.end
  Ref(x.data(), Range{0, 3}, -1, Semantics::kNative, out.data());
  EXPECT_TRUE(std::isnan(out[2]));  // x[3] exists but lies beyond r.end
  Ref(x.data(), Range{0, n}, 0, Semantics::kQlib, out.data());
  EXPECT_EQ(out, (Series{1, 1, 1, 1, 1}));
  Ref(x.data(), Range{0, n}, 0, Semantics::kNative, out.data());
  EXPECT_EQ(out[4], 5);
  Delta(x.data(), Range{0, n}, 1, Semantics::kNative, out.data());
  EXPECT_EQ(out[1], 1);
  EXPECT_TRUE(std::isnan(out[3]));
  Delta(x.data(), Range{0, n}, 0, Semantics::kQlib, out.data());
  EXPECT_EQ(out[4], 4);
  Delta(x.data(), Range{0, n}, 0, Semantics::kNative, out.data());
  EXPECT_EQ(out[4], 0);
}

}  // namespace
}  // namespace qraft::expr::kernels
