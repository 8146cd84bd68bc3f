// Tests of the TA-Lib compatible kernels (ta.h):
//  * golden files from TA-Lib itself (testdata/talib_<SYMBOL>.csv, scripts/peers/talib_golden.py):
//    every column recomputed, |a - b| <= 1e-9 * max(1, |b|), NaN exactly where TA-Lib has NaN;
//  * the NaN rule against its definition (windowed: the kernel on each complete stretch;
//    recursive: the kernel on the complete rows only);
//  * the incremental contract: out[t] bitwise independent of r.begin (multiples of kResetPeriod),
//    nothing written outside [r.begin, r.end);
//  * hand-computed small cases, lookbacks and invalid parameters.
#include "qraft/expr/kernels/ta.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace qraft::expr::kernels::ta {
namespace {

namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- The indicators as data, so every test runs over all of them ------------------------------

enum Input : unsigned { kHigh = 1, kLow = 2, kClose = 4, kVolume = 8 };
enum class Kind { kWindowed, kRecursive };

struct Indicator {
  std::string name;
  int n_params;
  std::vector<std::string> outputs;  // empty: one unnamed output
  Kind kind;
  unsigned inputs;
  std::vector<std::vector<double>> test_params;  // parameter sets for the property tests
};

const std::vector<Indicator>& Indicators() {
  static const std::vector<Indicator> all = {
      {"SMA", 1, {}, Kind::kWindowed, kClose, {{2}, {30}}},
      {"EMA", 1, {}, Kind::kRecursive, kClose, {{2}, {30}}},
      {"WMA", 1, {}, Kind::kWindowed, kClose, {{2}, {30}}},
      {"DEMA", 1, {}, Kind::kRecursive, kClose, {{5}}},
      {"TEMA", 1, {}, Kind::kRecursive, kClose, {{5}}},
      {"KAMA", 1, {}, Kind::kRecursive, kClose, {{2}, {10}}},
      {"ROC", 1, {}, Kind::kWindowed, kClose, {{1}, {10}}},
      {"MOM", 1, {}, Kind::kWindowed, kClose, {{1}, {10}}},
      {"RSI", 1, {}, Kind::kRecursive, kClose, {{2}, {14}}},
      {"MACD", 3, {"macd", "signal", "hist"}, Kind::kRecursive, kClose, {{12, 26, 9}, {26, 5, 1}}},
      {"ATR", 1, {}, Kind::kRecursive, kHigh | kLow | kClose, {{1}, {14}}},
      {"NATR", 1, {}, Kind::kRecursive, kHigh | kLow | kClose, {{1}, {14}}},
      {"TRANGE", 0, {}, Kind::kWindowed, kHigh | kLow | kClose, {{}}},
      {"BBANDS",
       3,
       {"upper", "middle", "lower"},
       Kind::kWindowed,
       kClose,
       {{5, 2, 2}, {20, 1.5, -0.5}}},
      {"STOCH",
       3,
       {"slowk", "slowd"},
       Kind::kWindowed,
       kHigh | kLow | kClose,
       {{5, 3, 3}, {1, 1, 1}, {14, 1, 6}}},
      {"CCI", 1, {}, Kind::kWindowed, kHigh | kLow | kClose, {{2}, {14}, {33}}},
      {"ADX", 1, {}, Kind::kRecursive, kHigh | kLow | kClose, {{2}, {14}}},
      {"OBV", 0, {}, Kind::kRecursive, kClose | kVolume, {{}}},
      {"MFI", 1, {}, Kind::kWindowed, kHigh | kLow | kClose | kVolume, {{2}, {14}}},
      {"WILLR", 1, {}, Kind::kWindowed, kHigh | kLow | kClose, {{2}, {14}, {33}}},
      {"VWAP", 1, {}, Kind::kWindowed, kHigh | kLow | kClose | kVolume, {{1}, {20}}},
      {"RVOL", 1, {}, Kind::kWindowed, kClose, {{1}, {20}}},
  };
  return all;
}

const Indicator* Find(const std::string& name) {
  for (const Indicator& ind : Indicators())
    if (ind.name == name) return &ind;
  return nullptr;
}

size_t OutputCount(const Indicator& ind) {
  return ind.outputs.empty() ? 1 : ind.outputs.size();
}

struct Bars {
  std::vector<double> open, high, low, close, volume;
  size_t size() const { return close.size(); }
};

// Runs `ind` over r; outs[i] receives output i (nullptr: not wanted).
void Compute(const Indicator& ind, const std::vector<double>& p, const Bars& b, Range r,
             double* const* outs) {
  const double* h = b.high.data();
  const double* l = b.low.data();
  const double* c = b.close.data();
  const double* v = b.volume.data();
  auto i = [&](size_t k) { return static_cast<int>(p[k]); };
  const std::string& n = ind.name;
  double* o = outs[0];
  if (n == "SMA") return Sma(c, r, i(0), o);
  if (n == "EMA") return Ema(c, r, i(0), o);
  if (n == "WMA") return Wma(c, r, i(0), o);
  if (n == "DEMA") return Dema(c, r, i(0), o);
  if (n == "TEMA") return Tema(c, r, i(0), o);
  if (n == "KAMA") return Kama(c, r, i(0), o);
  if (n == "ROC") return Roc(c, r, i(0), o);
  if (n == "MOM") return Mom(c, r, i(0), o);
  if (n == "RSI") return Rsi(c, r, i(0), o);
  if (n == "MACD") return Macd(c, r, i(0), i(1), i(2), outs[0], outs[1], outs[2]);
  if (n == "ATR") return Atr(h, l, c, r, i(0), o);
  if (n == "NATR") return Natr(h, l, c, r, i(0), o);
  if (n == "TRANGE") return Trange(h, l, c, r, o);
  if (n == "BBANDS") return Bbands(c, r, i(0), p[1], p[2], outs[0], outs[1], outs[2]);
  if (n == "STOCH") return Stoch(h, l, c, r, i(0), i(1), i(2), outs[0], outs[1]);
  if (n == "CCI") return Cci(h, l, c, r, i(0), o);
  if (n == "ADX") return Adx(h, l, c, r, i(0), o);
  if (n == "OBV") return Obv(c, v, r, o);
  if (n == "MFI") return Mfi(h, l, c, v, r, i(0), o);
  if (n == "WILLR") return Willr(h, l, c, r, i(0), o);
  if (n == "VWAP") return Vwap(h, l, c, v, r, i(0), o);
  if (n == "RVOL") return Rvol(c, r, i(0), o);
  ADD_FAILURE() << "no kernel for " << n;
}

int Lookback(const Indicator& ind, const std::vector<double>& p) {
  auto i = [&](size_t k) { return static_cast<int>(p[k]); };
  const std::string& n = ind.name;
  if (n == "SMA") return LookbackSma(i(0));
  if (n == "EMA") return LookbackEma(i(0));
  if (n == "WMA") return LookbackWma(i(0));
  if (n == "DEMA") return LookbackDema(i(0));
  if (n == "TEMA") return LookbackTema(i(0));
  if (n == "KAMA") return LookbackKama(i(0));
  if (n == "ROC") return LookbackRoc(i(0));
  if (n == "MOM") return LookbackMom(i(0));
  if (n == "RSI") return LookbackRsi(i(0));
  if (n == "MACD") return LookbackMacd(i(0), i(1), i(2));
  if (n == "ATR") return LookbackAtr(i(0));
  if (n == "NATR") return LookbackNatr(i(0));
  if (n == "TRANGE") return LookbackTrange();
  if (n == "BBANDS") return LookbackBbands(i(0));
  if (n == "STOCH") return LookbackStoch(i(0), i(1), i(2));
  if (n == "CCI") return LookbackCci(i(0));
  if (n == "ADX") return LookbackAdx(i(0));
  if (n == "OBV") return LookbackObv();
  if (n == "MFI") return LookbackMfi(i(0));
  if (n == "WILLR") return LookbackWillr(i(0));
  if (n == "VWAP") return LookbackVwap(i(0));
  if (n == "RVOL") return LookbackRvol(i(0));
  ADD_FAILURE() << "no lookback for " << n;
  return -2;
}

// All outputs of `ind` over the whole series.
std::vector<std::vector<double>> Full(const Indicator& ind, const std::vector<double>& p,
                                      const Bars& b) {
  std::vector<std::vector<double>> res(OutputCount(ind), std::vector<double>(b.size(), -7.0));
  double* outs[3] = {nullptr, nullptr, nullptr};
  for (size_t k = 0; k < res.size(); ++k)
    outs[k] = res[k].data();
  Compute(ind, p, b, Range{0, b.size()}, outs);
  return res;
}

bool Missing(const Indicator& ind, const Bars& b, size_t t) {
  return ((ind.inputs & kHigh) && std::isnan(b.high[t])) ||
         ((ind.inputs & kLow) && std::isnan(b.low[t])) ||
         ((ind.inputs & kClose) && std::isnan(b.close[t])) ||
         ((ind.inputs & kVolume) && std::isnan(b.volume[t]));
}

Bars Slice(const Bars& b, const std::vector<size_t>& rows) {
  Bars s;
  for (size_t t : rows) {
    s.open.push_back(b.open[t]);
    s.high.push_back(b.high[t]);
    s.low.push_back(b.low[t]);
    s.close.push_back(b.close[t]);
    s.volume.push_back(b.volume[t]);
  }
  return s;
}

bool Close(double a, double b, double tol) {
  if (std::isnan(b)) return std::isnan(a);
  return std::fabs(a - b) <= tol * std::max(1.0, std::fabs(b));
}

// Reports (once per series) the rows where `got` and `want` differ beyond `tol`.
void ExpectSeriesNear(const std::vector<double>& got, const std::vector<double>& want, double tol,
                      const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  size_t bad = 0;
  std::ostringstream first;
  for (size_t t = 0; t < want.size(); ++t) {
    if (Close(got[t], want[t], tol)) continue;
    if (bad++ < 5) {
      first.precision(17);
      first << "\n  row " << t << ": got " << got[t] << ", want " << want[t];
    }
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " rows differ" << first.str();
}

void ExpectSeriesIdentical(const std::vector<double>& got, const std::vector<double>& want,
                           const std::string& what) {
  ExpectSeriesNear(got, want, 0.0, what);
}

// A deterministic random walk with plausible OHLCV (positive prices, integer volumes).
Bars RandomBars(size_t n, std::uint64_t seed) {
  std::uint64_t s = seed;
  auto uniform = [&] {  // splitmix64 -> [0, 1)
    s += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
  };
  Bars b;
  double price = 100.0;
  for (size_t t = 0; t < n; ++t) {
    const double open = price;
    price *= std::exp((uniform() - 0.5) * 0.04);
    const double hi = std::max(open, price) * (1.0 + uniform() * 0.01);
    const double lo = std::min(open, price) * (1.0 - uniform() * 0.01);
    b.open.push_back(open);
    b.high.push_back(hi);
    b.low.push_back(lo);
    b.close.push_back(price);
    b.volume.push_back(std::floor(uniform() * 1e6));
  }
  // Some flat stretches (a suspended symbol carried forward) and zero volumes.
  for (size_t t = 300; t < 340 && t < n; ++t) {
    b.open[t] = b.high[t] = b.low[t] = b.close[t] = b.close[299];
    b.volume[t] = 0.0;
  }
  return b;
}

// Puts NaN into the bars: whole rows, single fields, a run, the first rows.
Bars WithGaps(Bars b) {
  const size_t n = b.size();
  auto kill = [&](size_t t, unsigned fields) {
    if (t >= n) return;
    if (fields & kHigh) b.high[t] = kNaN;
    if (fields & kLow) b.low[t] = kNaN;
    if (fields & kClose) b.close[t] = kNaN;
    if (fields & kVolume) b.volume[t] = kNaN;
  };
  const unsigned all = kHigh | kLow | kClose | kVolume;
  for (size_t t = 0; t < 3; ++t)
    kill(t, all);  // a late start
  kill(50, all);
  kill(51, all);
  kill(120, kHigh);  // only high missing: close-only kernels see no gap
  kill(200, kVolume);
  for (size_t t = 700; t < 760; ++t)
    kill(t, all);   // a long suspension
  kill(1023, all);  // just before a reset row
  kill(1030, kClose);
  kill(2050, kLow);
  for (size_t t = 2500; t < n; t += 97)
    kill(t, all);
  kill(n - 1, kClose);  // the last row, in a vector loop's scalar tail when n is odd
  return b;
}

// ---- Golden files from TA-Lib ------------------------------------------------------------------

fs::path TestdataDir() {
  fs::path here = fs::path(__FILE__).parent_path() / "testdata";
  if (fs::exists(here)) return here;
  const char* src = std::getenv("QRAFT_SOURCE_DIR");
  return fs::path(src ? src : ".") / "src" / "qraft" / "expr" / "kernels" / "testdata";
}

struct Golden {
  std::vector<std::string> names;
  std::vector<std::vector<double>> columns;
};

std::vector<std::string> Split(const std::string& line, char sep) {
  std::vector<std::string> parts;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, sep))
    parts.push_back(cell);
  if (!line.empty() && line.back() == sep) parts.emplace_back();
  return parts;
}

Golden ReadGolden(const fs::path& path) {
  Golden g;
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::string line;
  if (!std::getline(in, line)) return g;
  g.names = Split(line, ',');
  g.columns.resize(g.names.size());
  while (std::getline(in, line)) {
    std::vector<std::string> cells = Split(line, ',');
    EXPECT_EQ(cells.size(), g.names.size()) << path << ": " << line.substr(0, 40);
    if (cells.size() != g.names.size()) break;
    for (size_t k = 1; k < cells.size(); ++k)  // column 0 is the date
      g.columns[k].push_back(cells[k].empty() ? kNaN : std::strtod(cells[k].c_str(), nullptr));
  }
  return g;
}

// The golden files hold the five inputs (and the date) plus this many indicator columns; a
// regenerated file that lost some fails here rather than testing less.
constexpr size_t kGoldenInputs = 6;
constexpr size_t kGoldenColumns = 54;

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, MatchesTaLib) {
  const Golden g = ReadGolden(TestdataDir() / ("talib_" + GetParam() + ".csv"));
  ASSERT_GT(g.names.size(), kGoldenInputs);
  ASSERT_EQ(std::vector<std::string>(g.names.begin(), g.names.begin() + kGoldenInputs),
            (std::vector<std::string>{"date", "open", "high", "low", "close", "volume"}));
  Bars b{g.columns[1], g.columns[2], g.columns[3], g.columns[4], g.columns[5]};
  ASSERT_GT(b.size(), 2 * kResetPeriod - 1000) << "series must cross a kResetPeriod row";

  size_t checked = 0;
  std::set<std::string> kernels_seen;
  for (size_t col = kGoldenInputs; col < g.names.size(); ++col) {
    const std::string& column = g.names[col];
    const std::vector<std::string> parts = Split(column, '_');
    const Indicator* ind = Find(parts[0]);
    ASSERT_NE(ind, nullptr) << "unknown indicator column " << column;
    const size_t n_out = OutputCount(*ind);
    ASSERT_EQ(parts.size(), 1 + ind->n_params + (n_out > 1 ? 1 : 0)) << column;
    std::vector<double> params;
    for (int k = 0; k < ind->n_params; ++k)
      params.push_back(std::stod(parts[1 + k]));
    size_t which = 0;
    if (n_out > 1) {
      const auto it = std::find(ind->outputs.begin(), ind->outputs.end(), parts.back());
      ASSERT_NE(it, ind->outputs.end()) << column;
      which = static_cast<size_t>(it - ind->outputs.begin());
    }

    // Only the wanted output (the others nullptr), over the whole series.
    std::vector<double> got(b.size(), -7.0);
    double* outs[3] = {nullptr, nullptr, nullptr};
    outs[which] = got.data();
    Compute(*ind, params, b, Range{0, b.size()}, outs);
    ExpectSeriesNear(got, g.columns[col], 1e-9, GetParam() + " " + column);

    // Incrementally, from a row that is a multiple of kResetPeriod: the same values, bitwise, and
    // nothing written before it.
    std::vector<double> part(b.size(), -7.0);
    outs[which] = part.data();
    Compute(*ind, params, b, Range{kResetPeriod, b.size()}, outs);
    for (size_t t = 0; t < kResetPeriod; ++t)
      ASSERT_EQ(part[t], -7.0) << column << " row " << t;
    ExpectSeriesIdentical(std::vector<double>(part.begin() + kResetPeriod, part.end()),
                          std::vector<double>(got.begin() + kResetPeriod, got.end()),
                          GetParam() + " " + column + " from row 1024");

    // The leading NaN rows are the lookback (no input is missing that early in these files).
    const int lookback = Lookback(*ind, params);
    size_t first = 0;
    while (first < got.size() && std::isnan(got[first]))
      ++first;
    EXPECT_EQ(first, static_cast<size_t>(lookback)) << column;

    kernels_seen.insert(ind->name);
    ++checked;
  }
  EXPECT_EQ(checked, kGoldenColumns);
  EXPECT_EQ(kernels_seen.size(), Indicators().size()) << "an indicator has no golden column";
}

INSTANTIATE_TEST_SUITE_P(TaLib, GoldenTest, ::testing::Values("AAPL", "MSFT", "DHR"));

TEST(GoldenData, DhrHasGapsInHighLowOnly) {
  // What the DHR file exercises: rows where high/low are blank but close is not.
  const Golden g = ReadGolden(TestdataDir() / "talib_DHR.csv");
  ASSERT_GT(g.columns.size(), 5u);
  size_t open_missing = 0, hl_missing = 0, close_missing = 0;
  for (size_t t = 0; t < g.columns[4].size(); ++t) {
    open_missing += std::isnan(g.columns[1][t]);
    hl_missing += std::isnan(g.columns[2][t]) || std::isnan(g.columns[3][t]);
    close_missing += std::isnan(g.columns[4][t]);
  }
  EXPECT_EQ(open_missing, 2u);
  EXPECT_EQ(hl_missing, 1u);
  EXPECT_EQ(close_missing, 0u);
}

// ---- The NaN rule ------------------------------------------------------------------------------

// Windowed: the kernel on each maximal stretch of complete rows. Recursive: the kernel on the
// complete rows alone, scattered back (bitwise: the same arithmetic in the same order).
TEST(NanRule, EqualsDefinitionForEveryKernel) {
  const Bars b = WithGaps(RandomBars(3001, 7));
  for (const Indicator& ind : Indicators()) {
    for (const std::vector<double>& p : ind.test_params) {
      const std::string what = ind.name + " " + ::testing::PrintToString(p);
      const auto got = Full(ind, p, b);
      std::vector<std::vector<double>> want(got.size(), std::vector<double>(b.size(), kNaN));
      if (ind.kind == Kind::kRecursive) {
        std::vector<size_t> rows;
        for (size_t t = 0; t < b.size(); ++t)
          if (!Missing(ind, b, t)) rows.push_back(t);
        const auto dense = Full(ind, p, Slice(b, rows));
        for (size_t k = 0; k < got.size(); ++k)
          for (size_t j = 0; j < rows.size(); ++j)
            want[k][rows[j]] = dense[k][j];
        for (size_t k = 0; k < got.size(); ++k)
          ExpectSeriesIdentical(got[k], want[k], what);
      } else {
        for (size_t s = 0; s < b.size();) {
          if (Missing(ind, b, s)) {
            ++s;
            continue;
          }
          std::vector<size_t> rows;
          for (; s < b.size() && !Missing(ind, b, s); ++s)
            rows.push_back(s);
          const auto dense = Full(ind, p, Slice(b, rows));
          for (size_t k = 0; k < got.size(); ++k)
            for (size_t j = 0; j < rows.size(); ++j)
              want[k][rows[j]] = dense[k][j];
        }
        // Not bitwise: running sums are re-summed, and CCI's ring is ordered, by absolute row
        // rather than stretch-relative row; CCI's tp - mean then amplifies the last bits.
        for (size_t k = 0; k < got.size(); ++k)
          ExpectSeriesNear(got[k], want[k], 1e-9, what);
      }
    }
  }
}

TEST(NanRule, SmaIsNanWhileTheWindowHoldsTheGap) {
  std::vector<double> x = {1, 2, 3, 4, kNaN, 6, 7, 8, 9};
  std::vector<double> out(x.size());
  Sma(x.data(), Range{0, x.size()}, 3, out.data());
  const std::vector<double> want = {kNaN, kNaN, 2, 3, kNaN, kNaN, kNaN, 7, 8};
  ExpectSeriesNear(out, want, 1e-15, "SMA");
}

TEST(NanRule, EmaSkipsTheGapAndCarriesItsState) {
  // period 3, k = 0.5: seed mean(1, 2, 3) = 2 at row 2; row 3 NaN; row 4: 2 + (4 - 2) / 2 = 3.
  std::vector<double> x = {1, 2, 3, kNaN, 4, 5};
  std::vector<double> out(x.size());
  Ema(x.data(), Range{0, x.size()}, 3, out.data());
  const std::vector<double> want = {kNaN, kNaN, 2, kNaN, 3, 4};
  ExpectSeriesNear(out, want, 1e-15, "EMA");
  // The seed counts complete values only.
  x = {1, kNaN, 2, 3, 5};
  out.resize(x.size());
  Ema(x.data(), Range{0, x.size()}, 3, out.data());
  ExpectSeriesNear(out, {kNaN, kNaN, kNaN, 2, 3.5}, 1e-15, "EMA seed");
}

TEST(NanRule, AtrUsesThePreviousCompleteClose) {
  // Row 2 lacks its low; row 3's true range is taken against row 1's close.
  const std::vector<double> h = {10, 11, 12, 15}, l = {9, 10, kNaN, 14}, c = {9.5, 10.5, 11, 14.5};
  std::vector<double> tr(4), atr(4);
  Trange(h.data(), l.data(), c.data(), Range{0, 4}, tr.data());
  ExpectSeriesNear(tr, {kNaN, 1.5, kNaN, kNaN}, 1e-15, "TRANGE");  // windowed: needs row 2
  Atr(h.data(), l.data(), c.data(), Range{0, 4}, 1, atr.data());
  ExpectSeriesNear(atr, {kNaN, 1.5, kNaN, 4.5}, 1e-15, "ATR");  // 15 - 10.5
}

TEST(NanRule, OnlyTheInputsAKernelReadsMatter) {
  Bars b = RandomBars(200, 3);
  b.high[100] = kNaN;
  b.open[150] = kNaN;  // no kernel reads open
  const auto rsi = Full(*Find("RSI"), {14}, b)[0];
  const auto cci = Full(*Find("CCI"), {14}, b)[0];
  EXPECT_FALSE(std::isnan(rsi[100]));
  EXPECT_TRUE(std::isnan(cci[100]));
  EXPECT_TRUE(std::isnan(cci[113]));
  EXPECT_FALSE(std::isnan(cci[114]));
  EXPECT_FALSE(std::isnan(cci[150]));
}

TEST(NanRule, AllMissingGivesAllNan) {
  const std::vector<double> x(50, kNaN);
  for (const Indicator& ind : Indicators()) {
    Bars b{x, x, x, x, x};
    for (const auto& series : Full(ind, ind.test_params[0], b))
      for (double v : series)
        EXPECT_TRUE(std::isnan(v)) << ind.name;
  }
}

// ---- The incremental contract (kernel.h) -------------------------------------------------------

TEST(Incremental, ChunksAtResetMultiplesEqualOneRunBitwise) {
  const Bars b = WithGaps(RandomBars(5000, 11));
  for (const Indicator& ind : Indicators()) {
    for (const std::vector<double>& p : ind.test_params) {
      const std::string what = ind.name + " " + ::testing::PrintToString(p);
      const auto full = Full(ind, p, b);
      // Evaluated chunk by chunk into fresh buffers: each chunk writes exactly its rows.
      std::vector<std::vector<double>> pieced(full.size(), std::vector<double>(b.size(), -7.0));
      for (size_t begin = 0; begin < b.size(); begin += 2 * kResetPeriod) {
        const size_t end = std::min(b.size(), begin + 2 * kResetPeriod);
        std::vector<std::vector<double>> fresh(full.size(), std::vector<double>(b.size(), -7.0));
        double* outs[3] = {nullptr, nullptr, nullptr};
        for (size_t k = 0; k < full.size(); ++k)
          outs[k] = fresh[k].data();
        Compute(ind, p, b, Range{begin, end}, outs);
        for (size_t k = 0; k < full.size(); ++k) {
          for (size_t t = 0; t < b.size(); ++t) {
            if (t >= begin && t < end) {
              pieced[k][t] = fresh[k][t];
            } else {
              ASSERT_EQ(fresh[k][t], -7.0) << what << " wrote row " << t << " outside its range";
            }
          }
        }
      }
      for (size_t k = 0; k < full.size(); ++k)
        ExpectSeriesIdentical(pieced[k], full[k], what);
    }
  }
}

TEST(Incremental, EmptyRangeWritesNothing) {
  const Bars b = RandomBars(100, 5);
  for (const Indicator& ind : Indicators()) {
    std::vector<double> out(b.size(), -7.0);
    double* outs[3] = {out.data(), out.data(), out.data()};
    Compute(ind, ind.test_params[0], b, Range{40, 40}, outs);
    Compute(ind, ind.test_params[0], b, Range{60, 50}, outs);
    for (double v : out)
      ASSERT_EQ(v, -7.0) << ind.name;
  }
}

// ---- Lookbacks and parameters ------------------------------------------------------------------

TEST(Lookback, IsTheNumberOfLeadingNans) {
  Bars b = RandomBars(400, 1);
  for (double& v : b.volume)
    v += 1.0;  // VWAP is NaN on a window without volume
  for (const Indicator& ind : Indicators()) {
    for (const std::vector<double>& p : ind.test_params) {
      const int lookback = Lookback(ind, p);
      ASSERT_GE(lookback, 0) << ind.name;
      for (const auto& series : Full(ind, p, b)) {
        size_t first = 0;
        while (first < series.size() && std::isnan(series[first]))
          ++first;
        EXPECT_EQ(first, static_cast<size_t>(lookback)) << ind.name;
        for (size_t t = first; t < series.size(); ++t)
          ASSERT_FALSE(std::isnan(series[t])) << ind.name << " row " << t;
      }
    }
  }
}

TEST(Lookback, KnownValues) {
  EXPECT_EQ(LookbackSma(30), 29);
  EXPECT_EQ(LookbackEma(30), 29);
  EXPECT_EQ(LookbackDema(30), 58);
  EXPECT_EQ(LookbackTema(30), 87);
  EXPECT_EQ(LookbackKama(30), 30);
  EXPECT_EQ(LookbackRsi(14), 14);
  EXPECT_EQ(LookbackMacd(12, 26, 9), 33);
  EXPECT_EQ(LookbackMacd(26, 12, 9), 33);
  EXPECT_EQ(LookbackStoch(5, 3, 3), 8);
  EXPECT_EQ(LookbackAdx(14), 27);
  EXPECT_EQ(LookbackAtr(14), 14);
  EXPECT_EQ(LookbackMfi(14), 14);
  EXPECT_EQ(LookbackCci(14), 13);
  EXPECT_EQ(LookbackTrange(), 1);
  EXPECT_EQ(LookbackObv(), 0);
  EXPECT_EQ(LookbackVwap(20), 19);
  EXPECT_EQ(LookbackRvol(20), 20);
}

TEST(Parameters, OutOfRangeGivesNanAndLookbackMinusOne) {
  const Bars b = RandomBars(100, 2);
  const std::map<std::string, std::vector<double>> bad = {
      {"SMA", {1}},          {"EMA", {1}},         {"WMA", {0}},  {"DEMA", {1}},
      {"TEMA", {-3}},        {"KAMA", {1}},        {"ROC", {0}},  {"MOM", {0}},
      {"RSI", {1}},          {"MACD", {1, 26, 9}}, {"ATR", {0}},  {"NATR", {0}},
      {"BBANDS", {1, 2, 2}}, {"STOCH", {5, 0, 3}}, {"CCI", {1}},  {"ADX", {1}},
      {"MFI", {1}},          {"WILLR", {1}},       {"VWAP", {0}}, {"RVOL", {0}},
  };
  for (const auto& [name, p] : bad) {
    const Indicator& ind = *Find(name);
    EXPECT_EQ(Lookback(ind, p), -1) << name;
    std::vector<double> out(b.size(), -7.0);
    double* outs[3] = {out.data(), nullptr, nullptr};
    Compute(ind, p, b, Range{10, 90}, outs);
    for (size_t t = 0; t < b.size(); ++t) {
      if (t >= 10 && t < 90) {
        ASSERT_TRUE(std::isnan(out[t])) << name;
      } else {
        ASSERT_EQ(out[t], -7.0) << name;
      }
    }
  }
  std::vector<double> out(b.size());
  Bbands(b.close.data(), Range{0, b.size()}, 5, kNaN, 2, out.data(), nullptr, nullptr);
  EXPECT_TRUE(std::isnan(out[50]));
  // TA-Lib's upper bound.
  EXPECT_EQ(LookbackSma(100000), 99999);
  EXPECT_EQ(LookbackSma(100001), -1);
  EXPECT_EQ(LookbackTema(100001), -1);
}

// ---- Hand-computed cases -----------------------------------------------------------------------

TEST(HandComputed, MovingAverages) {
  const std::vector<double> x = {1, 2, 3, 4, 5};
  std::vector<double> out(x.size());
  const Range r{0, x.size()};
  Sma(x.data(), r, 3, out.data());
  ExpectSeriesNear(out, {kNaN, kNaN, 2, 3, 4}, 1e-15, "SMA");
  Ema(x.data(), r, 3, out.data());
  ExpectSeriesNear(out, {kNaN, kNaN, 2, 3, 4}, 1e-15, "EMA");
  Wma(x.data(), r, 3, out.data());
  ExpectSeriesNear(out, {kNaN, kNaN, 14.0 / 6, 20.0 / 6, 26.0 / 6}, 1e-15, "WMA");
  // DEMA(2): e1 = 1.5, 2.5, 3.5, 4.5 from row 1; e2 seeded mean(1.5, 2.5) = 2 at row 2, then 3.
  Dema(x.data(), r, 2, out.data());
  ExpectSeriesNear(out, {kNaN, kNaN, 3, 4, 5}, 1e-15, "DEMA");
  Tema(x.data(), r, 2, out.data());
  ExpectSeriesNear(out, {kNaN, kNaN, kNaN, 4, 5}, 1e-15, "TEMA");
  // KAMA(2) on a straight line: ER = 1, sc = (2/3)^2; first value from k' = x[1] = 2.
  Kama(x.data(), r, 2, out.data());
  const double sc = 4.0 / 9.0;
  const double k2 = 2 + (3 - 2) * sc;
  const double k3 = k2 + (4 - k2) * sc;
  ExpectSeriesNear(out, {kNaN, kNaN, k2, k3, k3 + (5 - k3) * sc}, 1e-15, "KAMA");
}

TEST(HandComputed, Momentum) {
  const std::vector<double> x = {10, 11, 12.1, 0, 5};
  std::vector<double> out(x.size());
  const Range r{0, x.size()};
  Roc(x.data(), r, 1, out.data());
  ExpectSeriesNear(out, {kNaN, 10, 10, -100, 0}, 1e-12, "ROC");  // x[t-1] == 0 gives 0
  Mom(x.data(), r, 2, out.data());
  ExpectSeriesNear(out, {kNaN, kNaN, 2.1, -11, -7.1}, 1e-12, "MOM");
  // RSI(2) over changes +1, -1, +1, +1: seed G = L = 0.5 (50); G = 0.75, L = 0.25 (75);
  // G = 0.875, L = 0.125 (87.5).
  const std::vector<double> y = {1, 2, 1, 2, 3};
  Rsi(y.data(), r, 2, out.data());
  ExpectSeriesNear(out, {kNaN, kNaN, 50, 75, 87.5}, 1e-12, "RSI");
  // Flat: G + L = 0 gives 0.
  const std::vector<double> flat(5, 3.0);
  Rsi(flat.data(), r, 2, out.data());
  ExpectSeriesNear(out, {kNaN, kNaN, 0, 0, 0}, 0, "RSI flat");
}

TEST(HandComputed, MacdAlignment) {
  // MACD(2, 3, 2) on 1..6: slow EMA(3) from row 2 (seed 2), fast EMA(2) seeded on rows 1..2,
  // mean(2, 3) = 2.5 at row 2 (not on rows 0..1); macd = fast - slow.
  const std::vector<double> x = {1, 2, 3, 4, 5, 6};
  std::vector<double> m(6), s(6), h(6);
  Macd(x.data(), Range{0, 6}, 2, 3, 2, m.data(), s.data(), h.data());
  // slow: 2, 3, 4, 5 (k = 0.5); fast (k = 2/3): 2.5, 3.5, 4.5, 5.5; macd 0.5 each; signal from
  // row 3 = mean(0.5, 0.5).
  ExpectSeriesNear(m, {kNaN, kNaN, kNaN, 0.5, 0.5, 0.5}, 1e-12, "macd");
  ExpectSeriesNear(s, {kNaN, kNaN, kNaN, 0.5, 0.5, 0.5}, 1e-12, "signal");
  ExpectSeriesNear(h, {kNaN, kNaN, kNaN, 0, 0, 0}, 1e-12, "hist");
  // Swapped periods give the same.
  std::vector<double> m2(6);
  Macd(x.data(), Range{0, 6}, 3, 2, 2, m2.data(), nullptr, nullptr);
  ExpectSeriesIdentical(m2, m, "swapped");
}

TEST(HandComputed, RangesAndVolume) {
  const std::vector<double> h = {10, 12, 11, 13}, l = {9, 10, 8, 10}, c = {9.5, 11, 9, 12};
  const std::vector<double> v = {100, 200, 300, 400};
  std::vector<double> out(4), out2(4);
  const Range r{0, 4};
  Trange(h.data(), l.data(), c.data(), r, out.data());
  ExpectSeriesNear(out, {kNaN, 2.5, 3, 4}, 1e-15, "TRANGE");
  // ATR(2): mean(2.5, 3) = 2.75 at row 2, then (2.75 + 4) / 2.
  Atr(h.data(), l.data(), c.data(), r, 2, out.data());
  ExpectSeriesNear(out, {kNaN, kNaN, 2.75, 3.375}, 1e-15, "ATR");
  Natr(h.data(), l.data(), c.data(), r, 2, out.data());
  ExpectSeriesNear(out, {kNaN, kNaN, 2.75 / 9 * 100, 3.375 / 12 * 100}, 1e-12, "NATR");
  // WILLR(2): row 1 HH 12, LL 9; row 2 HH 12, LL 8; row 3 HH 13, LL 8.
  Willr(h.data(), l.data(), c.data(), r, 2, out.data());
  ExpectSeriesNear(out, {kNaN, -100.0 / 3, -75, -20}, 1e-12, "WILLR");
  // STOCH(2, 1, 1): fastk = 100 * (c - LL) / (HH - LL).
  Stoch(h.data(), l.data(), c.data(), r, 2, 1, 1, out.data(), out2.data());
  ExpectSeriesNear(out, {kNaN, 200.0 / 3, 25, 80}, 1e-12, "STOCH slowk");
  ExpectSeriesIdentical(out2, out, "STOCH slowd");
  // STOCH(2, 2, 1): slowk = mean of two fastk.
  Stoch(h.data(), l.data(), c.data(), r, 2, 2, 1, out.data(), nullptr);
  ExpectSeriesNear(out, {kNaN, kNaN, (200.0 / 3 + 25) / 2, 52.5}, 1e-12, "STOCH 2,2,1");
  // OBV starts at the first volume.
  const std::vector<double> cc = {1, 2, 2, 1};
  Obv(cc.data(), v.data(), r, out.data());
  ExpectSeriesNear(out, {100, 300, 300, -100}, 0, "OBV");
  // VWAP(2) and MFI(2).
  Vwap(h.data(), l.data(), c.data(), v.data(), r, 2, out.data());
  const double tp[4] = {28.5 / 3, 11, 28.0 / 3, 35.0 / 3};
  ExpectSeriesNear(out,
                   {kNaN, (tp[0] * 100 + tp[1] * 200) / 300, (tp[1] * 200 + tp[2] * 300) / 500,
                    (tp[2] * 300 + tp[3] * 400) / 700},
                   1e-12, "VWAP");
  Mfi(h.data(), l.data(), c.data(), v.data(), r, 2, out.data());
  // Flows: row 1 +tp1*200, row 2 -tp2*300, row 3 +tp3*400.
  const double f1 = tp[1] * 200, f2 = tp[2] * 300, f3 = tp[3] * 400;
  ExpectSeriesNear(out, {kNaN, kNaN, 100 * f1 / (f1 + f2), 100 * f3 / (f2 + f3)}, 1e-12, "MFI");
}

TEST(HandComputed, FlatWindowsAreNotNoise) {
  const std::vector<double> flat(40, 0.3);  // TA-Lib 0.6's CCI gives 66.7 here
  const std::vector<double> vol(40, 0.0);
  std::vector<double> out(40), mid(40), low(40);
  const Range r{0, 40};
  Bbands(flat.data(), r, 5, 2, 2, out.data(), mid.data(), low.data());
  for (size_t t = 4; t < 40; ++t) {
    EXPECT_EQ(out[t], mid[t]);
    EXPECT_EQ(low[t], mid[t]);
  }
  Cci(flat.data(), flat.data(), flat.data(), r, 14, out.data());
  for (size_t t = 13; t < 40; ++t)
    EXPECT_EQ(out[t], 0.0);
  Willr(flat.data(), flat.data(), flat.data(), r, 14, out.data());
  for (size_t t = 13; t < 40; ++t)
    EXPECT_EQ(out[t], 0.0);
  Rvol(flat.data(), r, 5, out.data());
  for (size_t t = 5; t < 40; ++t)
    EXPECT_EQ(out[t], 0.0);
  Vwap(flat.data(), flat.data(), flat.data(), vol.data(), r, 5, out.data());
  for (size_t t = 0; t < 40; ++t)
    EXPECT_TRUE(std::isnan(out[t])) << "no volume, no price";
  Adx(flat.data(), flat.data(), flat.data(), r, 5, out.data());
  for (size_t t = 9; t < 40; ++t)
    EXPECT_EQ(out[t], 0.0);
}

TEST(Accuracy, BbandsOnALargePriceLevel) {
  // A level of 1e6 moving by less than 1: E[x^2] - mean^2 (TA-Lib's formula) would lose ~10
  // digits of the variance here; sigma must still be right to ~1e-9.
  const size_t n = 3000, period = 20;
  std::vector<double> x(n);
  for (size_t t = 0; t < n; ++t)
    x[t] = 1e6 + 0.5 * std::sin(0.1 * t) + 0.01 * (t % 7);
  std::vector<double> up(n), mid(n);
  Bbands(x.data(), Range{0, n}, period, 1, 1, up.data(), mid.data(), nullptr);
  for (size_t t = period - 1; t < n; ++t) {
    long double mean = 0;
    for (size_t j = t + 1 - period; j <= t; ++j)
      mean += x[j];
    mean /= period;
    long double var = 0;
    for (size_t j = t + 1 - period; j <= t; ++j)
      var += (x[j] - mean) * (x[j] - mean);
    const double sd = std::sqrt(static_cast<double>(var / period));
    ASSERT_NEAR(mid[t], static_cast<double>(mean), 1e-15 * 1e6) << t;
    ASSERT_NEAR(up[t] - mid[t], sd, 1e-9) << t;  // sd ~ 0.35; ulp(1e6) ~ 1e-10
  }
}

TEST(HandComputed, RvolIsTheRootSumOfSquaredLogReturns) {
  const std::vector<double> c = {1, std::exp(0.1), std::exp(0.3), std::exp(0.0), -1, 2, 3};
  std::vector<double> out(c.size());
  Rvol(c.data(), Range{0, c.size()}, 2, out.data());
  EXPECT_TRUE(std::isnan(out[1]));
  EXPECT_NEAR(out[2], std::sqrt(0.01 + 0.04), 1e-15);
  EXPECT_NEAR(out[3], std::sqrt(0.04 + 0.09), 1e-15);
  // A non-positive close is missing: its row and the windows holding it are NaN.
  for (size_t t = 4; t < 6; ++t)
    EXPECT_TRUE(std::isnan(out[t])) << t;
  EXPECT_TRUE(std::isnan(out[6]));  // needs rows 4..6
}

}  // namespace
// Above 2^20 rows TRANGE writes with non-temporal stores: the same values as the row-by-row
// definition, incremental calls included.
TEST(TaLongSeries, TrangeStreamingStoresMatchTheDefinition) {
  const std::size_t n = (std::size_t{1} << 20) + 4099;
  std::vector<double> h(n), l(n), c(n), out(n + 1), want(n);
  std::uint64_t state = 12345;
  auto next = [&]() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  };
  for (std::size_t i = 0; i < n; ++i) {
    c[i] = 100 + 10 * next();
    h[i] = c[i] + next();
    l[i] = c[i] - next();
  }
  c[5000] = std::nan("");
  for (std::size_t i = 1; i < n; ++i) {
    const bool missing =
        std::isnan(h[i]) || std::isnan(l[i]) || std::isnan(c[i]) || std::isnan(c[i - 1]);
    want[i] = missing
                  ? std::nan("")
                  : std::max({h[i] - l[i], std::fabs(h[i] - c[i - 1]), std::fabs(l[i] - c[i - 1])});
  }
  for (std::size_t offset : {0, 1}) {  // aligned and unaligned output
    double* o = out.data() + offset;
    ta::Trange(h.data(), l.data(), c.data(), {0, n}, o);
    for (std::size_t i = 1; i < n; ++i) {
      if (std::isnan(want[i])) {
        ASSERT_TRUE(std::isnan(o[i])) << i;
      } else {
        ASSERT_EQ(o[i], want[i]) << i;
      }
    }
  }
}

}  // namespace qraft::expr::kernels::ta
